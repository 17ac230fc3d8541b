/**
 * The resource routes against a second tenant and against bad input, on
 * PGlite and Postgres:
 *  - every route of RESOURCE_ROUTES that takes an id is called with the other
 *    tenant's ids: 404 every time (never 403, never 200), and the other
 *    tenant's rows and recording object are unchanged; the lists never show
 *    the other tenant's rows, and their id filters find nothing;
 *  - malformed uuids in the path are a 400 on every such route;
 *  - unknown fields are a 400 on every write route;
 *  - a few hundred random bodies on the write routes: never a 5xx, and a
 *    refused request changes nothing in the database.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightMyRequestResponse } from 'fastify';
import { z } from 'zod';
import { createWidgetKey, PostgresTenantKeyStore } from '../../../storage/index.ts';
import { KeyRing, LocalMasterKey, MemoryObjectStore } from '../../../storage/vault/index.ts';
import { RESOURCE_ROUTES } from '../../../src/api/routes/resources.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { fingerprint, seedResources, type SeededTenant } from '../../support/resources.ts';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
interface Call { method: Method; url: string; payload?: unknown }

/** One request per id-taking route, aimed at `ids` (what a valid body looks like for each). */
function idRequests(ids: SeededTenant, agentOfCaller: string, widgetKeyId: string): Record<string, Call> {
  return {
    'GET /agents/:agentId': { method: 'GET', url: `/v1/agents/${ids.agentId}` },
    'PATCH /agents/:agentId': { method: 'PATCH', url: `/v1/agents/${ids.agentId}`, payload: { prompt: 'hijack' } },
    'DELETE /agents/:agentId': { method: 'DELETE', url: `/v1/agents/${ids.agentId}` },
    'POST /agents/:agentId/call-tokens': { method: 'POST', url: `/v1/agents/${ids.agentId}/call-tokens`, payload: {} },
    'POST /agents/:agentId/widget-keys': { method: 'POST', url: `/v1/agents/${ids.agentId}/widget-keys`, payload: { allowedOrigins: ['https://shop.example'] } },
    'GET /agents/:agentId/widget-keys': { method: 'GET', url: `/v1/agents/${ids.agentId}/widget-keys` },
    'DELETE /agents/:agentId/widget-keys/:keyId': { method: 'DELETE', url: `/v1/agents/${ids.agentId}/widget-keys/${widgetKeyId}` },
    'PUT /numbers/:numberId/carrier': { method: 'PUT', url: `/v1/numbers/${ids.numberId}/carrier`, payload: { carrier: 'twilio', credential: 'hijacked-token' } },
    'DELETE /numbers/:numberId/carrier': { method: 'DELETE', url: `/v1/numbers/${ids.numberId}/carrier` },
    'GET /numbers/:numberId': { method: 'GET', url: `/v1/numbers/${ids.numberId}` },
    'PATCH /numbers/:numberId': { method: 'PATCH', url: `/v1/numbers/${ids.numberId}`, payload: { agentId: agentOfCaller } },
    'DELETE /numbers/:numberId': { method: 'DELETE', url: `/v1/numbers/${ids.numberId}` },
    'GET /contacts/:contactId': { method: 'GET', url: `/v1/contacts/${ids.contactId}` },
    'PATCH /contacts/:contactId': { method: 'PATCH', url: `/v1/contacts/${ids.contactId}`, payload: { name: 'Mallory' } },
    'DELETE /contacts/:contactId': { method: 'DELETE', url: `/v1/contacts/${ids.contactId}` },
    'GET /calls/:callId': { method: 'GET', url: `/v1/calls/${ids.callId}` },
    'DELETE /calls/:callId': { method: 'DELETE', url: `/v1/calls/${ids.callId}` },
    'GET /recordings/:recordingId': { method: 'GET', url: `/v1/recordings/${ids.recordingId}` },
    'DELETE /recordings/:recordingId': { method: 'DELETE', url: `/v1/recordings/${ids.recordingId}` },
    'DELETE /dnc/:entryId': { method: 'DELETE', url: `/v1/dnc/${ids.dncId}` },
    'POST /consents/:consentId/revoke': { method: 'POST', url: `/v1/consents/${ids.consentId}/revoke`, payload: {} },
  };
}

const routeKey = (r: { method: string; url: string }) => `${r.method} ${r.url}`;

function send(h: ApiHarness, auth: string, call: Call): Promise<LightMyRequestResponse> {
  return h.app.inject({ method: call.method, url: call.url, headers: { authorization: auth }, ...(call.payload !== undefined ? { payload: call.payload as object } : {}) });
}

// ------------------------------------------------------------ random bodies (seeded: a failure is reproducible)

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const STRINGS = ['', ' ', 'x', 'a'.repeat(300), '0.0.0.0/0', '10.0.0.0/33', '+14152100', '(415) 210-0199', 'MD5', 'SHA-256', 'sip:bob@example.com',
  'not-a-uuid', '00000000-0000-0000-0000-000000000000', "'; drop table agents; --", '\u0000', 'ünïcødé', '24:00', '25:99', 'America/Nowhere', 'dental', 'owner'];

function randomValue(rand: () => number, depth = 0): unknown {
  const r = rand();
  if (r < 0.1) return null;
  if (r < 0.2) return rand() < 0.5;
  if (r < 0.4) return [0, -1, 1, 1.5, 366, 1e308, -1e9, 2 ** 53, 30, 8][Math.floor(rand() * 10)];
  if (r < 0.7) return STRINGS[Math.floor(rand() * STRINGS.length)];
  if (r < 0.85 && depth < 2) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  if (depth < 2) return Object.fromEntries(Array.from({ length: Math.floor(rand() * 4) }, (_, i) => [rand() < 0.5 ? `k${i}` : ['enabled', 'username', 'password', 'threshold', 'provider'][i % 5]!, randomValue(rand, depth + 1)]));
  return 'deep';
}

function bodyKeys(schema: unknown): string[] {
  return schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
}

/** A random body for a route: its own keys with random values, often an unknown key, sometimes not an object at all. */
function randomBody(rand: () => number, keys: string[]): { payload: string; mustRefuse: boolean } {
  const r = rand();
  if (r < 0.08) return { payload: JSON.stringify(randomValue(rand)), mustRefuse: true };
  if (r < 0.12) return { payload: ['{', '{"a":', '[1,', 'nul', '{"name":"x"}}'][Math.floor(rand() * 5)]!, mustRefuse: true };
  const body: Record<string, unknown> = {};
  for (const key of keys) if (rand() < 0.5) body[key] = randomValue(rand);
  const unknown = rand() < 0.5;
  if (unknown) body[['tenantId', 'id', 'ha1', 'disclosure', 'aiDisclosure', 'role', 'zz'][Math.floor(rand() * 7)]!] = randomValue(rand);
  const payload = JSON.stringify(body);
  return { payload, mustRefuse: unknown };
}

for (const backend of await backends()) {
  test(`[${backend.name}] another tenant's ids: 404 on every id route, its data untouched; lists never show it`, async () => {
    const store = new MemoryObjectStore();
    const db = await backend.open();
    const keyRing = new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) });
    const h = await apiHarness(db, { services: { recordingStore: store, callTokenSecret: randomBytes(32), keyRing } });
    try {
      const a = await seedResources(h.db, store, await h.tenant('A'), '2001');
      const b = await seedResources(h.db, store, await h.tenant('B'), '2002');
      const owner = await h.bearer(a.tenantId, 'owner');
      const keyOfA = await createWidgetKey(h.db, a.tenantId, { agentId: a.agentId, allowedOrigins: ['https://a.example'], createdBy: 'test' });
      const keyOfB = await createWidgetKey(h.db, b.tenantId, { agentId: b.agentId, allowedOrigins: ['https://b.example'], createdBy: 'test' });
      const requests = idRequests(b, a.agentId, keyOfB.id);
      // Public routes (a web-widget key's call tokens) take no tenant credential: nothing to cross.
      const idRoutes = RESOURCE_ROUTES.filter((r) => r.url.includes(':') && r.permission !== 'public').map(routeKey).sort();
      assert.equal(Object.keys(requests).sort(), idRoutes, 'every id-taking resource route is exercised with the other tenant\'s ids');

      const before = await fingerprint(h.db);
      for (const [name, call] of Object.entries(requests)) {
        const res = await send(h, owner, call);
        assert.is(res.statusCode, 404, `${name} with tenant B's id: ${res.statusCode} ${res.body}`);
        assert.match(String(res.headers['content-type']), /^application\/problem\+json/, name);
      }
      assert.ok((await store.stat({ tenantId: b.tenantId, recordingId: b.recordingId })) !== null, 'B\'s recording object is still there');
      // The same reads with A's own ids find them: the 404s above are RLS at work, not missing routes.
      for (const [name, call] of Object.entries(idRequests(a, a.agentId, keyOfA.id)).filter(([, c]) => c.method === 'GET')) {
        const res = await send(h, owner, call);
        assert.is(res.statusCode, 200, `${name} with A's own id: ${res.statusCode} ${res.body}`);
      }
      // A's own calls changed nothing of B's; only A's audit could have grown, and a 404 writes nothing.
      assert.is(await fingerprint(h.db), before, 'nothing changed in the database');

      // Lists: A's rows only, and filters naming B's ids find nothing.
      const lists: [string, (s: SeededTenant) => string][] = [
        ['/v1/agents', (s) => s.agentId], ['/v1/numbers', (s) => s.numberId], ['/v1/contacts', (s) => s.contactId], ['/v1/calls', (s) => s.callId],
        ['/v1/recordings', (s) => s.recordingId], ['/v1/dnc', (s) => s.dncId], ['/v1/consents', (s) => s.consentId],
      ];
      for (const [url, idOf] of lists) {
        const res = await send(h, owner, { method: 'GET', url });
        assert.is(res.statusCode, 200, `${url}: ${res.body}`);
        const ids = (res.json() as { items: { id: string }[] }).items.map((i) => i.id);
        assert.ok(ids.includes(idOf(a)), `${url} shows A's own row`);
        assert.not.ok(ids.includes(idOf(b)), `${url} shows B's row`);
      }
      for (const url of [`/v1/calls?agentId=${b.agentId}`, `/v1/calls?numberId=${b.numberId}`, `/v1/numbers?agentId=${b.agentId}`, `/v1/recordings?callId=${b.callId}`, `/v1/consents?contactId=${b.contactId}`]) {
        const res = await send(h, owner, { method: 'GET', url });
        assert.is(res.statusCode, 200, url);
        assert.equal((res.json() as { items: unknown[] }).items, [], `${url} finds B's rows`);
      }
      const audit = (await send(h, owner, { method: 'GET', url: '/v1/audit?limit=200' })).json() as { items: { target: string | null }[] };
      assert.not.ok(audit.items.some((e) => Object.values(b).includes(e.target ?? '')), 'A\'s audit log names none of B\'s ids');
      // Creating with B's ids is refused the way a missing id is, not with a 403.
      const number = await send(h, owner, { method: 'POST', url: '/v1/numbers', payload: { number: '2999', agentId: b.agentId, allowedCidrs: ['10.0.0.1'] } });
      assert.is(number.statusCode, 400, number.body);
      const consent = await send(h, owner, { method: 'POST', url: '/v1/consents', payload: { phone: '+14152109999', source: 'web', contactId: b.contactId } });
      assert.is(consent.statusCode, 400, consent.body);
      assert.is(await fingerprint(h.db), before, 'nothing changed in the database');
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] malformed ids and unknown fields are 400s that change nothing; random bodies never 5xx`, async () => {
    const store = new MemoryObjectStore();
    const db = await backend.open();
    const keyRing = new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) });
    const h = await apiHarness(db, { services: { recordingStore: store, callTokenSecret: randomBytes(32), keyRing } });
    try {
      const a = await seedResources(h.db, store, await h.tenant('A'), '2001');
      const owner = await h.bearer(a.tenantId, 'owner');
      const own = idRequests(a, a.agentId, randomUUID());
      const before = await fingerprint(h.db);
      for (const [name, call] of Object.entries(own)) {
        const url = call.url.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/, 'not-a-uuid');
        const res = await send(h, owner, { ...call, url });
        assert.is(res.statusCode, 400, `${name} with a malformed id: ${res.statusCode}`);
        assert.ok((res.json() as { errors: { path: string }[] }).errors.some((e) => e.path.startsWith('path.')), name);
      }
      const writes = RESOURCE_ROUTES.filter((r) => ['POST', 'PUT', 'PATCH'].includes(r.method));
      const target = (url: string) => `/v1${url}`.replace(/:(\w+)/, (_, p: string) => ({ agentId: a.agentId, numberId: a.numberId, contactId: a.contactId, consentId: a.consentId } as Record<string, string>)[p]!);
      for (const route of writes) {
        const res = await h.app.inject({ method: route.method, url: target(route.url), headers: { authorization: owner }, payload: { unexpected: 1 } });
        assert.is(res.statusCode, 400, `${routeKey(route)} with an unknown field: ${res.statusCode}`);
      }
      assert.is(await fingerprint(h.db), before, 'nothing changed in the database');

      const rand = prng(12);
      let refused = 0;
      let accepted = 0;
      for (let i = 0; i < 320; i++) {
        const route = writes[i % writes.length]!;
        const { payload, mustRefuse } = randomBody(rand, bodyKeys(route.body));
        const prior = await fingerprint(h.db);
        const res = await h.app.inject({ method: route.method, url: target(route.url), headers: { authorization: owner, 'content-type': 'application/json' }, payload });
        assert.ok(res.statusCode < 500, `${routeKey(route)} ${payload} -> ${res.statusCode} ${res.body}`);
        if (res.statusCode >= 400) {
          refused++;
          assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
          assert.is(await fingerprint(h.db), prior, `${routeKey(route)} ${payload} was refused (${res.statusCode}) but wrote something`);
        } else {
          accepted++;
          assert.not.ok(mustRefuse, `${routeKey(route)} accepted ${payload}`);
        }
      }
      assert.ok(refused > 250, `most random bodies are refused (${refused} refused, ${accepted} accepted)`);
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });
}

test.run();
