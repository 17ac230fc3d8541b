/**
 * Calls with their RTP in the media thread (the default): the echo works, a
 * full port range refuses the next call with 500 (the worker's allocator
 * error crosses back as an error), a crashed media thread ends every call
 * with a BYE ('media-failure') and the next call runs on a fresh worker, and
 * closing the last CallManager stops the thread. With mediaThread: false the
 * calls use in-thread RtpSessions.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CallManager } from '../../../src/calls/call-manager.ts';
import type { SipCallSession as CallSession } from '../../../src/calls/sip-call-session.ts';
import { createLogger } from '../../../src/log.ts';
import { MediaThread, RtpSession, ThreadedRtpSession } from '../../../media/rtp/index.ts';
import { SipCallError } from '../../../media/sip/index.ts';
import { addNumber, createAgent, createTenant, getCall, migrate, openDatabase, type Database } from '../../../storage/index.ts';
import { ownCall, type OwnCall } from '../../e2e/support/uac.ts';
import { receivedRms } from '../../e2e/support/energy.ts';
import { waitFor } from '../../support/poll.ts';

let db: Database;
let tenantId: string;
let manager: CallManager;
const started: CallSession[] = [];
const logged: Array<{ obj: unknown; msg: string }> = [];
const rtpBase = 30000 + 2 * Math.floor(Math.random() * 5000);

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** The tone comes back: voiced packets (the server's RTP never stops, so packets alone prove nothing). */
async function echoed(call: OwnCall): Promise<void> {
  const voiced = (): number => receivedRms(call.received).filter((p) => p.rms > 1000).length;
  const before = voiced();
  await call.sendTone(15);
  await waitFor('the echo', () => voiced() - before >= 5);
}

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'media-thread' });
  tenantId = tenant.id;
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: '4000', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  const logger = createLogger('silent');
  // Crash reports go to the logger the manager passes to the media thread.
  const spy = Object.assign(Object.create(logger) as typeof logger, {
    error: (obj: unknown, msg: string) => { logged.push({ obj, msg }); },
    child: () => spy,
  });
  manager = await CallManager.start({
    db, logger: spy, host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 10,
    rtpPorts: { minPort: rtpBase, maxPort: rtpBase + 3 }, // two calls at most
  });
  manager.on('call-started', (s) => started.push(s as CallSession));
});

test.after(async () => {
  await manager?.close();
  await db?.close();
});

test('calls run their RTP in the media thread; a full port range refuses the next call with 500', async () => {
  const a = await ownCall(manager.sipPorts.udp!, { number: '4000' });
  const b = await ownCall(manager.sipPorts.udp!, { number: '4000' });
  try {
    const sa = started[started.length - 2]!;
    assert.instance(sa.rtp, ThreadedRtpSession);
    assert.ok(sa.rtp.localPort >= rtpBase && sa.rtp.localPort <= rtpBase + 2);
    assert.ok(MediaThread.shared().running);
    await Promise.all([echoed(a), echoed(b)]);
    try {
      await ownCall(manager.sipPorts.udp!, { number: '4000' });
      assert.unreachable('a third call with two port pairs');
    } catch (error) {
      assert.instance(error, SipCallError);
      assert.is((error as SipCallError).response?.status, 500);
    }
  } finally {
    await a.close();
    await b.close();
  }
  await waitFor('calls ended', () => manager.activeCalls() === 0);
  assert.is(MediaThread.shared().sessionCount, 0);
});

test('a crashed media thread ends the calls with BYE; the next call gets a fresh worker', async () => {
  const call = await ownCall(manager.sipPorts.udp!, { number: '4000' });
  const session = started[started.length - 1]!;
  await echoed(call);
  const bye = new Promise<boolean>((resolve) => {
    call.dialog.once('bye', () => resolve(true));
    setTimeout(() => resolve(false), 5000);
  });
  const crashesBefore = MediaThread.shared().stats.crashes;
  logged.length = 0;
  MediaThread.shared().simulateCrash();
  assert.ok(await bye, 'the server hung up');
  assert.is(await session.untilClosed(), 'media-failure');
  const row = await getCall(db, tenantId, session.callId);
  assert.is(row?.endReason, 'media-failure');
  assert.is(MediaThread.shared().stats.crashes, crashesBefore + 1);
  assert.is(logged.filter((l) => /media thread died/.test(l.msg)).length, 1, 'the crash is logged once');
  await call.close();
  // The same ports, a new worker.
  const again = await ownCall(manager.sipPorts.udp!, { number: '4000' });
  try {
    await echoed(again);
    assert.ok(MediaThread.shared().running);
  } finally {
    await again.close();
  }
  await waitFor('call ended', () => manager.activeCalls() === 0);
});

test('mediaThread: false runs the calls in-thread', async () => {
  const local = await CallManager.start({ db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 10, mediaThread: false });
  const mine: CallSession[] = [];
  local.on('call-started', (s) => mine.push(s as CallSession));
  try {
    const call = await ownCall(local.sipPorts.udp!, { number: '4000' });
    try {
      assert.instance(mine[0]!.rtp, RtpSession);
      await echoed(call);
    } finally {
      await call.close();
    }
  } finally {
    await local.close();
  }
});

test('closing the last CallManager stops the media thread', async () => {
  assert.ok(MediaThread.shared().running || MediaThread.shared().sessionCount === 0);
  await manager.close();
  assert.not.ok(MediaThread.shared().running);
});

test.run();
