/**
 * Call set-up gives back everything it took when any step fails: each step
 * of the one set-up path (CallManager `setupProbe`) is made to throw in turn,
 * inbound and outbound, with the RTP in the media thread and in this thread,
 * and afterwards no tenant call slot is held, no RTP leg (port, media-thread
 * session) is open, no call row is left unfinished, and a call that was
 * already answered when its set-up failed got a BYE. A refused outbound
 * call gives everything back too, its row ending 'rejected' with the status.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { CallManager, type SetupStep } from '../../../src/calls/index.ts';
import { createLogger } from '../../../src/log.ts';
import { grantConsent, setCallingPolicy } from '../../../src/compliance/index.ts';
import { SipCallError, SipEndpoint, type Dialog } from '../../../media/sip/index.ts';
import { MediaThread } from '../../../media/rtp/index.ts';
import { addNumber, createAgent, createTenant, listCalls, migrate, openDatabase, type Database } from '../../../storage/index.ts';
import { ownCall } from '../../e2e/support/uac.ts';
import { waitFor } from '../../support/poll.ts';

const INBOUND_STEPS: SetupStep[] = ['reserve', 'record', 'ring', 'rtp', 'connect', 'session'];
const OUTBOUND_STEPS: SetupStep[] = ['reserve', 'record', 'rtp', 'connect', 'session'];

let db: Database;
let tenantId: string;
/** The step the probe fails; undefined: none. */
let failAt: SetupStep | undefined;
const probe = (step: SetupStep): void => {
  if (step === failAt) throw new Error(`set-up step ${step} failed (test)`);
};

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'setup-leaks' });
  tenantId = tenant.id;
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: '+14152105000', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  // The outbound policy lets the calls through: a number to present, consent for the callee, any hour.
  await addNumber(db, tenant.id, { number: '+14152100000', agentId: agent.id, allowedCidrs: [] });
  await grantConsent(db, tenant.id, '+14155551234', { source: 'setup-leaks test' });
  await setCallingPolicy(db, tenant.id, { windowStart: '00:00', windowEnd: '24:00' });
});

test.after(async () => {
  await db?.close();
});

async function startManager(mediaThread: boolean): Promise<CallManager> {
  const base = 40000 + 2 * Math.floor(Math.random() * 4000);
  return CallManager.start({
    db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 2,
    mediaThread, ringMs: 1, setupProbe: probe,
    // In-thread legs take ports from this range (the allocator counts them); the media thread's come from its own.
    rtpPorts: { minPort: base, maxPort: base + 99 },
  });
}

/** Nothing held: no call slot, no RTP leg, every call row finished. */
async function assertNothingHeld(manager: CallManager, what: string): Promise<void> {
  await waitFor(`${what}: the call slot and the RTP leg given back`, () => manager.activeCalls(tenantId) === 0 && manager.openRtpLegs === 0);
  if (manager.openRtpLegs === 0 && MediaThread.shared().running) assert.is(MediaThread.shared().sessionCount, 0, `${what}: no media-thread session`);
  await waitFor(`${what}: every call row finished`, async () => (await listCalls(db, tenantId)).every((c) => c.endedAt !== null));
}

async function runInbound(mediaThread: boolean): Promise<void> {
  const manager = await startManager(mediaThread);
  try {
    for (const step of INBOUND_STEPS) {
      failAt = step;
      const what = `inbound, ${mediaThread ? 'media thread' : 'in-thread'}, failing at ${step}`;
      const before = (await listCalls(db, tenantId)).length;
      let dialog: Dialog | undefined;
      let close: (() => Promise<void>) | undefined;
      try {
        const call = await ownCall(manager.sipPorts.udp!, { number: '+14152105000' });
        dialog = call.dialog;
        close = call.close;
      } catch (error) {
        assert.instance(error, SipCallError, what);
        assert.is((error as SipCallError).status, 500, what);
      }
      if (step === 'session') {
        // The INVITE was answered before the failure: the server hangs up with a BYE.
        assert.ok(dialog, `${what}: answered`);
        await waitFor(`${what}: the BYE`, () => dialog!.state === 'terminated');
      } else assert.is(dialog, undefined, `${what}: refused`);
      await close?.();
      await assertNothingHeld(manager, what);
      const rows = await listCalls(db, tenantId);
      if (step === 'reserve' || step === 'record') assert.is(rows.length, before, `${what}: no row`);
      else {
        assert.is(rows.length, before + 1, `${what}: one row`);
        assert.is(rows[0]!.endReason, 'setup-failed', what);
      }
    }
    // With nothing failing, the same manager still takes a call (no slot or port went missing).
    failAt = undefined;
    const call = await ownCall(manager.sipPorts.udp!, { number: '+14152105000' });
    await waitFor('the call to be up', () => manager.activeCalls(tenantId) === 1);
    await call.close();
  } finally {
    failAt = undefined;
    await manager.close();
  }
}

test('inbound: a failure at any set-up step (media thread) leaks nothing', () => runInbound(true));
test('inbound: a failure at any set-up step (in-thread RTP) leaks nothing', () => runInbound(false));

test('outbound: a failure at any set-up step leaks nothing; an answered call gets a BYE', async () => {
  const manager = await startManager(true);
  // The callee: answers every INVITE with a PCMU answer.
  const carrier = await SipEndpoint.create({ host: '127.0.0.1', udpPort: 0, tcpPort: null, guard: false });
  const media = createSocket('udp4');
  await new Promise<void>((r) => media.bind(0, '127.0.0.1', () => r()));
  const answered: Dialog[] = [];
  let busy = false;
  carrier.onInvite((call) => {
    if (busy) return call.reject(486, 'Busy Here');
    const sdp = ['v=0', 'o=callee 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', `m=audio ${media.address().port} RTP/AVP 0`, 'a=rtpmap:0 PCMU/8000', 'a=sendrecv', ''].join('\r\n');
    answered.push(call.accept(sdp));
  });
  try {
    for (const step of OUTBOUND_STEPS) {
      failAt = step;
      const what = `outbound, failing at ${step}`;
      const before = (await listCalls(db, tenantId)).length;
      const answeredBefore = answered.length;
      const placed = await manager.placeCall({ tenantId, agent: 'echo', number: '+14155551234', via: `sip:127.0.0.1:${carrier.ports.udp}` })
        .then(() => 'answered', (error: unknown) => (error as Error).message);
      assert.match(placed, `set-up step ${step} failed`, what);
      if (step === 'session') {
        assert.is(answered.length, answeredBefore + 1, `${what}: the callee answered`);
        await waitFor(`${what}: the BYE to the callee`, () => answered.at(-1)!.state === 'terminated');
      } else assert.is(answered.length, answeredBefore, `${what}: nothing dialled`);
      await assertNothingHeld(manager, what);
      const rows = await listCalls(db, tenantId);
      if (step === 'reserve' || step === 'record') assert.is(rows.length, before, `${what}: no row`);
      else assert.is(rows[0]!.endReason, 'setup-failed', what);
    }
    // A callee that refuses: the same give-back, and the row says how it ended.
    failAt = undefined;
    busy = true;
    const refused = await manager.placeCall({ tenantId, agent: 'echo', number: '+14155551234', via: `sip:127.0.0.1:${carrier.ports.udp}` })
      .then(() => undefined, (error: unknown) => error);
    assert.instance(refused, SipCallError);
    await assertNothingHeld(manager, 'outbound, refused with 486');
    const [row] = await listCalls(db, tenantId);
    assert.is(row!.endReason, 'rejected');
    assert.is(row!.failure, 'sip:486');
  } finally {
    failAt = undefined;
    media.close();
    await carrier.close();
    await manager.close();
  }
});

test.run();
