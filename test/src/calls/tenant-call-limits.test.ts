/**
 * The tenant's own concurrent call limit at CallManager's one admission point, for the ways in other than
 * an inbound SIP call (test/e2e/tenant-call-limits.test.ts drives those): WebRTC and carrier media
 * stream calls are refused with 'call-limit' at the tenant's limit while another tenant's are answered,
 * an outbound call is refused before it dials (CallLimitError naming the limit), a raised limit takes
 * effect for the next call, and every refusal is told once ('call-refused') and counted by way in.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import type { AudioFrame, DtmfFrame } from '../../../media/audio/frames.ts';
import type { EndReason, PlayoutStart } from '../../../pipeline/transport.ts';
import { CallLimitError, CallManager, TransportCallError } from '../../../src/calls/call-manager.ts';
import type { CallRefusal } from '../../../src/calls/call-limit.ts';
import { registerCallMetrics } from '../../../src/calls/call-metrics.ts';
import type { CallSession } from '../../../src/calls/call-session.ts';
import { SessionTransport, type CallTransportKind } from '../../../src/calls/session-transport.ts';
import { setCallingPolicy } from '../../../src/compliance/index.ts';
import { createLogger } from '../../../src/log.ts';
import { setTenantCallLimit } from '../../../src/resources/tenant.ts';
import { addNumber, createAgent, createTenant, listCalls, migrate, openDatabase, type Database } from '../../../storage/index.ts';
import { waitFor } from '../../support/poll.ts';

/** A connected transport that says nothing: all admission needs. */
class SilentTransport extends SessionTransport {
  readonly sampleRate = 16_000;
  constructor(readonly kind: Exclude<CallTransportKind, 'sip'>) { super(); }
  onFrame(_listener: (frame: AudioFrame | DtmfFrame) => void): () => void { return () => undefined; }
  play(_pcm: Int16Array): void { /* nobody listens */ }
  clearPlayback(): number { return 0; }
  queuedMs(): number { return 0; }
  onPlayoutStart(_listener: (event: PlayoutStart) => void): () => void { return () => undefined; }
  sendHangup(): Promise<void> { return Promise.resolve(); }
  close(_reason: EndReason): Promise<void> { return Promise.resolve(); }
}

const CEILING = 10;
let db: Database;
let manager: CallManager;
const registry = new Registry();
const refusals: CallRefusal[] = [];
const tenants = { one: { id: '', number: '+14152003001' }, two: { id: '', number: '+14152003002' } };
const sessions: CallSession[] = [];

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  for (const [key, limit] of [['one', 1], ['two', 2]] as const) {
    const tenant = await createTenant(db, { name: `limit-${limit}`, maxConcurrentCalls: limit });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: tenants[key].number, agentId: agent.id, allowedCidrs: [] });
    await setCallingPolicy(db, tenant.id, { windowStart: '00:00', windowEnd: '24:00', requireConsent: false });
    tenants[key].id = tenant.id;
  }
  manager = await CallManager.start({ db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: CEILING, mediaThread: false });
  registerCallMetrics(registry, manager);
  manager.on('call-refused', (r) => refusals.push(r));
});

test.after(async () => {
  await manager?.close();
  await db?.close();
});

async function call(key: keyof typeof tenants, kind: Exclude<CallTransportKind, 'sip'>): Promise<CallSession> {
  const { id, number } = tenants[key];
  const session = await manager.acceptTransportCall({ kind, transport: new SilentTransport(kind), tenantId: id, calledNumber: number, from: `${kind}:caller`, to: `tel:${number}` });
  sessions.push(session);
  return session;
}

async function refusedCode(key: keyof typeof tenants, kind: Exclude<CallTransportKind, 'sip'>): Promise<string> {
  try {
    await call(key, kind);
    return 'answered';
  } catch (error) {
    assert.instance(error, TransportCallError);
    return (error as TransportCallError).code;
  }
}

async function hangUpAll(): Promise<void> {
  for (const s of sessions.splice(0)) await s.end('agent-hangup', true);
  await waitFor('every call to be over', () => manager.activeCalls() === 0, { timeoutMs: 30_000 });
}

async function counted(kind: CallTransportKind, direction: 'inbound' | 'outbound'): Promise<number> {
  const metric = await registry.getSingleMetric('smartalex_sip_calls_refused_total')!.get();
  return metric.values.find((v) => v.labels.reason === 'call-limit' && v.labels.kind === kind && v.labels.direction === direction)?.value ?? 0;
}

test('WebRTC and media-stream calls: tenant one (limit 1) is refused its second while tenant two (limit 2) gets its second', async () => {
  await call('one', 'webrtc');
  assert.is(await refusedCode('one', 'ws-stream'), 'call-limit');
  assert.is(await refusedCode('one', 'webrtc'), 'call-limit');
  await call('two', 'ws-stream');
  await call('two', 'webrtc');
  assert.is(manager.activeCalls(tenants.two.id), 2);
  assert.is(await refusedCode('two', 'webrtc'), 'call-limit');
  assert.equal(refusals.map((r) => [r.tenantId === tenants.one.id ? 'one' : 'two', r.kind, r.limit]), [['one', 'ws-stream', 1], ['one', 'webrtc', 1], ['two', 'webrtc', 2]]);
  assert.is(await counted('webrtc', 'inbound'), 2);
  assert.is(await counted('ws-stream', 'inbound'), 1);
  await hangUpAll();
});

test('an outbound call at the limit is refused before it dials, naming the limit in force', async () => {
  await call('one', 'webrtc');
  const rowsBefore = (await listCalls(db, tenants.one.id)).length;
  try {
    await manager.placeCall({ tenantId: tenants.one.id, agent: 'echo', number: '+14155550199', via: 'sip:127.0.0.1:9', timeoutMs: 30_000 });
    assert.unreachable('tenant one is at its limit');
  } catch (error) {
    assert.instance(error, CallLimitError);
    assert.is((error as CallLimitError).limit, 1);
    assert.not.match((error as Error).message, /4155550199/);
  }
  assert.is((await listCalls(db, tenants.one.id)).length, rowsBefore, 'refused before its call row (and so before any INVITE)');
  assert.is(await counted('sip', 'outbound'), 1);
  await hangUpAll();
});

test('a limit raised through the resource layer applies to the next call at once', async () => {
  await call('one', 'webrtc');
  assert.is(await refusedCode('one', 'webrtc'), 'call-limit', 'read (and cached) at 1');
  const settings = await setTenantCallLimit(db, tenants.one.id, 3, { actor: 'test' });
  assert.is(settings.maxConcurrentCalls, 3);
  await call('one', 'webrtc');
  await call('one', 'ws-stream');
  assert.is(await refusedCode('one', 'webrtc'), 'call-limit', 'held at 3');
  assert.is(refusals.at(-1)?.limit, 3);
  await hangUpAll();
});

test.run();
