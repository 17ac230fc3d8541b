/**
 * /v1/webhooks through the HTTP API, with a local receiver that verifies every
 * delivery with the `standardwebhooks` library: an endpoint created over the
 * API (its whsec_ secret shown once, never listed) receives a call's events
 * signed with that secret; the delivery log filters and pages; a replay sends
 * the same webhook-id again; a rotation signs with both secrets during the
 * overlap; private, metadata and (unless allowed) loopback URLs and unknown
 * event types are refused at creation; roles per the matrix; another
 * tenant's ids are 404s; every change is audited with actor and source
 * address; the event payload schemas are in the OpenAPI document.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import {
  createAgent, finishCall, listAudit, markCallAnswered, startCall, WEBHOOK_EVENT_TYPES, type Database,
} from '../../../storage/index.ts';
import type { KeyRing } from '../../../storage/vault/index.ts';
import { isWebhookSecret, WebhookDeliveryWorker, webhookJsonSchemas } from '../../../src/webhooks/index.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { ManualClock, Receiver } from '../webhooks/support/receiver.ts';

interface Delivery { id: number; eventId: string; eventType: string; endpointId: string; status: string; attempts: number }

async function makeCall(db: Database, tenantId: string, agentId: string): Promise<string> {
  const row = await startCall(db, tenantId, { agentId, direction: 'inbound', fromUri: 'sip:caller@x', toUri: 'sip:2000@y', sipCallId: randomUUID() });
  await markCallAnswered(db, tenantId, row.id);
  await finishCall(db, tenantId, row.id, { reason: 'bye' });
  return row.id;
}

for (const backend of await backends()) {
  test(`[${backend.name}] endpoint over the API: signed deliveries, delivery log, replay, rotation with overlap, all audited`, async () => {
    const receiver = await Receiver.start();
    try {
      const h: ApiHarness = await apiHarness(await backend.open(), { settings: { webhookAllowLoopback: true } });
      try {
        const tenant = await h.tenant();
        const agent = await createAgent(h.db, tenant, { name: 'echo', mode: 'echo' });
        const admin = await h.bearer(tenant, 'admin');
        const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, auth = admin) =>
          h.app.inject({ method, url: `/v1${url}`, headers: { authorization: auth }, ...(payload ? { payload } : {}) });
        const clock = new ManualClock(Date.now() + 3600_000); // ahead of every row: all that is written is due
        const worker = new WebhookDeliveryWorker({ db: h.db, keys: h.deps.services.keyRing as KeyRing, allowLoopback: true, timeoutMs: 10_000, clock: clock.now, random: () => 0.5 });

        const created = await api('POST', '/webhooks/endpoints', { url: receiver.url, eventTypes: ['call.started', 'call.answered', 'call.ended'], description: 'crm' });
        assert.is(created.statusCode, 201, created.body);
        const endpoint = created.json() as { id: string; secret: string; enabled: boolean; eventTypes: string[] };
        assert.ok(isWebhookSecret(endpoint.secret), 'a whsec_ secret');
        assert.is(endpoint.enabled, true);
        receiver.secrets = [endpoint.secret];
        const listed = await api('GET', '/webhooks/endpoints');
        assert.is(listed.statusCode, 200);
        assert.equal((listed.json() as { items: { id: string }[] }).items.map((e) => e.id), [endpoint.id]);
        assert.not.match(listed.body, endpoint.secret.slice(6, 30), 'the secret is never listed');
        assert.not.match((await api('GET', `/webhooks/endpoints/${endpoint.id}`)).body, endpoint.secret.slice(6, 30));

        // A call's three events reach the receiver, each verified with the secret the API showed.
        await makeCall(h.db, tenant, agent.id);
        assert.is(await worker.runOnce(), 3);
        assert.is(receiver.unverified, 0);
        assert.equal(receiver.accepted.map((r) => r.type), ['call.started', 'call.answered', 'call.ended']);

        // The delivery log: filters, and pages that walk the whole log without repeats.
        const all = (await api('GET', '/webhooks/deliveries')).json() as { items: Delivery[] };
        assert.is(all.items.length, 3);
        assert.ok(all.items.every((d) => d.status === 'delivered' && d.attempts === 1 && d.endpointId === endpoint.id));
        const ended = (await api('GET', '/webhooks/deliveries?eventType=call.ended')).json() as { items: Delivery[] };
        assert.equal(ended.items.map((d) => d.eventType), ['call.ended']);
        assert.is(((await api('GET', '/webhooks/deliveries?status=pending')).json() as { items: unknown[] }).items.length, 0);
        assert.is(((await api('GET', `/webhooks/deliveries?endpointId=${endpoint.id}&status=delivered`)).json() as { items: unknown[] }).items.length, 3);
        assert.is(((await api('GET', `/webhooks/deliveries?endpointId=${randomUUID()}`)).json() as { items: unknown[] }).items.length, 0);
        assert.is((await api('GET', '/webhooks/deliveries?status=lost')).statusCode, 400);
        assert.is((await api('GET', '/webhooks/deliveries?eventType=call.exploded')).statusCode, 400);
        const seen: number[] = [];
        let cursor: string | null = null;
        do {
          const page = (await api('GET', `/webhooks/deliveries?limit=1${cursor ? `&cursor=${cursor}` : ''}`)).json() as { items: Delivery[]; nextCursor: string | null };
          seen.push(...page.items.map((d) => d.id));
          cursor = page.nextCursor;
        } while (cursor);
        assert.equal(seen, all.items.map((d) => d.id), 'paged one at a time: the same deliveries, newest first');

        // Replay: the same event and webhook-id again.
        const first = ended.items[0]!;
        const replay = await api('POST', `/webhooks/deliveries/${first.id}/replay`);
        assert.is(replay.statusCode, 202, replay.body);
        assert.is(await worker.runOnce(), 1);
        const copies = receiver.accepted.filter((r) => r.id === first.eventId);
        assert.is(copies.length, 2, 'delivered twice, recognisable as a duplicate by its webhook-id');
        const attempts = await api('GET', `/webhooks/deliveries/${first.id}/attempts`);
        assert.is(attempts.statusCode, 200, attempts.body);
        assert.equal((attempts.json() as { items: { attempt: number; statusCode: number }[] }).items.map((a) => [a.attempt, a.statusCode]), [[1, 200], [2, 200]]);

        // Rotation: deliveries during the overlap verify with either secret.
        const rotated = await api('POST', `/webhooks/endpoints/${endpoint.id}/rotate-secret`, { overlapSeconds: 3600 });
        assert.is(rotated.statusCode, 201, rotated.body);
        const { secret: fresh, previousValidUntil } = rotated.json() as { secret: string; previousValidUntil: string };
        assert.ok(isWebhookSecret(fresh) && fresh !== endpoint.secret);
        assert.is(Date.parse(previousValidUntil), h.clock().getTime() + 3600_000);
        const before = receiver.accepted.length;
        receiver.secrets = [fresh];
        await makeCall(h.db, tenant, agent.id);
        const overlapWorker = new WebhookDeliveryWorker({ db: h.db, keys: h.deps.services.keyRing as KeyRing, allowLoopback: true, timeoutMs: 10_000, clock: () => new Date(h.clock().getTime() + 60_000), random: () => 0.5 });
        assert.is(await overlapWorker.runOnce(), 3);
        assert.is(receiver.accepted.length - before, 3, 'verified with the new secret');
        receiver.secrets = [endpoint.secret];
        await makeCall(h.db, tenant, agent.id);
        assert.is(await overlapWorker.runOnce(), 3);
        assert.is(receiver.accepted.length - before, 6, 'and with the previous one, during the overlap');
        assert.is(receiver.unverified, 0);

        // Change and delete.
        const disabled = await api('PATCH', `/webhooks/endpoints/${endpoint.id}`, { enabled: false, eventTypes: ['call.ended'] });
        assert.is(disabled.statusCode, 200, disabled.body);
        assert.equal((disabled.json() as { enabled: boolean; eventTypes: string[] }), { ...(disabled.json() as object), enabled: false, eventTypes: ['call.ended'] });
        assert.is((await api('PATCH', `/webhooks/endpoints/${endpoint.id}`, {})).statusCode, 400, 'an empty change');
        assert.is((await api('DELETE', `/webhooks/endpoints/${endpoint.id}`)).statusCode, 204);
        assert.is((await api('GET', `/webhooks/endpoints/${endpoint.id}`)).statusCode, 404);

        const log = (await listAudit(h.db, tenant)).filter((e) => e.action.startsWith('webhook.'));
        assert.equal(log.map((e) => e.action).sort(), ['webhook.delivery.replayed', 'webhook.endpoint.created', 'webhook.endpoint.deleted', 'webhook.endpoint.updated', 'webhook.secret.rotated']);
        assert.ok(log.every((e) => e.actor.startsWith('apikey:sak_') && e.sourceIp === '127.0.0.1'), JSON.stringify(log.map((e) => [e.actor, e.sourceIp])));
        assert.not.match(JSON.stringify(log), /whsec_/, 'no secret in the audit log');
      } finally {
        await h.close();
      }
    } finally {
      await receiver.close();
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] refused URLs and event types, roles, another tenant's ids, and the event schemas in the OpenAPI document`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const a = await h.tenant('A');
        const b = await h.tenant('B');
        const owner = await h.bearer(a, 'owner');
        const api = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, payload?: object, auth = owner) =>
          h.app.inject({ method, url: `/v1${url}`, headers: { authorization: auth }, ...(payload ? { payload } : {}) });
        const refusals: [object, string][] = [
          [{ url: 'http://10.1.2.3/hook', eventTypes: ['call.ended'] }, 'body.url'],
          [{ url: 'http://169.254.169.254/latest/meta-data', eventTypes: ['call.ended'] }, 'body.url'],
          [{ url: 'http://[::ffff:192.168.1.1]/hook', eventTypes: ['call.ended'] }, 'body.url'],
          [{ url: 'http://127.0.0.1:9/hook', eventTypes: ['call.ended'] }, 'body.url'], // loopback: not allowed by this server
          [{ url: 'ftp://example.com/hook', eventTypes: ['call.ended'] }, 'body.url'],
          [{ url: 'https://user:pw@example.com/hook', eventTypes: ['call.ended'] }, 'body.url'],
          [{ url: 'https://example.com/hook', eventTypes: ['call.exploded'] }, 'body.eventTypes'],
          [{ url: 'https://example.com/hook', eventTypes: [] }, 'body.eventTypes'],
          [{ url: 'https://example.com/hook', eventTypes: ['call.ended'], secret: 'whsec_mine' }, 'body'],
        ];
        for (const [payload, path] of refusals) {
          const res = await api('POST', '/webhooks/endpoints', payload);
          assert.is(res.statusCode, 400, `${JSON.stringify(payload)}: ${res.body}`);
          assert.ok((res.json() as { errors: { path: string }[] }).errors.some((e) => e.path.startsWith(path)), `${JSON.stringify(payload)}: ${res.body}`);
        }
        assert.is((await listAudit(h.db, a)).filter((e) => e.action.startsWith('webhook.')).length, 0, 'nothing was created');

        // Roles: owner and admin manage; manager and viewer neither manage nor read.
        for (const role of ['manager', 'viewer'] as const) {
          const auth = await h.bearer(a, role);
          assert.is((await api('GET', '/webhooks/endpoints', undefined, auth)).statusCode, 403, role);
          assert.is((await api('GET', '/webhooks/deliveries', undefined, auth)).statusCode, 403, role);
          assert.is((await api('POST', '/webhooks/endpoints', { url: 'https://example.com/hook', eventTypes: ['call.ended'] }, auth)).statusCode, 403, role);
        }

        // Another tenant's endpoint: a 404 on every route, and it is untouched.
        const bOwner = await h.bearer(b, 'owner');
        // A public address literal: allowed at creation without DNS (nothing is sent in this test).
        const theirs = await api('POST', '/webhooks/endpoints', { url: 'https://93.184.215.14/hook', eventTypes: ['call.ended'] }, bOwner);
        assert.is(theirs.statusCode, 201, theirs.body);
        const id = (theirs.json() as { id: string }).id;
        assert.is((await api('GET', `/webhooks/endpoints/${id}`)).statusCode, 404);
        assert.is((await api('PATCH', `/webhooks/endpoints/${id}`, { enabled: false })).statusCode, 404);
        assert.is((await api('POST', `/webhooks/endpoints/${id}/rotate-secret`, {})).statusCode, 404);
        assert.is((await api('DELETE', `/webhooks/endpoints/${id}`)).statusCode, 404);
        await makeCall(h.db, b, (await createAgent(h.db, b, { name: 'echo', mode: 'echo' })).id);
        const bDeliveries = (await api('GET', '/webhooks/deliveries', undefined, bOwner)).json() as { items: Delivery[] };
        assert.is(bDeliveries.items.length, 1, 'B has a pending call.ended delivery');
        assert.is((await api('POST', `/webhooks/deliveries/${bDeliveries.items[0]!.id}/replay`)).statusCode, 404);
        assert.is((await api('GET', `/webhooks/deliveries/${bDeliveries.items[0]!.id}/attempts`)).statusCode, 404);
        assert.equal(((await api('GET', '/webhooks/deliveries')).json() as { items: unknown[] }).items, [], 'A sees none of B\'s deliveries');
        assert.equal(((await api('GET', '/webhooks/endpoints')).json() as { items: unknown[] }).items, []);
        const still = (await api('GET', `/webhooks/endpoints/${id}`, undefined, bOwner)).json() as { enabled: boolean };
        assert.is(still.enabled, true, 'B\'s endpoint is unchanged');

        // The catalogue's payload schemas, published in the OpenAPI document's webhooks section.
        const doc = (await h.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json() as { webhooks: Record<string, { post: { requestBody: { content: Record<string, { schema: Record<string, unknown> }> } } }> };
        assert.equal(Object.keys(doc.webhooks).sort(), [...WEBHOOK_EVENT_TYPES].sort());
        const schemas = webhookJsonSchemas() as Record<string, Record<string, unknown>>;
        for (const type of WEBHOOK_EVENT_TYPES) {
          const { $schema: _s, ...expected } = schemas[type]!;
          assert.equal(doc.webhooks[type]!.post.requestBody.content['application/json']!.schema, expected, type);
        }
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
