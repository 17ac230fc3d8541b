/**
 * Web-widget keys, on PGlite and Postgres. Managing them: roles (agents:write
 * creates and revokes, agents:read lists), exact origins only (http only for
 * localhost, and only where the server allows it), audited, another tenant's
 * agent or key is a 404. Using one over real HTTP: an allowed origin gets a
 * call token bound to it (CORS headers for that origin only, preflight
 * included) and the signalling socket accepts it from that origin only, once
 * across two signalling nodes sharing the database; a wrong or missing Origin
 * is a 403; an unknown and a revoked key get the same 404; the per-key and
 * per-source limits answer 429 with Retry-After; a key of tenant A yields
 * tokens for tenant A's agent only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { claimCallTokenId, createAgent, listAudit, type Database } from '../../../storage/index.ts';
import type { ControlPlaneSettings } from '../../../src/api/index.ts';
import { UpgradeRouter } from '../../../src/http/upgrades.ts';
import { createLogger } from '../../../src/log.ts';
import { checkCallToken } from '../../../src/webrtc/call-token.ts';
import { WebRtcCallRefused, WebRtcSignalling, WEBRTC_SIGNALLING_PATH } from '../../../src/webrtc/signalling.ts';
import { exitAfterNativePeers } from '../../../media/webrtc/native-exit.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { waitFor, waitForValue } from '../../support/poll.ts';
import { browserOffer, connect, type StandInPeer } from '../../support/webrtc-stand-in.ts';

const SHOP = 'https://shop.example';
const OTHER = 'https://evil.example';

async function harness(db: Database, settings: Partial<ControlPlaneSettings> = {}, secret = randomBytes(32)): Promise<ApiHarness> {
  return apiHarness(db, { settings: { widgetRequestsPerSourcePerMinute: 10_000, ...settings }, services: { callTokenSecret: secret } });
}

/** A key for `agentId` created over the API by an admin of `tenantId`. */
async function newKey(h: ApiHarness, tenantId: string, agentId: string, allowedOrigins = [SHOP]): Promise<{ id: string; key: string }> {
  const res = await h.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/widget-keys`, headers: { authorization: await h.bearer(tenantId, 'admin') }, payload: { allowedOrigins } });
  assert.is(res.statusCode, 201, res.body);
  return res.json() as { id: string; key: string };
}

for (const backend of await backends()) {
  test(`[${backend.name}] widget keys: roles, exact origins, audit, revocation, tenants`, async () => {
    try {
      const h = await harness(await backend.open());
      try {
        const tenantA = await h.tenant('A');
        const tenantB = await h.tenant('B');
        const agentA = await createAgent(h.db, tenantA, { name: 'support' });
        const agentB = await createAgent(h.db, tenantB, { name: 'support' });
        const as = async (tenantId: string, role: 'owner' | 'admin' | 'manager' | 'viewer') => await h.bearer(tenantId, role);
        const create = async (auth: string, agentId: string, payload: unknown) =>
          h.app.inject({ method: 'POST', url: `/v1/agents/${agentId}/widget-keys`, headers: { authorization: auth }, payload: payload as object });

        assert.is((await create(await as(tenantA, 'viewer'), agentA.id, { allowedOrigins: [SHOP] })).statusCode, 403);
        const made = await create(await as(tenantA, 'manager'), agentA.id, { allowedOrigins: [SHOP, 'https://shop.example:8443'], name: 'site' });
        assert.is(made.statusCode, 201, made.body);
        const key = made.json() as { id: string; key: string; agentId: string; allowedOrigins: string[]; revokedAt: string | null; name: string };
        assert.match(key.key, /^saw_[A-Za-z0-9_-]{24}$/);
        assert.is(key.agentId, agentA.id);
        assert.equal(key.allowedOrigins, [SHOP, 'https://shop.example:8443']);
        assert.is(key.revokedAt, null);
        const created = (await listAudit(h.db, tenantA, 1))[0]!;
        assert.is(created.action, 'widget-key.created');
        assert.is(created.target, key.id);

        // Exact origins only.
        const admin = await as(tenantA, 'admin');
        for (const origin of ['http://shop.example', 'https://shop.example/', 'https://shop.example/page', 'HTTPS://SHOP.EXAMPLE', 'https://shop.example:443',
          'https://user@shop.example', 'shop.example', '*', 'http://localhost:3000']) {
          const res = await create(admin, agentA.id, { allowedOrigins: [origin] });
          assert.is(res.statusCode, 400, `${origin}: ${res.body}`);
          assert.ok(((res.json() as { errors?: { path: string }[] }).errors ?? []).some((e) => e.path.startsWith('body.allowedOrigins')), `${origin} names the field: ${res.body}`);
        }
        assert.is((await create(admin, agentA.id, { allowedOrigins: [] })).statusCode, 400);
        assert.is((await create(admin, agentA.id, { allowedOrigins: [SHOP, SHOP] })).statusCode, 400);

        // Another tenant's agent and key are not there.
        const adminB = await as(tenantB, 'admin');
        assert.is((await create(admin, agentB.id, { allowedOrigins: [SHOP] })).statusCode, 404, 'a key for another tenant\'s agent');
        assert.is((await h.app.inject({ method: 'GET', url: `/v1/agents/${agentA.id}/widget-keys`, headers: { authorization: adminB } })).statusCode, 404);
        assert.is((await h.app.inject({ method: 'DELETE', url: `/v1/agents/${agentA.id}/widget-keys/${key.id}`, headers: { authorization: adminB } })).statusCode, 404);
        assert.is((await h.app.inject({ method: 'DELETE', url: `/v1/agents/${agentB.id}/widget-keys/${key.id}`, headers: { authorization: adminB } })).statusCode, 404);

        // Listing (viewers may not read agents), revoking (audited; the key stays listed as revoked; twice is a 404).
        assert.is((await h.app.inject({ method: 'GET', url: `/v1/agents/${agentA.id}/widget-keys`, headers: { authorization: await as(tenantA, 'viewer') } })).statusCode, 403);
        assert.is((await h.app.inject({ method: 'DELETE', url: `/v1/agents/${agentA.id}/widget-keys/${key.id}`, headers: { authorization: await as(tenantA, 'viewer') } })).statusCode, 403);
        const revoke = await h.app.inject({ method: 'DELETE', url: `/v1/agents/${agentA.id}/widget-keys/${key.id}`, headers: { authorization: await as(tenantA, 'manager') } });
        assert.is(revoke.statusCode, 204, revoke.body);
        const revokedEntry = (await listAudit(h.db, tenantA, 1))[0]!;
        assert.is(revokedEntry.action, 'widget-key.revoked');
        assert.is(revokedEntry.target, key.id);
        assert.is((await h.app.inject({ method: 'DELETE', url: `/v1/agents/${agentA.id}/widget-keys/${key.id}`, headers: { authorization: admin } })).statusCode, 404);
        const listed = (await h.app.inject({ method: 'GET', url: `/v1/agents/${agentA.id}/widget-keys`, headers: { authorization: await as(tenantA, 'manager') } })).json() as { items: { id: string; revokedAt: string | null }[] };
        assert.is(listed.items.length, 1);
        assert.is(listed.items[0]!.id, key.id);
        assert.ok(listed.items[0]!.revokedAt);
      } finally {
        await h.close();
      }
      // A server that allows localhost origins (local development) takes http://localhost.
      const dev = await harness(await backend.open(), { widgetAllowLocalhost: true });
      try {
        const tenant = await dev.tenant();
        const agent = await createAgent(dev.db, tenant, { name: 'dev' });
        const key = await newKey(dev, tenant, agent.id, ['http://localhost:3000', 'http://127.0.0.1:8080']);
        assert.ok(key.key);
        const res = await dev.app.inject({ method: 'POST', url: `/v1/agents/${agent.id}/widget-keys`, headers: { authorization: await dev.bearer(tenant, 'admin') }, payload: { allowedOrigins: ['http://shop.example'] } });
        assert.is(res.statusCode, 400, 'plain http stays refused off loopback');
      } finally {
        await dev.close();
      }
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] widget flow over real HTTP: CORS, origin-bound tokens the signalling socket takes once, 403, 404, 429, tenants`, async () => {
    const secret = randomBytes(32);
    const peers: StandInPeer[] = [];
    const nodes: WebRtcSignalling[] = [];
    try {
      const db = await backend.open();
      const h = await harness(db, { widgetTokensPerKeyPerMinute: 8 }, secret);
      try {
        // Two signalling nodes on the same database (the second one on its own router, reached by its own server below).
        const node = (): WebRtcSignalling => {
          const signalling = new WebRtcSignalling({
            secret, logger: createLogger('silent'), peer: { bindAddress: '127.0.0.1' },
            startCall: async () => { throw new WebRtcCallRefused('unavailable', 'not in this test'); },
            claim: (claims) => claimCallTokenId(db, claims.jti, new Date(claims.expiresAtMs)),
          });
          nodes.push(signalling);
          return signalling;
        };
        new UpgradeRouter(h.app.server).add(WEBRTC_SIGNALLING_PATH, node().handleUpgrade);
        const base = await h.app.listen({ port: 0, host: '127.0.0.1' });
        const ws = base.replace(/^http/, 'ws');

        const tenantA = await h.tenant('A');
        const tenantB = await h.tenant('B');
        const agentA = await createAgent(db, tenantA, { name: 'support' });
        await createAgent(db, tenantB, { name: 'support' });
        const { id: keyId, key } = await newKey(h, tenantA, agentA.id);
        const url = (k = key) => `${base}/v1/widget-keys/${k}/call-tokens`;
        const mint = (origin: string | undefined, k = key) => fetch(url(k), {
          method: 'POST', headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) }, body: '{}',
        });
        const preflight = (origin: string, k = key) => fetch(url(k), {
          method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
        });

        // The preflight allows the key's origin only.
        const allowed = await preflight(SHOP);
        assert.is(allowed.status, 204);
        assert.is(allowed.headers.get('access-control-allow-origin'), SHOP);
        assert.match(String(allowed.headers.get('access-control-allow-methods')), /POST/);
        assert.match(String(allowed.headers.get('access-control-allow-headers')), /content-type/);
        const refusedPreflight = await preflight(OTHER);
        assert.is(refusedPreflight.status, 403);
        assert.is(refusedPreflight.headers.get('access-control-allow-origin'), null);

        // An allowed origin gets a token bound to it, for the key's own tenant and agent.
        const first = await mint(SHOP);
        assert.is(first.status, 201, await first.clone().text());
        assert.is(first.headers.get('access-control-allow-origin'), SHOP);
        const body = await first.json() as { token: string; agentId: string; signallingPath: string };
        assert.is(body.agentId, agentA.id);
        assert.is(body.signallingPath, WEBRTC_SIGNALLING_PATH);
        const checked = checkCallToken(secret, body.token);
        assert.ok(checked.ok && checked.claims.tenantId === tenantA && checked.claims.agentId === agentA.id && checked.claims.origin === SHOP, 'tenant A, its agent, the page origin');

        // Wrong or missing Origin: 403 and no token; the asking page may read the refusal (the widget says why).
        for (const origin of [OTHER, undefined, 'https://shop.example.evil.example', 'null']) {
          const res = await mint(origin);
          assert.is(res.status, 403, `origin ${String(origin)}`);
          assert.is(res.headers.get('access-control-allow-origin'), origin ?? null, 'readable by the page that asked, and only by it');
          assert.is(res.headers.get('access-control-allow-credentials'), null);
          const problem = await res.json() as { code?: string; token?: unknown };
          assert.is(problem.code, 'origin_not_allowed');
          assert.is(problem.token, undefined);
        }
        // The widget's request is a CORS simple one (POST, no body, no content type): no preflight needed.
        const simple = await fetch(url(), { method: 'POST', headers: { origin: SHOP } });
        assert.is(simple.status, 201, await simple.clone().text());
        assert.is(simple.headers.get('access-control-allow-origin'), SHOP);

        // The signalling socket: the token from another site is refused (and not used up), then taken from the page's origin.
        const offer = async (origin: string | undefined, token: string) => {
          const browser = await browserOffer();
          peers.push(browser);
          const client = await connect(ws, origin);
          client.ws.send(JSON.stringify({ type: 'offer', token, sdp: browser.offer }));
          return waitForValue('the answer or a refusal', () => client.messages.find((m) => m.type === 'answer' || m.type === 'error'), { timeoutMs: 30_000 })
            .finally(() => client.ws.close());
        };
        assert.equal(await offer(OTHER, body.token), { type: 'error', code: 'forbidden-origin', message: 'this call token is for another site' });
        assert.is((await offer(undefined, body.token)).code, 'forbidden-origin');
        assert.is((await offer(SHOP, body.token)).type, 'answer', 'accepted from the allowed origin');
        // Used once across nodes: a second signalling node on the same database refuses the replay.
        const second = node();
        const other = createServer((_q, r) => r.end());
        new UpgradeRouter(other).add(WEBRTC_SIGNALLING_PATH, second.handleUpgrade);
        await new Promise<void>((r) => other.listen(0, '127.0.0.1', r));
        try {
          const otherUrl = `ws://127.0.0.1:${(other.address() as { port: number }).port}`;
          const browser = await browserOffer();
          peers.push(browser);
          const client = await connect(otherUrl, SHOP);
          client.ws.send(JSON.stringify({ type: 'offer', token: body.token, sdp: browser.offer }));
          const replay = await waitForValue('the refusal', () => client.messages.find((m) => m.type === 'error'), { timeoutMs: 30_000 });
          assert.equal(replay, { type: 'error', code: 'unauthorized', message: 'the call token was already used' });
          client.ws.close();
        } finally {
          await second.close();
          other.closeAllConnections();
          await new Promise<void>((r) => other.close(() => r()));
        }

        // Unknown and revoked keys: the same 404.
        const unknown = await mint(SHOP, `saw_${randomBytes(18).toString('base64url')}`);
        assert.is(unknown.status, 404);
        const revoke = await h.app.inject({ method: 'DELETE', url: `/v1/agents/${agentA.id}/widget-keys/${keyId}`, headers: { authorization: await h.bearer(tenantA, 'admin') } });
        assert.is(revoke.statusCode, 204);
        const revoked = await mint(SHOP);
        assert.is(revoked.status, 404);
        assert.equal(await revoked.json(), await unknown.json(), 'revoked and unknown are indistinguishable');
        assert.is((await preflight(SHOP)).status, 404);

        // The per-key limit, 8 tokens a minute here: a fresh key's ninth is refused.
        const { key: busy } = await newKey(h, tenantA, agentA.id);
        const statuses: number[] = [];
        let limited: Response | undefined;
        for (let i = 0; i < 9; i++) {
          const res = await mint(SHOP, busy);
          statuses.push(res.status);
          if (res.status === 429) limited = res;
        }
        assert.equal(statuses, [201, 201, 201, 201, 201, 201, 201, 201, 429]);
        assert.ok(Number(limited!.headers.get('retry-after')) >= 1, 'Retry-After');
        assert.is(limited!.headers.get('access-control-allow-origin'), SHOP, 'the page may read the refusal');
      } finally {
        for (const n of nodes) await n.close();
        await h.close();
      }
    } finally {
      for (const p of peers) p.pc.close();
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] the per-source limit is counted before the key is looked up`, async () => {
    try {
      const h = await harness(await backend.open(), { widgetRequestsPerSourcePerMinute: 3 });
      try {
        const guess = () => h.app.inject({ method: 'POST', url: `/v1/widget-keys/saw_${randomBytes(18).toString('base64url')}/call-tokens`, headers: { origin: SHOP }, payload: {} });
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push((await guess()).statusCode);
        assert.equal(statuses, [404, 404, 404, 429]);
        const res = await guess();
        assert.is(res.statusCode, 429);
        assert.ok(Number(res.headers['retry-after']) >= 1);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
