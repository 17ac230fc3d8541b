/**
 * A call's RTP through the call code, with the media thread (the default) and
 * with in-thread sessions.
 *
 * RTP bleed (issue 11): a caller whose SDP
 * says 127.0.0.1 and a host at 127.0.0.3 spraying the call's RTP port first.
 * The agent (echo) still talks to 127.0.0.1, 127.0.0.3 receives nothing, and
 * the sprayed audio reaches neither the conversation nor the recorder's tap;
 * the drop count lands on the call record. A NAT'd caller (same address,
 * another port) still latches, and a hold/resume re-INVITE keeps the latch.
 *
 * Continuous RTP (issue 22): while the agent is silent the caller keeps
 * receiving packets, silence frames in the codec, or CN SIDs when its offer
 * had CN; counted over a polled window.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { CallManager } from '../../../src/calls/call-manager.ts';
import type { SipCallSession as CallSession } from '../../../src/calls/sip-call-session.ts';
import { createLogger } from '../../../src/log.ts';
import { MediaThread, serializeRtp } from '../../../media/rtp/index.ts';
import { encodeG711 } from '../../../media/audio/index.ts';
import { addNumber, createAgent, createTenant, listCallEvents, migrate, openDatabase, type Database } from '../../../storage/index.ts';
import { ownCall, sdpOffer, type OwnCall } from '../../e2e/support/uac.ts';
import { frameRms, receivedRms } from '../../e2e/support/energy.ts';
import { waitFor } from '../../support/poll.ts';

const VOICED_RMS = 1000;
let db: Database;
let tenantId: string;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


interface Sender { socket: Socket; received: Buffer[]; tone(to: { address: string; port: number }, frames: number): Promise<void>; close(): void }

/** A bare RTP socket at `address` that can send a 440 Hz PCMU tone and records whatever reaches it. */
async function sender(address: string, ssrc: number): Promise<Sender> {
  const socket = createSocket('udp4');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  let seq = 0;
  return {
    socket, received,
    async tone(to, frames) {
      const pcm = new Int16Array(160);
      for (let n = 0; n < frames; n++) {
        for (let i = 0; i < 160; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * 160 + i)) / 8000));
        const payload = Buffer.alloc(160);
        encodeG711('mulaw', pcm, payload);
        socket.send(serializeRtp({ payloadType: 0, sequenceNumber: seq++ & 0xffff, timestamp: seq * 160, ssrc, marker: n === 0, payload }), to.port, to.address);
        await sleep(20);
      }
    },
    close: () => socket.close(),
  };
}

const voiced = (call: OwnCall): number => receivedRms(call.received).filter((r) => r.rms > VOICED_RMS).length;

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'rtp-source' });
  tenantId = tenant.id;
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: '4100', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
});

test.after(async () => {
  await MediaThread.shared().stop();
  await db?.close();
});

const CN_OFFER: Array<[number, string]> = [[0, 'PCMU'], [8, 'PCMA'], [13, 'CN']];

for (const mediaThread of [true, false]) {
  const label = `[media thread ${mediaThread ? 'on' : 'off'}]`;

  async function withManager(body: (manager: CallManager, started: CallSession[], tapVoiced: () => number) => Promise<void>): Promise<void> {
    let tapVoicedFrames = 0;
    const manager = await CallManager.start({
      db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 10, mediaThread,
      // Stands in for the recorder: it sees the caller leg exactly as the recorder would.
      taps: [() => ({ onCallerFrame: (f) => { if (frameRms(f.pcm).some((r) => r > VOICED_RMS)) tapVoicedFrames++; } })],
    });
    const started: CallSession[] = [];
    manager.on('call-started', (s) => started.push(s as CallSession));
    try {
      await body(manager, started, () => tapVoicedFrames);
    } finally {
      await manager.close();
    }
  }

  test(`${label} a host spraying the call's port first is dropped: the agent still talks to the SDP address, the spray is never heard`, async () => {
    await withManager(async (manager, started, tapVoiced) => {
      const call = await ownCall(manager.sipPorts.udp!, { number: '4100' });
      const attacker = await sender('127.0.0.3', 0xbad);
      let closed = false;
      try {
        const session = started[0]!;
        await attacker.tone(call.serverMedia, 25);
        await sleep(200); // what an echo of the spray would take to come back
        assert.is(attacker.received.length, 0, 'the attacker received nothing');
        assert.is(tapVoiced(), 0, 'the spray never reached the recorder tap');
        assert.is(voiced(call), 0, 'the spray never reached the conversation (the echo agent said nothing)');
        await waitFor('the spray counted', () => session.rtp.stats.dropped['foreign-source'] >= 25);
        assert.ok(call.received.length > 0, 'the agent side was sending to the SDP address all along');
        // The real caller is heard and answered at its own address.
        await call.sendTone(15);
        await waitFor('the echo at 127.0.0.1', () => voiced(call) >= 5);
        assert.ok(tapVoiced() > 0);
        assert.is(attacker.received.length, 0);
        closed = true;
        await call.close();
        await waitFor('the drop count on the call record', async () => {
          const events = await listCallEvents(db, tenantId, session.callId);
          return events.some((e) => e.type === 'rtp-foreign-source' && (e.data as { packets: number }).packets >= 25);
        });
      } finally {
        attacker.close();
        if (!closed) await call.close();
      }
    });
  });

  test(`${label} a NAT'd caller (its SDP address, another port) latches, and a hold/resume re-INVITE keeps the latch`, async () => {
    await withManager(async (manager) => {
      const call = await ownCall(manager.sipPorts.udp!, { number: '4100' });
      const natted = await sender('127.0.0.1', 0x900d);
      const newcomer = await sender('127.0.0.1', 0xbad);
      try {
        await natted.tone(call.serverMedia, 15);
        await waitFor('the echo at the NAT port', () => natted.received.length >= 5);
        // Hold (c=0.0.0.0) and resume (c=127.0.0.1): the SDP address is the same as before the hold.
        await call.dialog.reinvite(sdpOffer(call.rtpPort).replace(/c=IN IP4 127\.0\.0\.1/, 'c=IN IP4 0.0.0.0'));
        await call.dialog.reinvite(sdpOffer(call.rtpPort));
        const before = natted.received.length;
        await newcomer.tone(call.serverMedia, 15);
        await natted.tone(call.serverMedia, 15);
        await waitFor('the echo still at the NAT port', () => natted.received.length - before >= 5);
        assert.is(newcomer.received.length, 0, 'another port did not take the call over after the re-INVITE');
      } finally {
        natted.close();
        newcomer.close();
        await call.close();
      }
    });
  });
}

for (const mediaThread of [true, false]) {
  const label = `[media thread ${mediaThread ? 'on' : 'off'}]`;

  test(`${label} a silent agent keeps the stream going: silence frames, or CN SIDs when offered`, async () => {
    const manager = await CallManager.start({ db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 10, mediaThread });
    try {
      // The echo agent says nothing until the caller speaks, and this caller never does.
      const plain = await ownCall(manager.sipPorts.udp!, { number: '4100' });
      const withCn = await ownCall(manager.sipPorts.udp!, { number: '4100', codecs: CN_OFFER });
      try {
        assert.match(withCn.dialog.remoteSdp ?? '', /a=rtpmap:13 CN\/8000/);
        assert.not.match(plain.dialog.remoteSdp ?? '', /CN\//);
        await waitFor('50 silence frames', () => plain.received.length >= 50);
        await waitFor('5 SIDs', () => withCn.received.filter((p) => p.pt === 13).length >= 5);
        const p = plain.received.slice();
        assert.ok(p.every((x) => x.pt === 0 && x.payload.length === 160 && x.payload.every((b) => b === 0xff)), 'PCMU digital silence');
        for (let i = 1; i < p.length; i++) {
          assert.is(p[i]!.seq, (p[i - 1]!.seq + 1) & 0xffff);
          // One packet per 20 ms of RTP clock; only a stall of the sender may leave a gap, and it is marked.
          assert.ok(((p[i]!.ts - p[i - 1]!.ts) >>> 0) === 160 || p[i]!.marker, `timestamp gap before packet ${i}`);
        }
        const sids = withCn.received.filter((x) => x.pt === 13);
        assert.ok(sids.every((x) => x.payload.length === 1), 'SIDs: a noise level byte');
        assert.is(withCn.received.filter((x) => x.pt !== 13).length, 0, 'nothing but SIDs while silent');
      } finally {
        await plain.close();
        await withCn.close();
      }
    } finally {
      await manager.close();
    }
  });
}

test.run();
