/**
 * /v1/campaigns through HTTP, on PGlite and Postgres: create from contact ids
 * and from a contact filter (validated: agent, contacts, window, pacing), list
 * in pages and by state, read one with its progress, the lifecycle start /
 * pause / resume / cancel (409 from a state that does not allow the step),
 * every change audited with the API key and the source address, per-contact
 * outcomes in pages after a run through the real TCPA check (a DNC refusal
 * recorded), viewer reads but cannot change, another tenant's campaign is a
 * 404, and the routes are in the OpenAPI document.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightMyRequestResponse } from 'fastify';
import { addNumber, createAgent, listAudit, schema, withTenant, type Database } from '../../../storage/index.ts';
import { addToDoNotCall, setCallingPolicy } from '../../../src/compliance/index.ts';
import { CampaignRunner, compliantDialer } from '../../../src/campaigns/index.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';

type Method = 'GET' | 'POST' | 'DELETE';

function client(h: ApiHarness, auth: string) {
  return (method: Method, url: string, payload?: unknown): Promise<LightMyRequestResponse> =>
    h.app.inject({ method, url: `/v1${url}`, headers: { authorization: auth }, ...(payload !== undefined ? { payload: payload as object } : {}) });
}

function expect(res: LightMyRequestResponse, status: number, what: string): any {
  assert.is(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  return res.body ? res.json() : null;
}

/** A tenant with an agent, a number to call from, calling hours open all day and `count` contacts (+1415230xxxx and +1646230xxxx halves) without consent needed. */
async function world(h: ApiHarness, count: number) {
  const tenantId = await h.tenant();
  const agent = await createAgent(h.db, tenantId, { name: 'echo', mode: 'echo' });
  await addNumber(h.db, tenantId, { number: `+14152${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`, agentId: agent.id, allowedCidrs: [] });
  await setCallingPolicy(h.db, tenantId, { timezone: 'UTC', windowStart: '00:00', windowEnd: '24:00', requireConsent: false });
  const contacts = await withTenant(h.db, tenantId, (tx) => tx.insert(schema.contacts).values(Array.from({ length: count }, (_, i) => ({
    tenantId, name: `c${i}`, phone: `${i % 2 ? '+1646' : '+1415'}230${String(i).padStart(4, '0')}`,
  }))).returning());
  return { tenantId, agentId: agent.id, contacts };
}

async function auditActions(db: Database, tenantId: string): Promise<{ action: string; target: string | null; actor: string; sourceIp: string | null }[]> {
  return (await listAudit(db, tenantId, 100)).map((a) => ({ action: a.action, target: a.target, actor: a.actor, sourceIp: a.sourceIp }));
}

for (const backend of await backends()) {
  test(`[${backend.name}] create (ids, filter), list, progress, lifecycle with 409s, all audited`, async () => {
    const h = await apiHarness(await backend.open());
    try {
      const w = await world(h, 6);
      const auth = await h.bearer(w.tenantId, 'manager');
      const prefix = /sak_[A-Za-z0-9_-]{8}/.exec(auth)![0];
      const api = client(h, auth);

      const byIds = expect(await api('POST', '/campaigns', {
        name: 'spring', agentId: w.agentId, contactIds: w.contacts.slice(0, 3).map((c) => c.id),
        startsAt: '2026-01-01T00:00:00Z', endsAt: '2027-01-01T00:00:00+01:00', maxConcurrent: 4, callsPerSecond: 2.5, maxAttempts: 2, retrySpacingSeconds: 60,
      }), 201, 'create by ids');
      assert.equal({ ...byIds, id: undefined, createdAt: undefined }, {
        id: undefined, name: 'spring', agentId: w.agentId, callerId: null, state: 'draft', startsAt: '2026-01-01T00:00:00.000Z', endsAt: '2026-12-31T23:00:00.000Z',
        maxConcurrent: 4, callsPerSecond: 2.5, maxAttempts: 2, retrySpacingSeconds: 60, createdAt: undefined, completedAt: null,
        progress: { total: 3, byState: { pending: 3, dialing: 0, done: 0 }, byOutcome: { answered: 0, busy: 0, 'no-answer': 0, failed: 0, refused: 0, cancelled: 0 } },
      });
      const byFilter = expect(await api('POST', '/campaigns', { name: 'sixes', agentId: w.agentId, contactFilter: { phonePrefix: '+1646' } }), 201, 'create by filter');
      assert.is(byFilter.progress.total, 3, 'the three +1646 contacts');
      const both = expect(await api('POST', '/campaigns', { name: 'both', agentId: w.agentId, contactIds: [w.contacts[0]!.id, w.contacts[1]!.id], contactFilter: { phonePrefix: '+1646' } }), 201, 'ids and filter');
      assert.is(both.progress.total, 4, 'the union, each contact once');
      const everyone = expect(await api('POST', '/campaigns', { name: 'all', agentId: w.agentId, contactFilter: {} }), 201, 'an empty filter');
      assert.is(everyone.progress.total, 6);

      // Refusals: 400 naming the field, nothing created.
      const bad = async (payload: Record<string, unknown>, path: string) => {
        const res = expect(await api('POST', '/campaigns', { name: 'x', agentId: w.agentId, contactFilter: {}, ...payload }), 400, JSON.stringify(payload));
        assert.ok(res.errors.some((e: { path: string }) => e.path === path), `${JSON.stringify(payload)} names ${path}: ${JSON.stringify(res.errors)}`);
      };
      await bad({ agentId: crypto.randomUUID() }, 'body.agentId');
      await bad({ contactFilter: undefined }, 'body.contactIds');
      await bad({ contactIds: [crypto.randomUUID()], contactFilter: undefined }, 'body.contactIds');
      await bad({ callsPerSecond: 0 }, 'body.callsPerSecond');
      await bad({ maxConcurrent: 1001 }, 'body.maxConcurrent');
      await bad({ startsAt: '2026-02-01T00:00:00Z', endsAt: '2026-01-01T00:00:00Z' }, 'body');
      await bad({ contactFilter: { phonePrefix: '1%' } }, 'body.contactFilter.phonePrefix');

      // Pages, newest first, and the state filter.
      const first = expect(await api('GET', '/campaigns?limit=3'), 200, 'page 1');
      const second = expect(await api('GET', `/campaigns?limit=3&cursor=${first.nextCursor}`), 200, 'page 2');
      assert.equal([...first.items, ...second.items].map((c: { name: string }) => c.name), ['all', 'both', 'sixes', 'spring']);
      assert.is(second.nextCursor, null);

      // The lifecycle; a step the state does not allow is a 409.
      const step = async (id: string, action: string, status: number) => expect(await api('POST', `/campaigns/${id}/${action}`), status, `${action}`);
      assert.is((await step(byIds.id, 'pause', 409)).status, 409);
      assert.is((await step(byIds.id, 'start', 200)).state, 'running');
      assert.is((await step(byIds.id, 'start', 409)).status, 409);
      assert.is((await step(byIds.id, 'pause', 200)).state, 'paused');
      assert.is((await step(byIds.id, 'resume', 200)).state, 'running');
      assert.is((await step(byIds.id, 'cancel', 200)).state, 'cancelled');
      assert.is((await step(byIds.id, 'resume', 409)).status, 409);
      const cancelled = expect(await api('GET', `/campaigns/${byIds.id}`), 200, 'get');
      assert.equal([cancelled.state, cancelled.progress.byOutcome.cancelled, cancelled.progress.byState.done], ['cancelled', 3, 3]);
      assert.ok(cancelled.completedAt);
      assert.equal((expect(await api('GET', '/campaigns?state=cancelled'), 200, 'by state')).items.map((c: { id: string }) => c.id), [byIds.id]);
      expect(await api('POST', `/campaigns/${byIds.id}/start`, { extra: 1 }), 400, 'an unknown body field');

      const trail = (await auditActions(h.db, w.tenantId)).filter((a) => a.action.startsWith('campaign.')).reverse();
      assert.equal(trail.map((a) => a.action), ['campaign.created', 'campaign.created', 'campaign.created', 'campaign.created', 'campaign.start', 'campaign.pause', 'campaign.resume', 'campaign.cancel']);
      for (const a of trail) {
        assert.is(a.actor, `apikey:${prefix}`);
        assert.ok(a.sourceIp, `${a.action} has the source address`);
      }
      assert.is(trail[0]!.target, byIds.id);
    } finally {
      await h.close();
    }
  });

  test(`[${backend.name}] per-contact outcomes in pages after a run; viewer reads, cannot change; another tenant's campaign is a 404`, async () => {
    const h = await apiHarness(await backend.open());
    try {
      const w = await world(h, 5);
      await addToDoNotCall(h.db, w.tenantId, w.contacts[1]!.phone, { actor: 'test' });
      const api = client(h, await h.bearer(w.tenantId, 'admin'));
      const viewer = client(h, await h.bearer(w.tenantId, 'viewer'));
      const campaign = expect(await api('POST', '/campaigns', { name: 'run', agentId: w.agentId, contactIds: w.contacts.map((c) => c.id), callsPerSecond: 100, retrySpacingSeconds: 0 }), 201, 'create');
      expect(await viewer('POST', `/campaigns/${campaign.id}/start`), 403, 'viewer start');
      expect(await viewer('POST', '/campaigns', { name: 'v', agentId: w.agentId, contactFilter: {} }), 403, 'viewer create');
      expect(await api('POST', `/campaigns/${campaign.id}/start`), 200, 'start');
      const busy = w.contacts[3]!.phone;
      const runner = new CampaignRunner({
        db: h.db, pollMs: 20,
        dial: compliantDialer(h.db, async (req) => (req.phone === busy ? { outcome: 'busy', callId: null, detail: 'sip-486' } : { outcome: 'answered', callId: null })),
      });
      runner.start();
      try {
        await waitFor('the campaign to complete', async () => (expect(await viewer('GET', `/campaigns/${campaign.id}`), 200, 'viewer get')).state === 'completed', { timeoutMs: 60_000, intervalMs: 50 });
      } finally {
        await runner.stop();
      }
      const progress = expect(await viewer('GET', `/campaigns/${campaign.id}`), 200, 'progress');
      assert.equal(progress.progress, { total: 5, byState: { pending: 0, dialing: 0, done: 5 }, byOutcome: { answered: 3, busy: 1, 'no-answer': 0, failed: 0, refused: 1, cancelled: 0 } });

      const seen: any[] = [];
      let cursor: string | null = null;
      do {
        const page: any = expect(await viewer('GET', `/campaigns/${campaign.id}/contacts?limit=2${cursor ? `&cursor=${cursor}` : ''}`), 200, 'contacts page');
        assert.ok(page.items.length <= 2);
        seen.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(seen.map((c) => c.contactId), w.contacts.map((c) => c.id), 'every contact once, in the order added');
      const of = (i: number) => seen.find((c) => c.contactId === w.contacts[i]!.id);
      assert.equal([of(1).outcome, of(1).detail, of(1).attempts], ['refused', 'do-not-call', 1]);
      assert.equal([of(3).outcome, of(3).detail, of(3).attempts, of(3).state], ['busy', 'sip-486', 3, 'done'], 'busy retried to the limit (3)');
      assert.equal([of(0).outcome, of(0).state], ['answered', 'done']);
      assert.ok(seen.every((c) => !JSON.stringify(c).includes('+1415230')), 'no phone number in the outcomes');
      const refused = expect(await viewer('GET', `/campaigns/${campaign.id}/contacts?outcome=refused`), 200, 'by outcome');
      assert.equal(refused.items.map((c: { contactId: string }) => c.contactId), [w.contacts[1]!.id]);
      expect(await viewer('GET', `/campaigns/${campaign.id}/contacts?cursor=bm9wZQ`), 400, 'a forged cursor');

      // Another tenant: every campaign route with this campaign's id is a 404, its list is empty.
      const other = await world(h, 1);
      const stranger = client(h, await h.bearer(other.tenantId, 'owner'));
      for (const [method, url] of [
        ['GET', `/campaigns/${campaign.id}`], ['GET', `/campaigns/${campaign.id}/contacts`], ['POST', `/campaigns/${campaign.id}/start`],
        ['POST', `/campaigns/${campaign.id}/pause`], ['POST', `/campaigns/${campaign.id}/resume`], ['POST', `/campaigns/${campaign.id}/cancel`],
      ] as const) expect(await stranger(method, url), 404, `${method} ${url} from another tenant`);
      assert.equal(expect(await stranger('GET', '/campaigns'), 200, 'list').items, []);
      expect(await stranger('POST', '/campaigns', { name: 'steal', agentId: other.agentId, contactIds: [w.contacts[0]!.id] }), 400, 'another tenant\'s contacts');
    } finally {
      await h.close();
    }
  });

  test(`[${backend.name}] the OpenAPI document describes the campaign routes`, async () => {
    const h = await apiHarness(await backend.open());
    try {
      const doc = expect(await h.app.inject({ method: 'GET', url: '/v1/openapi.json' }), 200, 'openapi');
      for (const [path, methods] of Object.entries({
        '/v1/campaigns': ['get', 'post'], '/v1/campaigns/{campaignId}': ['get'], '/v1/campaigns/{campaignId}/contacts': ['get'],
        '/v1/campaigns/{campaignId}/start': ['post'], '/v1/campaigns/{campaignId}/pause': ['post'], '/v1/campaigns/{campaignId}/resume': ['post'], '/v1/campaigns/{campaignId}/cancel': ['post'],
      })) for (const m of methods) assert.ok(doc.paths[path]?.[m], `${m} ${path}`);
      assert.ok(doc.components.schemas.CampaignWithProgress && doc.components.schemas.CampaignContactOutcome);
    } finally {
      await h.close();
    }
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
