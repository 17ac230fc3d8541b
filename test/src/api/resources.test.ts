/**
 * What the resource routes do, on PGlite and Postgres: every mutating route
 * leaves an audit entry naming the API key and the source address; the AI
 * disclosure cannot be configured away; digest passwords go in and never come
 * out (HA1 stored); ACLs go through the strict CIDR parser; retention stays
 * within the plan; calls list with filters and cursor pages; one call carries
 * its latency summary and redacted transcript; erasing a call or a contact
 * takes the recording objects with it (a DNC entry survives its contact);
 * roles per the matrix.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { ha1 } from '../../../media/sip/index.ts';
import {
  getNumber, listAudit, routeNumber, schema, startCall, finishCall, markCallAnswered, recordCallOutcome, withTenant, type Database,
} from '../../../storage/index.ts';
import { MemoryObjectStore } from '../../../storage/vault/index.ts';
import { AI_DISCLOSURE } from '../../../pipeline/index.ts';
import { RESOURCE_ROUTES } from '../../../src/api/routes/resources.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { seedResources } from '../../support/resources.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

function client(h: ApiHarness, auth: string) {
  return (method: Method, url: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    h.app.inject({ method, url: `/v1${url}`, headers: { authorization: auth }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

function expect(res: LightMyRequestResponse, status: number, what: string): unknown {
  assert.is(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  return res.body ? res.json() : null;
}

async function lastAudit(db: Database, tenantId: string) {
  return (await listAudit(db, tenantId, 1))[0]!;
}

for (const backend of await backends()) {
  test(`[${backend.name}] every mutating route audits (actor, source, target); agents, numbers, contacts, tenant rules`, async () => {
    const store = new MemoryObjectStore();
    const h = await apiHarness(await backend.open(), { services: { recordingStore: store } });
    try {
      const tenantId = await h.tenant('Acme');
      const seeded = await seedResources(h.db, store, tenantId, '2001');
      const auth = await h.bearer(tenantId, 'owner');
      const prefix = /sak_[A-Za-z0-9_-]{8}/.exec(auth)![0];
      const api = client(h, auth);
      /** A mutation, then the audit entry it must have left. */
      const audited = async (method: Method, url: string, payload: unknown, status: number, action: string): Promise<any> => {
        const body = expect(await api(method, url, payload), status, `${method} ${url}`);
        const entry = await lastAudit(h.db, tenantId);
        assert.is(entry.action, action, `${method} ${url} audit action`);
        assert.is(entry.actor, `apikey:${prefix}`, `${method} ${url} audit actor`);
        assert.ok(entry.sourceIp, `${method} ${url} audit source address`);
        return body;
      };

      // Agents: the disclosure is always in front of the greeting and there is no field to turn it off.
      const agent = await audited('POST', '/agents', {
        name: 'front', greeting: 'Thanks for calling Acme.', prompt: 'Be brief.', recording: false, retentionDays: 7, transferTarget: 'sip:desk@acme.example',
        settings: { vad: { threshold: 0.6 }, turn: { hangoverMs: 300 }, piiAudioRedaction: { enabled: true, padMs: 200 }, tts: { provider: 'espeak-wasm', voice: 'en-us' } },
      }, 201, 'agent.created');
      assert.is(agent.disclosure.text, AI_DISCLOSURE);
      assert.is(agent.disclosure.spokenGreeting, `${AI_DISCLOSURE} Thanks for calling Acme.`);
      assert.is(agent.disclosure.alwaysOn, true);
      assert.equal(agent.piiAudioRedaction, { enabled: true, holdMs: 3000, padMs: 200 });
      assert.equal(agent.settings.vad, { threshold: 0.6 });
      for (const off of [{ disclosure: false }, { aiDisclosure: false }, { settings: { disclosure: false } }]) {
        expect(await api('PATCH', `/agents/${agent.id}`, off), 400, `PATCH ${JSON.stringify(off)}`);
      }
      const silent = expect(await api('PATCH', `/agents/${agent.id}`, { greeting: '' }), 200, 'empty greeting') as { disclosure: { spokenGreeting: string } };
      assert.ok(silent.disclosure.spokenGreeting.startsWith(AI_DISCLOSURE), 'an empty greeting still starts with the disclosure');
      expect(await api('PATCH', `/agents/${agent.id}`, { settings: { vad: { threshold: 1.5 } } }), 400, 'VAD threshold out of range');
      expect(await api('PATCH', `/agents/${agent.id}`, { settings: { vad: { threshold: 0.5, extra: 1 } } }), 400, 'unknown VAD field');
      expect(await api('PATCH', `/agents/${agent.id}`, { retentionDays: 31 }), 400, 'agent retention over the professional plan\'s 30 days');
      expect(await api('PATCH', `/agents/${agent.id}`, { transferTarget: 'not a target' }), 400, 'transfer target');
      const patched = await audited('PATCH', `/agents/${agent.id}`, { settings: { vad: null, bargeIn: { enabled: false } } }, 200, 'agent.updated');
      assert.equal(patched.settings.vad, undefined, 'null puts a setting back to its defaults');
      assert.equal(patched.settings.bargeIn, { enabled: false });
      assert.equal(patched.settings.tts, { provider: 'espeak-wasm', voice: 'en-us' }, 'other settings are kept');
      expect(await api('POST', '/agents', { name: 'front' }), 409, 'duplicate agent name');
      expect(await api('DELETE', `/agents/${seeded.agentId}`), 409, 'an agent a number routes to');

      // Numbers: password in, HA1 stored, never returned; the strict CIDR parser.
      const number = await audited('POST', '/numbers', {
        number: '+14157000001', agentId: agent.id, allowedCidrs: ['198.51.100.7', '2001:db8::/32'], digest: { username: 'trunk', password: 'correct horse' }, digestAlgorithms: ['SHA-256'],
      }, 201, 'number.added');
      assert.equal(number.allowedCidrs, ['198.51.100.7/32', '2001:db8::/32']);
      assert.equal(number.digest, { username: 'trunk', realm: 'smartalex', algorithms: ['SHA-256'] });
      assert.is(number.requireSrtp, false);
      const srtp = await audited('PATCH', `/numbers/${number.id}`, { requireSrtp: true }, 200, 'number.updated');
      assert.is(srtp.requireSrtp, true);
      assert.is((await routeNumber(h.db, '+14157000001'))?.requireSrtp, true, 'the call path sees SRTP required');
      assert.not.match(JSON.stringify(number), /correct horse|ha1/i);
      const stored = await getNumber(h.db, tenantId, number.id);
      assert.is(stored!.digestHa1Sha256, ha1('SHA-256', 'trunk', 'smartalex', 'correct horse'));
      assert.is(stored!.digestHa1Md5, ha1('MD5', 'trunk', 'smartalex', 'correct horse'));
      const listed = JSON.stringify(expect(await api('GET', '/numbers'), 200, 'list numbers'));
      assert.not.match(listed, /correct horse|[0-9a-f]{64}/, 'no password or hash in the list');
      for (const bad of [['10.0.0.0/33'], ['10.1.2.3/8'], ['0.0.0.0/0'], ['203.0.113.7/']]) {
        expect(await api('PATCH', `/numbers/${number.id}`, { allowedCidrs: bad }), 400, `ACL ${bad[0]}`);
      }
      expect(await api('PATCH', `/numbers/${number.id}`, { digest: { username: 'trunk', password: 'short' } }), 400, 'short digest password');
      expect(await api('POST', '/numbers', { number: '2001', agentId: agent.id, allowedCidrs: ['10.0.0.1'] }), 409, 'a number already in use');
      expect(await api('PATCH', `/numbers/${number.id}`, { allowedCidrs: [], digest: null }), 400, 'a number nobody could call');
      const any = await audited('PATCH', `/numbers/${number.id}`, { allowedCidrs: ['0.0.0.0/0'], allowAnySource: true, digest: null }, 200, 'number.updated');
      assert.equal(any.digest, null);
      assert.equal((await routeNumber(h.db, '+14157000001'))?.allowedCidrs, ['0.0.0.0/0'], 'the call path sees the change');
      await audited('DELETE', `/numbers/${number.id}`, undefined, 204, 'number.deleted');
      await audited('DELETE', `/agents/${agent.id}`, undefined, 204, 'agent.deleted');

      // Contacts: normalised; rectification audited with field names and the number masked; erasure keeps DNC.
      const contact = await audited('POST', '/contacts', { name: 'Grace', phone: '(415) 323-4567', email: 'grace@example.com' }, 201, 'contact.created');
      assert.is(contact.phone, '+14153234567');
      await audited('PATCH', `/contacts/${contact.id}`, { phone: '415 765 4321', name: 'Grace H.' }, 200, 'contact.rectified');
      const rect = await lastAudit(h.db, tenantId);
      assert.equal(rect.detail, { fields: ['name', 'phone'], phone: { before: '+*******4567', after: '+*******4321' } });
      assert.not.match(JSON.stringify(rect), /Grace|4153234567|4157654321/, 'no name or whole number in the audit log');
      expect(await api('POST', '/contacts', { phone: 'call me maybe' }), 400, 'not a phone number');
      const found = expect(await api('GET', '/contacts?phone=4157654321'), 200, 'filter by any spelling') as { items: { id: string }[] };
      assert.equal(found.items.map((c) => c.id), [contact.id]);

      // DNC and consents.
      const dnc = await audited('POST', '/dnc', { phone: '415-222-3333', reason: 'asked' }, 200, 'dnc.added');
      assert.is(dnc.added, true);
      const again = expect(await api('POST', '/dnc', { phone: '+14152223333' }), 200, 'again') as { added: boolean; id: string };
      assert.is(again.added, false);
      assert.is(again.id, dnc.id);
      await audited('DELETE', `/dnc/${dnc.id}`, undefined, 204, 'dnc.removed');
      expect(await api('DELETE', `/dnc/${dnc.id}`), 404, 'already removed');
      const consent = await audited('POST', '/consents', { phone: '4153112222', source: 'web form', contactId: contact.id }, 200, 'consent.granted');
      assert.is(consent.kind, 'outbound-call');
      const revoked = await audited('POST', `/consents/${consent.id}/revoke`, {}, 200, 'consent.revoked');
      assert.ok(revoked.revokedAt);
      const inForce = expect(await api('GET', '/consents'), 200, 'in force') as { items: { id: string }[] };
      assert.not.ok(inForce.items.some((c) => c.id === consent.id));
      const all = expect(await api('GET', '/consents?includeRevoked=true'), 200, 'all') as { items: { id: string }[] };
      assert.ok(all.items.some((c) => c.id === consent.id));

      // Contact erasure: its recording object and row go, its consents cascade, the DNC entry for its number stays.
      const dncForSeeded = await audited('POST', '/dnc', { phone: '+14152102001' }, 200, 'dnc.added');
      await audited('DELETE', `/contacts/${seeded.contactId}`, undefined, 204, 'contact.erased');
      assert.is(await store.stat({ tenantId, recordingId: seeded.recordingId }), null, 'the contact\'s recording object is gone');
      expect(await api('GET', `/recordings/${seeded.recordingId}`), 404, 'the recording row is gone');
      const dncList = expect(await api('GET', '/dnc'), 200, 'dnc list') as { items: { id: string }[] };
      assert.ok(dncList.items.some((e) => e.id === dncForSeeded.id), 'the DNC entry survives the contact');

      // Tenant: retention within the plan, plan changes (owner), calling policy.
      expect(await api('PATCH', '/tenant', { retentionDays: 31 }), 400, 'retention over the plan');
      const t = await audited('PATCH', '/tenant', { retentionDays: 14, name: 'Acme Ltd' }, 200, 'tenant.updated');
      assert.equal([t.retentionDays, t.maxRetentionDays, t.name], [14, 30, 'Acme Ltd']);
      const up = await audited('PUT', '/tenant/plan', { plan: 'dental' }, 200, 'tenant.plan.changed');
      assert.equal([up.plan, up.retentionDays, up.maxRetentionDays], ['dental', 14, 90], 'a shorter retention is kept');
      await audited('PATCH', '/tenant', { retentionDays: 90 }, 200, 'tenant.updated');
      const down = await audited('PUT', '/tenant/plan', { plan: 'professional' }, 200, 'tenant.plan.changed');
      assert.is(down.retentionDays, 30, 'retention comes down to the new maximum');
      expect(await api('PATCH', '/tenant/calling-policy', { timezone: 'Mars/Olympus' }), 400, 'unknown zone');
      expect(await api('PATCH', '/tenant/calling-policy', { start: '21:00', end: '08:00' }), 400, 'window backwards');
      const policy = await audited('PATCH', '/tenant/calling-policy', { timezone: 'america/los_angeles', start: '09:00', days: ['mon', 'tue'] }, 200, 'outbound_policy.updated');
      assert.equal(policy, { timezone: 'America/Los_Angeles', start: '09:00', end: '21:00', days: ['mon', 'tue'], requireConsent: true });

      // Calls and recordings.
      const detail = expect(await api('GET', `/calls/${seeded.callId}`), 200, 'one call') as any;
      assert.is(detail.outcome, 'completed');
      assert.equal(detail.latency.e2eMs, { p50: 800, p95: 800, max: 800 });
      assert.equal(detail.transcript.map((t: { text: string }) => t.text), ['my card is [CARD]']);
      const rec2 = randomUUID();
      const { createRecording } = await import('../../../storage/index.ts');
      await createRecording(h.db, tenantId, { id: rec2, callId: seeded.callId, objectKey: 'x', keyId: 'k1', retainUntil: new Date(Date.now() + 1e6) });
      const handle = await store.create({ tenantId, recordingId: rec2 });
      await handle.close();
      await withTenant(h.db, tenantId, (tx) => tx.insert(schema.webhookEvents).values({
        id: `evt_${randomUUID()}`, tenantId, type: 'call.ended', subject: seeded.callId, payload: { callId: seeded.callId, from: 'sip:+14152100@carrier' },
      }));
      await audited('DELETE', `/calls/${seeded.callId}`, undefined, 204, 'call.erased');
      assert.equal((await lastAudit(h.db, tenantId)).detail, { recordings: 1, webhookEvents: 1 });
      const leftEvents = await withTenant(h.db, tenantId, (tx) => tx.select().from(schema.webhookEvents));
      assert.equal(leftEvents, [], 'the outbox\'s events about the call go with it');
      assert.is(await store.stat({ tenantId, recordingId: rec2 }), null, 'the call\'s recording object is gone');
      expect(await api('GET', `/calls/${seeded.callId}`), 404, 'the call is gone');
      const rec3 = randomUUID();
      await createRecording(h.db, tenantId, { id: rec3, callId: null, objectKey: 'y', keyId: 'k1', retainUntil: new Date(Date.now() + 1e6) });
      await audited('DELETE', `/recordings/${rec3}`, undefined, 204, 'recording.erased');
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] calls: filters, outcomes and cursor pages; audit filters; roles`, async () => {
    const h = await apiHarness(await backend.open(), { services: { recordingStore: new MemoryObjectStore() } });
    try {
      const tenantId = await h.tenant('Calls');
      const store = new MemoryObjectStore();
      const s = await seedResources(h.db, store, tenantId, '2001');
      const start = (numberId: string | null = s.numberId) => startCall(h.db, tenantId, { agentId: s.agentId, numberId, direction: 'inbound', fromUri: 'sip:a@b', toUri: 'sip:c@d', sipCallId: randomUUID() });
      const made: string[] = [s.callId];
      for (let i = 0; i < 7; i++) {
        const call = await start(i % 2 ? null : s.numberId);
        made.push(call.id);
        if (i % 3 === 0) await markCallAnswered(h.db, tenantId, call.id);
        if (i === 4) await recordCallOutcome(h.db, tenantId, call.id, { failure: 'llm:openai' });
        if (i < 6) await finishCall(h.db, tenantId, call.id, { reason: 'remote-bye' });
      }
      const viewer = client(h, await h.bearer(tenantId, 'viewer'));
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = expect(await viewer('GET', `/calls?limit=3${cursor ? `&cursor=${cursor}` : ''}`), 200, 'page') as { items: { id: string }[]; nextCursor: string | null };
        assert.ok(page.items.length <= 3);
        seen.push(...page.items.map((c) => c.id));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal([...seen].sort(), [...made].sort(), 'every call exactly once across the pages');
      const outcomes = async (q: string) => (expect(await viewer('GET', `/calls?${q}`), 200, q) as { items: { id: string; outcome: string }[] }).items;
      assert.is((await outcomes('outcome=in-progress')).length, 1);
      assert.is((await outcomes('outcome=failed')).length, 1);
      assert.ok((await outcomes('outcome=completed')).every((c) => c.outcome === 'completed'));
      assert.is((await outcomes(`numberId=${s.numberId}`)).length, 5);
      assert.is((await outcomes(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length, 0);
      assert.is((await outcomes(`to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}&agentId=${s.agentId}`)).length, 8);
      expect(await viewer('GET', '/calls?cursor=bm90LWEtY3Vyc29y'), 400, 'forged cursor');
      expect(await viewer('GET', '/calls?outcome=great'), 400, 'unknown outcome');
      expect(await viewer('GET', '/calls?from=yesterday'), 400, 'bad time');
      expect(await viewer('GET', '/calls?agent=x'), 400, 'unknown filter');

      // Roles (the matrix): viewer reads calls only; manager runs agents and contacts; plan is the owner's.
      expect(await viewer('GET', '/agents'), 403, 'viewer lists agents');
      expect(await viewer('DELETE', `/calls/${s.callId}`), 403, 'viewer deletes a call');
      expect(await viewer('GET', '/audit'), 403, 'viewer reads the audit log');
      const manager = client(h, await h.bearer(tenantId, 'manager'));
      expect(await manager('POST', '/contacts', { phone: '+14152001111' }), 201, 'manager creates a contact');
      expect(await manager('POST', '/numbers', { number: '3001', agentId: s.agentId, allowedCidrs: ['10.0.0.1'] }), 403, 'manager adds a number');
      expect(await manager('PATCH', '/tenant', { name: 'x' }), 403, 'manager renames the tenant');
      const admin = client(h, await h.bearer(tenantId, 'admin'));
      expect(await admin('PUT', '/tenant/plan', { plan: 'dental' }), 403, 'admin changes the plan (billing)');
      expect(await admin('PATCH', '/tenant', { name: 'Calls Inc' }), 200, 'admin renames the tenant');

      // Audit log filters and pages.
      const audit = async (q: string) => (expect(await admin('GET', `/audit?${q}`), 200, q) as { items: { action: string; actor: string }[]; nextCursor: string | null });
      assert.ok((await audit('action=contact.created')).items.every((e) => e.action === 'contact.created'));
      assert.is((await audit('action=contact.*')).items.length, 1);
      assert.ok((await audit('action=tenant.*')).items.some((e) => e.action === 'tenant.updated'));
      const first = await audit('limit=1');
      assert.ok(first.nextCursor);
      const second = await audit(`limit=1&cursor=${first.nextCursor}`);
      assert.is(second.items.length, 1);
      assert.is.not(second.items[0], first.items[0]);
      expect(await admin('GET', '/audit?action=%25'), 400, 'action with a wildcard');

      // Every resource route is in the OpenAPI document, from the schemas it validates with.
      const doc = (await h.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
      for (const route of RESOURCE_ROUTES) {
        const path = `/v1${route.url.replace(/:(\w+)/g, '{$1}')}`;
        const op = doc.paths[path]?.[route.method.toLowerCase()];
        assert.ok(op, `${route.method} ${path} is documented`);
        assert.ok(Object.keys(op!.responses).some((code) => code.startsWith('2')), `${route.method} ${path} documents its success response`);
      }
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });
}

test.run();
