/**
 * The console as the server serves it: the page under a strict CSP (no inline
 * script, same-origin only) at every /console path, its assets built in
 * memory (gzip when asked, ETag), and the live calls feed (SSE): refused
 * without a credential; a snapshot then one event per change, only the
 * caller's tenant's calls, the other party masked; the stream ends once the
 * session is revoked. A browser that leaves while its credential is still
 * being checked leaves nothing behind (no subscription, no heartbeat); one
 * whose check ends after the server began closing is told 503 rather than
 * held open.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { sql } from 'drizzle-orm';
import { Registry } from 'prom-client';
import { createTenant, PostgresTenantKeyStore, type Database } from '../../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../../storage/vault/index.ts';
import { createUserWithSetup } from '../../../src/api/auth/accounts.ts';
import { DEFAULT_SETTINGS, manualClock, registerControlPlane, type ControlPlaneDeps } from '../../../src/api/index.ts';
import type { CallManager } from '../../../src/calls/index.ts';
import { CONSOLE_CSP, LiveCallFeed, maskParty, registerConsole } from '../../../src/console/index.ts';
import { createHttpServer } from '../../../src/http/server.ts';
import { createLogger } from '../../../src/log.ts';
import { PASSWORD } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';
import { sseReader } from '../../support/sse.ts';

class FakeSession extends EventEmitter {
  constructor(readonly tenantId: string, readonly callId: string, readonly dialog: { remoteUri: string }) { super(); }
  readonly agent = { id: '00000000-0000-4000-8000-000000000001', name: 'Front desk <b>' };
  readonly direction = 'inbound';
  /** CallSession's transport-agnostic name of the other end (a SIP session's dialog remote URI). */
  get remoteParty(): string { return this.dialog.remoteUri; }
}

test('maskParty keeps the last 4 digits of a number and only the first letter of a name', () => {
  assert.is(maskParty('sip:+15551234567@10.0.0.1:5060'), '+*******4567');
  assert.is(maskParty('sip:alice@example.com'), 'a***');
  assert.is(maskParty('"Alice" <sip:+15551234567@10.0.0.1:5060>;tag=abc'), '+*******4567', 'a name-addr: the user part only');
  assert.is(maskParty('<sip:sipp@127.0.0.1:5061>'), 's***', 'no digits of the address or port');
  assert.is(maskParty('tel:0612345678'), '******5678');
  assert.not.match(maskParty('sip:5551234567@192.168.1.1'), /192/);
});

const allBackends = await backends();
const [backend] = allBackends;
test('the page, its assets and the live calls feed', async () => {
  const db = await backend!.open();
  const calls = new EventEmitter();
  const feed = new LiveCallFeed(calls as unknown as Pick<CallManager, 'on' | 'off'>);
  const app = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
  const deps: ControlPlaneDeps = {
    db, logger: createLogger('silent'), clock: manualClock(new Date()), settings: DEFAULT_SETTINGS, sessionSecret: randomBytes(32),
    services: { keyRing: new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) }) },
  };
  await registerControlPlane(app, deps);
  registerConsole(app, { deps, feed, heartbeatMs: 200 });
  const streams: AbortController[] = [];
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

    for (const path of ['/console', '/console/calls', '/console/agents/anything']) {
      const res = await fetch(`${base}${path}`);
      assert.is(res.status, 200, path);
      assert.is(res.headers.get('content-security-policy'), CONSOLE_CSP);
      const html = await res.text();
      assert.not.match(html, /<script>|<script [^>]*>[^<]/, 'no inline script');
      assert.match(html, /<script type="module" src="\/console\/assets\/app.js"><\/script>/);
    }
    assert.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
    assert.not.match(CONSOLE_CSP, /unsafe-inline|unsafe-eval|https?:/);

    const js = await fetch(`${base}/console/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    assert.is(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    const etag = js.headers.get('etag')!;
    assert.ok(etag);
    assert.ok((await js.text()).length > 1000, 'the bundle (fetch decodes gzip)');
    assert.is((await fetch(`${base}/console/assets/app.js`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.is((await fetch(`${base}/console/assets/other.js`)).status, 404);
    const raw = await app.inject({ method: 'GET', url: '/console/assets/app.css', headers: { 'accept-encoding': 'gzip' } });
    assert.is(raw.headers['content-encoding'], 'gzip');
    assert.match(gunzipSync(raw.rawPayload).toString(), /font/);

    assert.is((await fetch(`${base}/console/api/live-calls`)).status, 401, 'no credential, no feed');

    const tenant = (await createTenant(db, { name: 'A' })).id;
    const otherTenant = (await createTenant(db, { name: 'B' })).id;
    const { user } = await createUserWithSetup(db, tenant, { email: 'viewer@example.com', role: 'viewer', password: PASSWORD, actor: 'test', now: deps.clock(), ttlMs: 3600_000 });
    const login = await fetch(`${base}/v1/auth/cookie-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: PASSWORD }) });
    assert.is(login.status, 200);
    const cookie = login.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(';'))).join('; ');
    const sessionId = ((await login.json()) as { sessionId: string }).sessionId;

    const before = new FakeSession(tenant, '10000000-0000-4000-8000-000000000001', { remoteUri: 'sip:+15551234567@127.0.0.1:5070' });
    calls.emit('call-started', before);
    const abort = new AbortController();
    streams.push(abort);
    const res = await fetch(`${base}/console/api/live-calls`, { headers: { cookie }, signal: abort.signal });
    assert.is(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const sse = sseReader(res.body!);
    await waitFor('the snapshot', () => sse.events.length >= 1, { timeoutMs: 20_000 });
    assert.is(sse.events[0]!.event, 'snapshot');
    const snapshot = sse.events[0]!.data as { id: string; party: string; state: string; turns: number; agentName: string }[];
    assert.is(snapshot.length, 1);
    assert.is(snapshot[0]!.party, '+*******4567', 'the caller is masked');
    assert.is(snapshot[0]!.agentName, 'Front desk <b>');
    assert.not.match(JSON.stringify(sse.events), /5551234567|127\.0\.0\.1/);

    calls.emit('call-started', new FakeSession(otherTenant, '20000000-0000-4000-8000-000000000002', { remoteUri: 'sip:999@x' }));
    before.emit('trace', {});
    before.emit('trace', {});
    calls.emit('call-ended', before, 'caller-hangup');
    await waitFor('the turn and end events', () => sse.events.length >= 4, { timeoutMs: 20_000 });
    const changes = sse.events.slice(1).map((e) => e.data as { id: string; turns: number; state: string; endReason: string | null });
    assert.ok(changes.every((c) => c.id === before.callId), "another tenant's call never reaches this feed");
    assert.equal(changes.map((c) => [c.turns, c.state]), [[1, 'active'], [2, 'active'], [2, 'ended']]);
    assert.is(changes[2]!.endReason, 'caller-hangup');

    // Revoking the session ends the stream at the next heartbeat.
    const csrf = /sa_csrf=([^;]+)/.exec(cookie)![1]!;
    const revoke = await fetch(`${base}/v1/me/sessions/${sessionId}`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf } });
    assert.is(revoke.status, 204);
    await waitFor('the feed to end', () => sse.ended(), { timeoutMs: 20_000 });
    assert.is(sse.events[sse.events.length - 1]!.event, 'end');
  } finally {
    for (const s of streams) s.abort();
    feed.close();
    await app.close();
    await backend!.cleanup();
  }
});


/** A feed that counts its open subscriptions (each one a stream's listener). */
class CountingFeed extends LiveCallFeed {
  open = 0;
  override subscribe(...args: Parameters<LiveCallFeed['subscribe']>): () => void {
    const unsubscribe = super.subscribe(...args);
    this.open += 1;
    let done = false;
    return () => { if (!done) { done = true; this.open -= 1; } unsubscribe(); };
  }
}

interface FeedServer {
  app: ReturnType<typeof createHttpServer>;
  base: string;
  feed: CountingFeed;
  /** A signed-in viewer's session cookie. */
  cookie: string;
  /** The feed requests that reached the server, and whether each one's client has gone. */
  seen: { closed: boolean }[];
  /** The server has begun closing (its preClose hooks run). */
  closing(): boolean;
}

/** The console on loopback over `db`, a viewer signed in; `logLine` receives the server's debug log. */
async function startFeedServer(db: Database, logLine: (line: string) => void = () => undefined): Promise<FeedServer> {
  const feed = new CountingFeed(new EventEmitter() as unknown as Pick<CallManager, 'on' | 'off'>);
  const app = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
  const deps: ControlPlaneDeps = {
    db, logger: createLogger('debug', { write: logLine }), clock: manualClock(new Date()), settings: DEFAULT_SETTINGS, sessionSecret: randomBytes(32),
    services: { keyRing: new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) }) },
  };
  await registerControlPlane(app, deps);
  registerConsole(app, { deps, feed, heartbeatMs: 100 });
  const seen: { closed: boolean }[] = [];
  app.addHook('onRequest', async (request) => {
    if (!request.url.startsWith('/console/api/live-calls')) return;
    const entry = { closed: false };
    seen.push(entry);
    request.raw.once('close', () => { entry.closed = true; });
  });
  let closing = false;
  app.addHook('preClose', async () => { closing = true; });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const tenant = (await createTenant(db, { name: 'A' })).id;
  const { user } = await createUserWithSetup(db, tenant, { email: 'viewer@example.com', role: 'viewer', password: PASSWORD, actor: 'test', now: deps.clock(), ttlMs: 3600_000 });
  const login = await fetch(`${base}/v1/auth/cookie-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: PASSWORD }) });
  assert.is(login.status, 200);
  const cookie = login.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(';'))).join('; ');
  return { app, base, feed, cookie, seen, closing: () => closing };
}

/** Holds the sessions table locked, so every credential check waits, until `release()`; `held` ends with it. */
async function lockSessions(db: Database): Promise<{ release: () => void; held: Promise<void> }> {
  let locked!: () => void;
  const isLocked = new Promise<void>((resolve) => { locked = resolve; });
  let release!: () => void;
  const released = new Promise<void>((resolve) => { release = resolve; });
  const held = db.owner.transaction(async (tx) => {
    await tx.execute(sql`LOCK TABLE sessions IN ACCESS EXCLUSIVE MODE`);
    locked();
    await released;
  });
  await Promise.race([isLocked, held]);
  return { release, held };
}

for (const each of allBackends) test(`a browser that leaves while its credential is checked leaves no subscription and no heartbeat behind (${each.name})`, async () => {
  const db = await each.open();
  const logLines: string[] = [];
  let server: FeedServer | undefined;
  let lock: Awaited<ReturnType<typeof lockSessions>> | undefined;
  try {
    server = await startFeedServer(db, (line) => logLines.push(line));
    const { base, cookie, feed, seen } = server;
    // The credential check waits on the lock while the browser goes away.
    lock = await lockSessions(db);
    const abort = new AbortController();
    const request = fetch(`${base}/console/api/live-calls`, { headers: { cookie }, signal: abort.signal }).catch(() => undefined);
    await waitFor('the feed request to reach the server', () => seen.length === 1, { timeoutMs: 20_000 });
    abort.abort();
    await request;
    await waitFor('the server to see the browser leave', () => seen[0]!.closed, { timeoutMs: 20_000 });
    lock.release();
    await lock.held;

    const noticed = (): boolean => logLines.some((l) => l.includes('the client left while its credential was checked'));
    await waitFor('the handler to finish with the departed browser', () => noticed() || feed.open > 0, { timeoutMs: 20_000 });
    assert.is(feed.open, 0, 'no subscription (nor heartbeat) for a stream nobody reads');
    assert.ok(noticed(), 'the departure is logged at debug');

    // A stream that stays works as before, and ends its subscription when it goes.
    const stay = new AbortController();
    const res = await fetch(`${base}/console/api/live-calls`, { headers: { cookie }, signal: stay.signal });
    assert.is(res.status, 200);
    const sse = sseReader(res.body!);
    await waitFor('the snapshot', () => sse.events.length >= 1, { timeoutMs: 20_000 });
    assert.is(feed.open, 1);
    stay.abort();
    await waitFor('the subscription to end with its stream', () => feed.open === 0, { timeoutMs: 20_000 });
  } finally {
    lock?.release();
    await lock?.held.catch(() => undefined);
    server?.feed.close();
    await server?.app.close();
    await each.cleanup();
  }
});

test('a feed whose credential check ends after the server began closing is refused, and the close completes', async () => {
  const db = await backend!.open();
  let server: FeedServer | undefined;
  let lock: Awaited<ReturnType<typeof lockSessions>> | undefined;
  let closed: Promise<void> | undefined;
  const client = new AbortController();
  try {
    server = await startFeedServer(db);
    const { app, base, cookie, feed, seen } = server;
    lock = await lockSessions(db);
    const response = fetch(`${base}/console/api/live-calls`, { headers: { cookie }, signal: client.signal });
    await waitFor('the feed request to reach the server', () => seen.length === 1, { timeoutMs: 20_000 });
    closed = app.close();
    await waitFor('the server to begin closing', () => server!.closing(), { timeoutMs: 20_000 });
    lock.release();
    await lock.held;
    const res = await response;
    assert.is(res.status, 503, 'refused: the server is closing');
    await res.arrayBuffer();
    await closed;
    assert.is(feed.open, 0);
  } finally {
    client.abort(); // a stream wrongly held open would keep the close waiting
    lock?.release();
    await lock?.held.catch(() => undefined);
    server?.feed.close();
    await (closed ?? server?.app.close());
    await backend!.cleanup();
  }
});

test.run();
