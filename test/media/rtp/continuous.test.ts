/**
 * Continuous RTP (issue 22): while the agent is silent the stream goes on,
 * as silence frames in the codec or, with comfort noise negotiated, as RFC
 * 3389 SID packets (one as the silence starts, then a refresh every
 * SID_REFRESH_TICKS). Sequence numbers and timestamps stay continuous; the
 * marker bit is set only after packets stopped being sent contiguously; the
 * 'talkspurt' event still marks each start of agent audio. Both engines.
 * Packets are counted over a polled window: no timing threshold. A stall of
 * the pacer longer than the catch-up bound (a loaded machine) is a real gap:
 * it is allowed only where the engine counted one (stats.gapTicks) and the
 * packet after it carries the marker.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { MediaThread, RtpSession, SID_REFRESH_TICKS } from '../../../media/rtp/index.ts';
import type { RtpStream, ThreadedRtpSessionOptions } from '../../../media/rtp/index.ts';
import { parseRtp } from '../../../media/rtp/packet.ts';
import type { RtpPacket } from '../../../media/rtp/packet.ts';
import { encodeMulawSample } from '../../../media/audio/g711.ts';
import { waitFor } from '../../support/poll.ts';

const PCMU = { name: 'PCMU', payloadType: 0 };
const HOST = '127.0.0.1';
const MU_SILENCE = encodeMulawSample(0);
const MU_TONE = encodeMulawSample(2000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


async function rawPeer(): Promise<{ port: number; packets: RtpPacket[]; close: () => void }> {
  const socket = createSocket('udp4');
  const packets: RtpPacket[] = [];
  socket.on('message', (m) => {
    const r = parseRtp(m);
    if (r.ok && !(m[1]! >= 200 && m[1]! <= 204)) packets.push({ ...r.packet, payload: Uint8Array.from(r.packet.payload) });
  });
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  return { port: socket.address().port, packets, close: () => socket.close() };
}

const engines: Array<{ name: string; open: (o: Omit<ThreadedRtpSessionOptions, 'bindAddress' | 'codec'>) => Promise<RtpStream> }> = [
  { name: 'in-thread', open: (o) => RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, ...o }) },
  { name: 'media thread', open: (o) => MediaThread.shared().open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, ...o }) },
];

const tsStep = (a: RtpPacket, b: RtpPacket): number => (b.timestamp - a.timestamp) >>> 0;
const isTone = (p: RtpPacket): boolean => p.payloadType === 0 && p.payload[0] === MU_TONE;

test('[in-thread] audio queued the moment the queue runs dry is a new playout: announced, without a marker bit', async () => {
  const peer = await rawPeer();
  const s = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port } });
  const spurts: number[] = [];
  s.on('talkspurt', (t) => spurts.push(t.timeMs));
  let sent = 0;
  // The second utterance is queued as the first one's last frame leaves: it plays on the next tick, no pause
  // between (a reply right after the greeting); a pipeline that saw the queue empty waits for its start.
  s.on('sent', (e) => {
    if (e.kind === 'audio' && ++sent === 5) s.sendFrame(new Int16Array(160 * 3).fill(2000));
  });
  try {
    s.sendFrame(new Int16Array(160 * 5).fill(2000));
    await waitFor('both utterances', () => peer.packets.filter(isTone).length === 8);
    assert.is(spurts.length, 2, 'each utterance queued on an empty queue is announced');
    const tones = peer.packets.filter(isTone);
    const contiguous = tones.every((p, i) => i === 0 || tsStep(tones[i - 1]!, p) === 160);
    if (contiguous) assert.equal(tones.slice(1).map((p) => p.marker), new Array(7).fill(false), 'RFC 3551: no marker inside contiguous audio');
    else assert.ok(s.stats.gapTicks > 0, 'a break in the audio without a counted stall');
  } finally {
    await s.close();
    peer.close();
  }
});

test('[in-thread] audio queued right after a clear (a goodbye after a barge-in) is a new playout: announced', async () => {
  const peer = await rawPeer();
  const s = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port } });
  const spurts: number[] = [];
  s.on('talkspurt', (t) => spurts.push(t.timeMs));
  let sent = 0;
  s.on('sent', (e) => {
    if (e.kind !== 'audio' || ++sent !== 2) return;
    s.clearOutgoing(); // three frames of the first utterance dropped
    s.sendFrame(new Int16Array(160 * 3).fill(2000));
  });
  try {
    s.sendFrame(new Int16Array(160 * 5).fill(2000));
    await waitFor('two frames, then the three queued after the clear', () => peer.packets.filter(isTone).length === 5);
    assert.is(spurts.length, 2, 'the audio queued after the clear is announced');
  } finally {
    await s.close();
    peer.close();
  }
});

for (const engine of engines) {
  test(`[${engine.name}] agent silence is sent as silence frames: one stream, no gap, one marker`, async () => {
    const peer = await rawPeer();
    const s = await engine.open({ remote: { address: HOST, port: peer.port } });
    const spurts: number[] = [];
    s.on('talkspurt', (t) => spurts.push(t.timeMs));
    try {
      await waitFor('silence before any audio', () => peer.packets.length >= 10);
      s.sendFrame(new Int16Array(160 * 5).fill(2000));
      await waitFor('the first reply', () => peer.packets.filter(isTone).length === 5);
      const afterFirst = peer.packets.length;
      await waitFor('50 packets of silence after it', () => peer.packets.length >= afterFirst + 50);
      s.sendFrame(new Int16Array(160 * 5).fill(2000));
      await waitFor('the second reply', () => peer.packets.filter(isTone).length === 10);
      await waitFor('silence after it', () => peer.packets.length >= afterFirst + 60);
      const p = peer.packets.slice();
      await waitFor('the counters up to date', () => s.stats.silenceOut >= 60);
      const stalled = s.stats.gapTicks > 0;
      assert.ok(p.every((x) => x.ssrc === s.ssrc && x.payloadType === 0 && x.payload.length === 160));
      assert.ok(p.every((x) => isTone(x) || x.payload.every((b) => b === MU_SILENCE)), 'tone or digital silence only');
      assert.ok(p[0]!.marker, 'the stream starts with a marker');
      for (let i = 1; i < p.length; i++) {
        assert.is(p[i]!.sequenceNumber, (p[i - 1]!.sequenceNumber + 1) & 0xffff, `sequence number ${i}`);
        const step = tsStep(p[i - 1]!, p[i]!);
        if (step === 160) assert.not.ok(p[i]!.marker, `RFC 3551: no marker inside a contiguous stream (packet ${i})`);
        else assert.ok(stalled && p[i]!.marker && step % 160 === 0, `timestamp step ${step} before packet ${i} without a counted stall`);
      }
      await waitFor('two talkspurt events', () => spurts.length === 2);
    } finally {
      await s.close();
      peer.close();
    }
  });

  test(`[${engine.name}] with comfort noise negotiated: one SID as silence starts, then a refresh every ${SID_REFRESH_TICKS} ticks`, async () => {
    const peer = await rawPeer();
    const s = await engine.open({ remote: { address: HOST, port: peer.port }, comfortNoisePayloadType: 13 });
    try {
      s.sendFrame(new Int16Array(160 * 5).fill(2000));
      await waitFor('the reply', () => peer.packets.filter(isTone).length === 5);
      await waitFor('8 SIDs after it', () => peer.packets.filter((x) => x.payloadType === 13).length >= 9);
      s.sendFrame(new Int16Array(160 * 3).fill(2000));
      await waitFor('the second reply', () => peer.packets.filter(isTone).length === 8);
      const p = peer.packets.slice();
      await waitFor('the counters up to date', () => s.stats.comfortNoiseOut >= p.filter((x) => x.payloadType === 13).length);
      const firstTone = p.findIndex(isTone);
      const body = p.slice(firstTone);
      for (let i = 1; i < body.length; i++) assert.is(body[i]!.sequenceNumber, (body[i - 1]!.sequenceNumber + 1) & 0xffff);
      const lastOfFirst = body.findIndex((x) => !isTone(x)) - 1;
      const sids = body.filter((x) => x.payloadType === 13);
      assert.ok(sids.every((x) => x.payload.length === 1 && x.payload[0] === 127 && !x.marker), 'SID: noise level only, no marker');
      // The first SID takes the tick right after the audio; refreshes follow on the RTP clock.
      assert.is(tsStep(body[lastOfFirst]!, body[lastOfFirst + 1]!) % 160, 0);
      assert.is(body[lastOfFirst + 1]!.payloadType, 13);
      const between = body.slice(lastOfFirst + 1, body.findIndex((x, i) => i > lastOfFirst && isTone(x)));
      const stalled = s.stats.gapTicks > 0;
      for (let i = 1; i < between.length; i++) {
        const step = tsStep(between[i - 1]!, between[i]!);
        assert.ok(step === SID_REFRESH_TICKS * 160 || (stalled && step % 160 === 0 && step > SID_REFRESH_TICKS * 160), `SID ${i} ${step} samples after the last`);
      }
      // Audio after comfort noise starts a talkspurt: marker bit, timestamp still on the clock.
      const resumed = body[lastOfFirst + 1 + between.length]!;
      assert.ok(isTone(resumed) && resumed.marker);
      assert.is(tsStep(between[between.length - 1]!, resumed) % 160, 0);
      assert.ok(stalled || tsStep(between[between.length - 1]!, resumed) <= SID_REFRESH_TICKS * 160);
    } finally {
      await s.close();
      peer.close();
    }
  });
}

test(`continuous: false keeps the old silence suppression (nothing sent while silent)`, async () => {
  const peer = await rawPeer();
  const s = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: peer.port } });
  const witness = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port } });
  try {
    // The witness is continuous on the same pacer: once it has sent 10 packets, s had 10 ticks to send in.
    await waitFor('ten ticks', () => peer.packets.filter((x) => x.ssrc === witness.ssrc).length >= 10);
    assert.is(peer.packets.filter((x) => x.ssrc === s.ssrc).length, 0);
  } finally {
    await Promise.all([s.close(), witness.close()]);
    peer.close();
  }
});

test.after(async () => {
  await MediaThread.shared().stop();
});

test.run();
