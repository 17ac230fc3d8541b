/**
 * Calls through the running server with SIPp as the carrier: OPTIONS, PCMU
 * and PCMA calls with audio from capture files, hold and resume, RFC 4733
 * DTMF; and with the project's own UAC where SIPp cannot look: the server's
 * RTP (pacing, sequence, timestamps, SSRC, marker), BYE from the server, REFER.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { hasCommand, needExternal } from '../support/external.ts';
import { createAgent, addNumber, listCalls, listCallEvents } from '../../storage/index.ts';
import type { SipCallSession as CallSession } from '../../src/calls/index.ts';
import { describeSipp, runSipp, sleep, startTestServer, type TestServer } from './support/harness.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { ownCall } from './support/uac.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the SIP call end-to-end tests');
let t: TestServer;
let target = '';
const started: CallSession[] = [];

test.before(async () => {
  if (!run) return;
  t = await startTestServer();
  target = `127.0.0.1:${t.server.sipPort}`;
  t.server.calls.on('call-started', (s) => started.push(s as CallSession));
});
test.after(async () => { if (run) await t.close(); });

async function lastCall() {
  return waitForValue('the last call to be ended', async () => {
    const calls = await listCalls(t.db, t.tenantId);
    const c = calls[0];
    return c && c.state === 'ended' ? c : undefined;
  });
}

if (run) {
  test('OPTIONS is answered 200 with Allow and Accept', async () => {
    const r = await runSipp(target, 'options.xml');
    assert.is(r.code, 0, describeSipp(r));
  });

  for (const codec of ['pcmu', 'pcma'] as const) {
    test(`a ${codec.toUpperCase()} call plays a capture file, is echoed, and the carrier's BYE ends it`, async () => {
      const before = started.length;
      const r = await runSipp(target, `uac-call-${codec}.xml`);
      assert.is(r.code, 0, describeSipp(r));
      const session = started[before]!;
      assert.ok(session, 'the call reached the call manager');
      const stats = session.rtp.stats;
      // 27384 bytes of speech = 171 packets, all sent before the BYE (3.8 s); allow for the ones sent before our socket
      // latched. (With the BYE at 3.0 s, 150 was the count at the BYE itself: a busy machine fell short by one.)
      assert.ok(stats.packetsIn >= 150, `server received ${stats.packetsIn} RTP packets`);
      assert.ok(stats.packetsOut >= 100, `server echoed ${stats.packetsOut} packets`);
      assert.is(stats.dropped['unknown-pt'], 0);
      const call = await lastCall();
      assert.is(call.direction, 'inbound');
      assert.is(call.endReason, 'remote-bye');
      assert.ok(call.answeredAt && call.endedAt && call.endedAt >= call.answeredAt);
      assert.match(call.toUri, /^sip:2000@/);
      const events = await listCallEvents(t.db, t.tenantId, call.id);
      assert.equal(events.map((e) => (e.data as { state?: string }).state).filter(Boolean), ['ringing', 'answered', 'ended']);
    });
  }

  test('re-INVITE puts the call on hold (a=sendonly -> recvonly) and resumes it', async () => {
    const before = started.length;
    const r = await runSipp(target, 'uac-hold.xml');
    assert.is(r.code, 0, describeSipp(r));
    assert.ok(started[before]);
    const call = await lastCall();
    const types = (await listCallEvents(t.db, t.tenantId, call.id)).map((e) => e.type);
    assert.ok(types.includes('hold') && types.includes('resume'), types.join(','));
    assert.ok(types.indexOf('hold') < types.indexOf('resume'));
  });

  test('RFC 4733 digits from the carrier are recorded as one call event per run of keys', async () => {
    const r = await runSipp(target, 'uac-dtmf.xml');
    assert.is(r.code, 0, describeSipp(r));
    const call = await lastCall();
    const runs = (await listCallEvents(t.db, t.tenantId, call.id)).filter((e) => e.type === 'dtmf').map((e) => e.data as { keys: string; count: number; endedBy: string });
    // two keys a second apart are one run (3 s inter-digit pause), ended by the hang-up; a two-key menu choice stays
    assert.is(runs.length, 1, JSON.stringify(runs));
    assert.equal([runs[0]!.keys, runs[0]!.count], ['19', 2]);
    assert.ok(['flush', 'timeout'].includes(runs[0]!.endedBy), runs[0]!.endedBy);
  });

  test("the server's RTP: one SSRC, seq +1, timestamp +160 (paced by the RTP clock), marker on the first packet", async () => {
    const call = await ownCall(t.server.sipPort);
    try {
      await call.sendTone(60);
      await waitFor('50 packets from the server', () => call.received.filter((p) => p.pt === 0).length >= 50);
      const pkts = call.received.filter((p) => p.pt === 0);
      assert.ok(pkts.length >= 50, `got ${pkts.length} packets`);
      assert.is(new Set(pkts.map((p) => p.ssrc)).size, 1);
      assert.ok(pkts[0]!.marker, 'marker bit on the first packet of the talkspurt');
      for (let i = 1; i < pkts.length; i++) {
        assert.is((pkts[i]!.seq - pkts[i - 1]!.seq + 65536) % 65536, 1, `seq step at ${i}`);
        // Pacing as the receiver sees it, on the RTP clock (no wall-clock timing here: the machine is
        // shared): every packet is exactly one 20 ms frame on. After an event-loop stall the missed
        // frames are sent late in a burst with these same timestamps; only a stall longer than the
        // catch-up bound leaves a whole-frame gap, and then the packet after it carries the marker bit.
        const step = (pkts[i]!.ts - pkts[i - 1]!.ts + 2 ** 32) % 2 ** 32;
        if (step !== 160) {
          assert.ok(step > 160 && step % 160 === 0, `timestamp step ${step} at ${i}`);
          assert.ok(pkts[i]!.marker, `the packet after a ${step / 160 - 1}-frame gap is marked (at ${i})`);
        }
      }
    } finally {
      await call.close();
    }
    const rec = await lastCall();
    assert.is(rec.endReason, 'remote-bye');
  });

  test('the server hangs up with BYE (agent hang-up) and the caller sees it', async () => {
    t.server.calls.setRunner('greeting', async (c) => { await sleep(300); await c.transport.hangup('agent-hangup'); });
    const agent = await createAgent(t.db, t.tenantId, { name: 'hangs-up', mode: 'greeting', greeting: 'x' });
    await addNumber(t.db, t.tenantId, { number: '2001', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    const call = await ownCall(t.server.sipPort, { number: '2001' });
    const bye = await new Promise<boolean>((resolve) => {
      call.dialog.once('bye', () => resolve(true));
      setTimeout(() => resolve(false), 3000);
    });
    await call.close();
    assert.ok(bye, 'BYE from the server');
    const rec = await lastCall();
    assert.is(rec.endReason, 'agent-hangup');
  });

  test('transfer sends REFER to the target at the carrier and ends the call on a 200 sipfrag', async () => {
    let referTo = '';
    let result = '';
    t.server.calls.setRunner('greeting', async (c) => {
      try { await c.transport.transfer('3000'); result = 'ok'; } catch (e) { result = String(e); }
    });
    const call = await ownCall(t.server.sipPort, { number: '2001' });
    call.dialog.on('refer', (refer) => { referTo = refer.target; void refer.notify(200, 'OK'); });
    const ended = await new Promise<boolean>((resolve) => { call.dialog.once('bye', () => resolve(true)); setTimeout(() => resolve(false), 4000); });
    await call.close();
    assert.ok(ended, 'the server hung up after the transfer');
    // The BYE may reach us before the runner's await of transfer() resumes.
    await waitFor('the transfer result', () => result !== '');
    assert.is(result, 'ok');
    assert.match(referTo, new RegExp(`^sip:3000@127\\.0\\.0\\.1:${call.endpoint.ports.udp}$`));
    const rec = await lastCall();
    assert.is(rec.endReason, 'transferred');
  });

  test('a refused transfer rejects with the carrier status and the call goes on', async () => {
    let result = '';
    t.server.calls.setRunner('greeting', async (c) => {
      try { await c.transport.transfer('sip:3001@127.0.0.1'); result = 'ok'; } catch (e) { result = (e as Error).message; }
    });
    const call = await ownCall(t.server.sipPort, { number: '2001' });
    call.dialog.on('refer', (refer) => { void refer.notify(486, 'Busy Here'); });
    await waitFor('the transfer result', () => result !== '', { timeoutMs: 4000 });
    assert.match(result, /486/);
    assert.is(call.dialog.state, 'confirmed');
    await call.close();
  });
}

test.run();
