/**
 * CallManager.acceptTransportCall: a call over a PCM-level transport (no SIP,
 * no RTP) gets the same set-up as a SIP call: routed by the called number to
 * the tenant's agent, held to the tenant's call limit, a call row from start
 * to end reason, the taps (the recorder's hook) on both legs at the
 * transport's rate, the agent's runner, DTMF as a redacted call event, the
 * far end's hang-up, ours, and the drain.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioFrame, DtmfFrame } from '../../../media/audio/frames.ts';
import { CallManager, TransportCallError } from '../../../src/calls/call-manager.ts';
import type { CallInfo } from '../../../src/calls/call-manager.ts';
import type { CallSession } from '../../../src/calls/call-session.ts';
import { SessionTransport } from '../../../src/calls/session-transport.ts';
import { createLogger } from '../../../src/log.ts';
import type { EndReason, PlayoutStart } from '../../../pipeline/transport.ts';
import { addNumber, createAgent, createTenant, getCall, listCallEvents, migrate, openDatabase, type Database } from '../../../storage/index.ts';
import { waitFor } from '../../support/poll.ts';

/** A wideband PCM transport driven by the test: frames in by hand, played audio "leaves" at once. */
class PcmTestTransport extends SessionTransport {
  readonly kind = 'webrtc' as const;
  readonly sampleRate = 16_000;
  readonly sent: Int16Array[] = [];
  hangupsSent = 0;
  closedWith: EndReason | undefined;
  private readonly listeners = new Set<(frame: AudioFrame | DtmfFrame) => void>();

  /** The caller says one 20 ms frame. */
  speak(level: number): void {
    const frame: AudioFrame = { kind: 'audio', pcm: new Int16Array(320).fill(level), sampleRate: this.sampleRate, timeMs: performance.now() };
    this.tapCaller(frame);
    for (const l of this.listeners) l(frame);
  }

  press(digit: string): void {
    for (const l of this.listeners) l({ kind: 'dtmf', digit, durationMs: 100, timeMs: performance.now() });
  }

  farEndHangsUp(): void {
    this.remoteEnded('remote-bye');
  }

  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  play(pcm: Int16Array): void {
    if (this.ended) return;
    this.sent.push(pcm);
    this.tapAgent({ kind: 'audio', pcm, sampleRate: this.sampleRate, timeMs: performance.now() });
  }

  clearPlayback(): number { return 0; }
  queuedMs(): number { return 0; }
  onPlayoutStart(_listener: (event: PlayoutStart) => void): () => void { return () => undefined; }
  sendHangup(): Promise<void> { this.hangupsSent++; return Promise.resolve(); }
  close(reason: EndReason): Promise<void> { this.closedWith = reason; this.listeners.clear(); return Promise.resolve(); }
}

let db: Database;
let manager: CallManager;
let tenantId: string;
const NUMBER = '+14152001000';
const taps: Array<{ info: CallInfo; caller: number; agent: number; ended?: EndReason }> = [];

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'transports' });
  tenantId = tenant.id;
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: NUMBER, agentId: agent.id, allowedCidrs: [] });
  manager = await CallManager.start({
    db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 1, mediaThread: false,
    taps: [(info) => {
      const seen: (typeof taps)[number] = { info, caller: 0, agent: 0 };
      taps.push(seen);
      return { onCallerFrame: () => { seen.caller++; }, onAgentFrame: () => { seen.agent++; }, onEnd: (r) => { seen.ended = r; } };
    }],
  });
});

test.after(async () => {
  await manager?.close();
  await db?.close();
});

function accept(transport: PcmTestTransport): Promise<CallSession> {
  return manager.acceptTransportCall({ kind: 'webrtc', transport, tenantId, calledNumber: NUMBER, from: 'webrtc:caller', to: `tel:${NUMBER}`, externalCallId: 'ext-1' });
}

test('a transport call is routed, recorded on both legs at its own rate, and ends on the far end hanging up', async () => {
  const transport = new PcmTestTransport();
  const ended = new Promise<EndReason>((resolve) => manager.once('call-ended', (_s, reason) => resolve(reason)));
  const session = await accept(transport);
  assert.is(session.kind, 'webrtc');
  assert.is(session.remoteParty, 'webrtc:caller');
  assert.is(manager.activeCalls(tenantId), 1);
  const tap = taps.at(-1)!;
  assert.is(tap.info.kind, 'webrtc');
  assert.is(tap.info.sampleRate, 16_000);
  assert.is(tap.info.callId, session.callId);
  // The echo agent plays the caller back: the tap hears both legs.
  for (let i = 0; i < 5; i++) transport.speak(1000);
  await waitFor('the echo to be played', () => transport.sent.length === 5, { timeoutMs: 20_000 });
  assert.is(tap.caller, 5);
  assert.is(tap.agent, 5);
  transport.press('1');
  transport.press('2');
  const row = await getCall(db, tenantId, session.callId);
  assert.is(row?.toUri, `tel:${NUMBER}`);
  assert.is(row?.sipCallId, 'ext-1');
  assert.ok(row?.numberId, 'the number the call came in on');
  transport.farEndHangsUp();
  assert.is(await ended, 'remote-bye');
  assert.is(transport.closedWith, 'remote-bye');
  assert.is(transport.hangupsSent, 0, 'nothing to tell a far end that hung up');
  assert.is(tap.ended, 'remote-bye');
  assert.is(manager.activeCalls(tenantId), 0);
  const done = await getCall(db, tenantId, session.callId);
  assert.is(done?.endReason, 'remote-bye');
  assert.ok(done?.answeredAt, 'answered');
  const events = await listCallEvents(db, tenantId, session.callId);
  assert.equal(events.find((e) => e.type === 'transport')?.data, { kind: 'webrtc' });
  const keys = events.find((e) => e.type === 'dtmf')?.data as { keys: string; count: number } | undefined;
  assert.is(keys?.keys, '12');
  assert.is(keys?.count, 2);
});

test('the tenant call limit holds across ways in; our hang-up tells the far end', async () => {
  const first = new PcmTestTransport();
  const session = await accept(first);
  try {
    await accept(new PcmTestTransport());
    assert.unreachable('the second call was over the limit');
  } catch (error) {
    assert.instance(error, TransportCallError);
    assert.is((error as TransportCallError).code, 'call-limit');
  }
  await first.hangup('agent-hangup');
  await session.untilClosed();
  assert.is(first.hangupsSent, 1);
  assert.is((await getCall(db, tenantId, session.callId))?.endReason, 'agent-hangup');
  assert.is(manager.activeCalls(tenantId), 0);
});

test('an unknown number is refused before anything is held', async () => {
  try {
    await manager.acceptTransportCall({ kind: 'ws-stream', transport: new PcmTestTransport(), tenantId, calledNumber: '+14159999999', from: 'a', to: 'b' });
    assert.unreachable('no agent for that number');
  } catch (error) {
    assert.is((error as TransportCallError).code, 'no-agent');
  }
  assert.is(manager.activeCalls(tenantId), 0);
});

test('a far end that hangs up before the session exists ends the call as soon as it does', async () => {
  const transport = new PcmTestTransport();
  transport.farEndHangsUp();
  const session = await accept(transport);
  assert.is(await session.untilClosed(), 'remote-bye');
  assert.is(manager.activeCalls(tenantId), 0);
});

test('drain ends a transport call that cannot wrap up, and refuses new ones', async () => {
  const transport = new PcmTestTransport();
  const session = await accept(transport);
  const report = await manager.drain({ deadlineMs: 0, goodbyeMs: 30_000 });
  assert.equal(report, { finished: 0, wrappedUp: 1, forced: 0 });
  assert.is(await session.untilClosed(), 'node-drain');
  assert.is(transport.hangupsSent, 1);
  try {
    await accept(new PcmTestTransport());
    assert.unreachable('draining');
  } catch (error) {
    assert.is((error as TransportCallError).code, 'draining');
  }
});

test.run();
