/**
 * Recording links over HTTP: minting with an API key (POST /v1/recordings/:id/link,
 * a control-plane route), streaming with a link, refusals; who is told about
 * each (the tenant's audit log only when the request proves the tenant, the
 * server's coalesced security log otherwise); ttl validated (400 problem
 * documents, never 500); the link URL built on the configured public base URL
 * or the bound address, never the Host header. Sessions, the role matrix and
 * the shared rate limit: test/src/api/recording-links.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { parseWav } from '../../../media/audio/wav.ts';
import { createAgent, createTenant, issueApiKey, listAudit, schema, startCall, type Database } from '../../../storage/index.ts';
import { SecurityLog } from '../../../src/calls/security-log.ts';
import { signRecordingLink } from '../../../storage/vault/index.ts';
import { createHttpServer } from '../../../src/http/server.ts';
import { DEFAULT_SETTINGS, registerControlPlane, systemClock, type ControlPlaneSettings } from '../../../src/api/index.ts';
import { recordingLinkRoutes } from '../../../src/api/routes/recording-links.ts';
import type { FastifyInstance } from 'fastify';
import { randomBytes } from 'node:crypto';
import { registerRecordingRoutes } from '../../../src/http/recordings.ts';
import { linkActor } from '../../../src/recordings/index.ts';
import { createLogger } from '../../../src/log.ts';
import { postgresRateLimitStore } from '../../../src/cluster/rate-limit-store.ts';
import { backends } from '../../support/databases.ts';
import { expectedStereo, recordingFixture, syntheticFrame } from './support.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);
  // Flushed by hand (the interval is far out), so each test sees exactly what its requests left.
  const securityLog = new SecurityLog(db, createLogger('silent'), { flushIntervalMs: 3_600_000 });
  /** The minting route as `serve` mounts it: the control plane with the link secret and the security log. */
  const mountMinting = (server: FastifyInstance, settings: Partial<ControlPlaneSettings> = {}) => registerControlPlane(server, {
    db, logger: createLogger('silent'), clock: systemClock, settings: { ...DEFAULT_SETTINGS, ...settings }, sessionSecret: randomBytes(32),
    services: { recordingLinkSecret: fx.linkSecret }, securityLog,
  }, recordingLinkRoutes);
  const app = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
  registerRecordingRoutes(app, { db, vault: fx.vault, linkSecret: fx.linkSecret, securityLog });
  await mountMinting(app);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const tenant = await createTenant(db, { name: 'http' });
  const other = await createTenant(db, { name: 'other' });
  const owner = await issueApiKey(db, tenant.id, { name: 'owner', role: 'owner' });
  const viewer = await issueApiKey(db, tenant.id, { name: 'viewer', role: 'viewer' });
  const otherOwner = await issueApiKey(db, other.id, { name: 'owner', role: 'owner' });
  const agent = await createAgent(db, tenant.id, { name: 'a' });
  const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
  const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: call.id, agent });
  for (let f = 0; f < 100; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
  await recorder.finish();
  const recordingId = recorder.recordingId;

  const mint = (key: string, id = recordingId, body?: unknown) => fetch(`${base}/v1/recordings/${id}/link`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const get = (path: string) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  const sigOf = (path: string) => new URL(path, base).searchParams.get('sig')!;
  /** Security-log rows written since `after` (flushing what is pending first). */
  const securityRows = async (after: number) => {
    await securityLog.flush();
    return (await db.owner.select().from(schema.securityEvents)).filter((r) => r.id > after);
  };
  const lastSecurityId = async (d: Database = db) => Math.max(0, ...(await d.owner.select().from(schema.securityEvents)).map((r) => r.id));

  test(`[${backend.name}] round trip: API key mints a link, the link streams the decrypted WAV, both are audited`, async () => {
    const res = await mint(owner.key, recordingId, { ttl: '10m' });
    assert.is(res.status, 201);
    const body = await res.json() as { url: string; path: string; expiresAt: string };
    assert.ok(body.path.startsWith(`/v1/recordings/${tenant.id}/${recordingId}?exp=`));
    assert.is(body.url, `${base}${body.path}`, 'no public base URL configured: the bound address');
    const minutes = (Date.parse(body.expiresAt) - Date.now()) / 60_000;
    assert.ok(minutes > 9 && minutes <= 10, `ttl ${minutes}`);
    const wav = await get(body.path);
    assert.is(wav.status, 200);
    assert.is(wav.headers.get('content-type'), 'audio/wav');
    assert.is(wav.headers.get('cache-control'), 'no-store');
    const parsed = parseWav(Buffer.from(await wav.arrayBuffer()));
    assert.is(parsed.channels, 2);
    assert.is(parsed.sampleRate, 8000);
    assert.ok(parsed.data.equals(expectedStereo(100)), 'WAV audio equals what was recorded');

    const log = await listAudit(db, tenant.id);
    const created = log.find((e) => e.action === 'recording.link.created');
    const accessed = log.find((e) => e.action === 'recording.accessed');
    assert.ok(created && accessed);
    assert.is(created!.actor, `apikey:${owner.prefix}`);
    assert.is(created!.target, recordingId);
    assert.is(accessed!.actor, linkActor(sigOf(body.path)));
    assert.is((created!.detail as { link: string }).link, accessed!.actor, 'the access traces back to the minting');
    assert.is(accessed!.sourceIp, '127.0.0.1');
    assert.not.match(JSON.stringify(log), new RegExp(sigOf(body.path).slice(0, 20)), 'the signature itself is never stored');
  });

  test(`[${backend.name}] expired, altered and moved links get 403, unknown recordings 404; forged ones only in the security log`, async () => {
    await securityLog.flush();
    const securityBefore = await lastSecurityId();
    const otherAuditBefore = (await listAudit(db, other.id)).length;
    const past = Date.now() - 3_600_000;
    const expired = signRecordingLink({ tenantId: tenant.id, recordingId, expiresAt: new Date(past + 60_000) }, fx.linkSecret, { now: past });
    const good = signRecordingLink({ tenantId: tenant.id, recordingId }, fx.linkSecret);
    const url = new URL(good, base);
    const laterExp = good.replace(/exp=(\d+)/, (_m, e: string) => `exp=${Number(e) + 3600}`);
    const badSig = good.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    const moved = good.replace(tenant.id, other.id);
    const noSig = `${url.pathname}?exp=${url.searchParams.get('exp')}`;
    const cases: [string, string, string][] = [
      [expired, 'expired', 'recording link has expired'],
      [laterExp, 'bad-signature', 'recording link is not valid'],
      [badSig, 'bad-signature', 'recording link is not valid'],
      [moved, 'bad-signature', 'recording link is not valid'],
      [noSig, 'malformed', 'recording link is not valid'],
    ];
    for (const [path, , message] of cases) {
      const res = await get(path);
      assert.is(res.status, 403, path);
      assert.equal(await res.json(), { error: message });
    }
    const unknown = crypto.randomUUID();
    const res = await get(signRecordingLink({ tenantId: tenant.id, recordingId: unknown }, fx.linkSecret));
    assert.is(res.status, 404);

    // A valid signature proves the tenant (expired, not-found): the tenant's log has those.
    const refused = (await listAudit(db, tenant.id)).filter((e) => e.action === 'recording.access.refused');
    const reasons = refused.map((e) => (e.detail as { reason: string }).reason).sort();
    assert.equal(reasons, ['expired', 'not-found']);
    assert.ok(refused.every((e) => e.actor.startsWith('link:')));
    // A forged link proves nothing: not in the log of the tenant its URL names, however many arrive.
    for (let i = 0; i < 20; i++) assert.is((await get(moved)).status, 403);
    assert.is((await listAudit(db, other.id)).length, otherAuditBefore, 'a forged link wrote into tenant "other"\'s audit log');
    // The server's security log has them, one row per source and kind for the window, with the count.
    const rows = await securityRows(securityBefore);
    const byType = Object.fromEntries(rows.map((r) => [r.type, { source: r.sourceIp, count: (r.detail as { count: number }).count }]));
    assert.equal(byType, {
      'recording.link.bad-signature': { source: '127.0.0.1', count: 23 },
      'recording.link.malformed': { source: '127.0.0.1', count: 1 },
    });
  });

  test(`[${backend.name}] minting: 401 without a valid key, 403 for viewers (audited), 404 for another tenant's recording`, async () => {
    assert.is((await mint('sak_nonsense')).status, 401);
    const noAuth = await fetch(`${base}/v1/recordings/${recordingId}/link`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.is(noAuth.status, 401);
    assert.match(String(noAuth.headers.get('content-type')), /^application\/problem\+json/);
    const asViewer = await mint(viewer.key);
    assert.is(asViewer.status, 403);
    assert.is((await asViewer.json() as { status: number }).status, 403);
    const otherAuditBefore = (await listAudit(db, other.id)).length;
    const foreign = await mint(otherOwner.key);
    assert.is(foreign.status, 404, 'a key of another tenant cannot see the recording');
    assert.not.match(await foreign.text(), new RegExp(tenant.id), 'the 404 names no tenant');
    const log = await listAudit(db, tenant.id);
    const refusal = log.find((e) => e.action === 'recording.link.refused' && e.actor === `apikey:${viewer.prefix}`);
    assert.ok(refusal, 'the viewer\'s refusal is in its tenant\'s audit log');
    assert.is(refusal!.target, recordingId);
    assert.equal(refusal!.detail, { reason: 'role', role: 'viewer' });
    const otherLog = (await listAudit(db, other.id)).slice(0, (await listAudit(db, other.id)).length - otherAuditBefore);
    assert.equal(otherLog.map((e) => [e.action, e.actor, (e.detail as { reason: string }).reason]), [['recording.link.refused', `apikey:${otherOwner.prefix}`, 'not-found']],
      'the refusal is in the caller\'s own log, naming no other tenant');
  });

  test(`[${backend.name}] minting without a valid key: 401, once per source and window in the security log, no tenant's log`, async () => {
    await securityLog.flush();
    const securityBefore = await lastSecurityId();
    const auditBefore = (await listAudit(db, tenant.id)).length;
    for (let i = 0; i < 10; i++) assert.is((await mint(`sak_forged${i}`)).status, 401);
    const rows = await securityRows(securityBefore);
    assert.equal(rows.map((r) => [r.type, r.sourceIp, (r.detail as { count: number }).count]), [['api.unauthenticated', '127.0.0.1', 10]]);
    assert.is((await listAudit(db, tenant.id)).length, auditBefore);
  });

  test(`[${backend.name}] a bad ttl is a 400 problem document (never a 500); one the link rules refuse is audited`, async () => {
    const audited: Array<[unknown, RegExp]> = [
      [{ ttl: 'soon' }, /^ttl must look like 90s, 15m, 2h or 1d, got "soon"$/],
      [{ ttl: '-5m' }, /^ttl must look like 90s, 15m, 2h or 1d/],
      [{ ttl: 0.0001 }, /^ttl must be a whole, positive number of seconds/],
      [{ ttl: -60 }, /^ttl must be a whole, positive number of seconds/],
      [{ ttl: 1 }, /^ttl must be at least 10 seconds$/],
      [{ ttl: '1s' }, /^ttl must be at least 10 seconds$/],
      [{ ttl: 1e300 }, /^ttl must be a whole, positive number of seconds/],
      [{ ttl: '9999999d' }, /^ttl must be at most 1440 minutes$/],
      [{ ttl: '2d' }, /^ttl must be at most 1440 minutes$/],
    ];
    // Wrong shapes are refused by the schema before the handler runs (the field named in errors[]).
    const malformed: Array<[unknown, string]> = [
      [{ ttl: {} }, 'body.ttl'], [{ ttl: true }, 'body.ttl'], [{ ttl: [5] }, 'body.ttl'], [{ ttl: null }, 'body.ttl'], [{ tll: '5m' }, 'body'], ['5m', 'body'],
    ];
    const badRequests = async () => (await listAudit(db, tenant.id))
      .filter((e) => e.action === 'recording.link.refused' && (e.detail as { reason: string }).reason === 'bad-request');
    const before = (await badRequests()).length;
    const post = (body: unknown) => fetch(`${base}/v1/recordings/${recordingId}/link`, {
      method: 'POST', headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json' }, body: JSON.stringify(body), signal: AbortSignal.timeout(10_000),
    });
    for (const [body, message] of audited) {
      const res = await post(body);
      assert.is(res.status, 400, JSON.stringify(body));
      const problem = await res.json() as { detail: string; errors: { path: string }[] };
      assert.match(problem.detail, message, JSON.stringify(body));
      assert.equal(problem.errors.map((e) => e.path), ['body.ttl']);
    }
    for (const [body, path] of malformed) {
      const res = await post(body);
      assert.is(res.status, 400, JSON.stringify(body));
      const problem = await res.json() as { errors: { path: string }[] };
      assert.ok(problem.errors.some((e) => e.path.startsWith(path)), `${JSON.stringify(body)}: ${JSON.stringify(problem.errors)}`);
    }
    const refusals = await badRequests();
    assert.is(refusals.length - before, audited.length);
    assert.ok(refusals.every((e) => e.actor === `apikey:${owner.prefix}`));
    const ok = await mint(owner.key, recordingId, { ttl: 10 });
    assert.is(ok.status, 201, 'the shortest allowed ttl');
  });

  test(`[${backend.name}] the link URL: the configured public base URL, else the bound address; never the Host header`, async () => {
    const spoofed = { authorization: `Bearer ${owner.key}`, host: 'evil.example:8443', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    const bound = await app.inject({ method: 'POST', url: `/v1/recordings/${recordingId}/link`, headers: spoofed });
    assert.is(bound.statusCode, 201, bound.body);
    const boundUrl = (bound.json() as { url: string; path: string });
    assert.is(boundUrl.url, `${base}${boundUrl.path}`);
    const configured = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
    await mountMinting(configured, { publicBaseUrl: 'https://media.example.com/smartalex' });
    await configured.ready();
    try {
      const res = await configured.inject({ method: 'POST', url: `/v1/recordings/${recordingId}/link`, headers: spoofed });
      assert.is(res.statusCode, 201, res.body);
      const body = res.json() as { url: string; path: string };
      assert.is(body.url, `https://media.example.com/smartalex${body.path}`);
      assert.not.match(res.body, /evil/);
    } finally {
      await configured.close();
    }
  });

  test(`[${backend.name}] link guessing is rate-limited per source and the excess is not recorded`, async () => {
    const limited = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
    registerRecordingRoutes(limited, { db, vault: fx.vault, linkSecret: fx.linkSecret, securityLog, rateLimitPerMinute: 3 });
    await limited.ready();
    try {
      const before = securityLog.stats.events;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await limited.inject({ method: 'GET', url: `/v1/recordings/${tenant.id}/${recordingId}?exp=1&sig=guess${i}` });
        statuses.push(res.statusCode);
      }
      assert.equal(statuses, [403, 403, 403, 429, 429]);
      assert.is(securityLog.stats.events - before, 3, 'only the requests that were looked at are recorded');
    } finally {
      await limited.close();
    }
  });

  test(`[${backend.name}] with the Postgres store, the rate limit is shared by every node on the database`, async () => {
    // Two HTTP servers on one database stand for two nodes behind a balancer: 2 + 2 requests from one source.
    const nodes = [0, 1].map(() => {
      const node = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
      registerRecordingRoutes(node, { db, vault: fx.vault, linkSecret: fx.linkSecret, securityLog, rateLimitPerMinute: 3, rateLimitStore: postgresRateLimitStore(db, `shared-${backend.name}`) });
      return node;
    });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const res = await nodes[i % 2]!.inject({ method: 'GET', url: `/v1/recordings/${tenant.id}/${recordingId}?exp=1&sig=shared${i}`, remoteAddress: '198.51.100.7' });
        statuses.push(res.statusCode);
      }
      assert.equal(statuses, [403, 403, 403, 429], 'the fourth request is over the limit of 3 although each node saw only two');
    } finally {
      for (const node of nodes) await node.close();
    }
  });

  test.after(async () => {
    await app.close();
    await securityLog.close();
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
