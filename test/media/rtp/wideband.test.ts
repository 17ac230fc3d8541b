/**
 * G.722 (wideband) RTP sessions, in-thread and in the media thread: 16 kHz
 * PCM both ways, 160-byte payloads (320 samples) under payload type 9, RTP
 * timestamps on the 8000 Hz clock (RFC 3551: +160 per 20 ms), the packets'
 * bytes exactly what a G.722 encoder makes of the frames, a media thread
 * carrying 8 kHz and 16 kHz sessions in the same tick, and a mid-call switch
 * to PCMU that keeps the session's 16 kHz PCM (resampled) both ways. An
 * answer to our own offer (setCodec's adoptRate) sets the session's rate to
 * the codec's while no audio has flowed, and not after.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import { RtpSession } from '../../../media/rtp/session.ts';
import { MediaThread } from '../../../media/rtp/media-thread.ts';
import type { RtpStream } from '../../../media/rtp/stream.ts';
import { parseRtp, serializeRtp } from '../../../media/rtp/packet.ts';
import type { RtpPacket } from '../../../media/rtp/packet.ts';
import { G722Decoder, G722Encoder } from '../../../media/audio/g722.ts';
import { decodeMulaw } from '../../../media/audio/g711.ts';
import { waitFor } from '../../support/poll.ts';

const G722 = { name: 'G722', payloadType: 9 };
const PCMU = { name: 'PCMU', payloadType: 0 };
const HOST = '127.0.0.1';
const media = MediaThread.shared();

test.after(async () => {
  await media.stop();
});

async function rawPeer(): Promise<{ socket: Socket; port: number; packets: RtpPacket[]; close: () => void }> {
  const socket = createSocket('udp4');
  const packets: RtpPacket[] = [];
  socket.on('message', (m) => {
    const r = parseRtp(m);
    if (r.ok && !(m[1]! >= 200 && m[1]! <= 204)) packets.push({ ...r.packet, payload: Uint8Array.from(r.packet.payload) });
  });
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  return { socket, port: socket.address().port, packets, close: () => socket.close() };
}

/** A wideband test signal: 300 Hz plus 6 kHz (above G.711's band), 16 kHz. */
function wideTone(samples: number): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(5000 * Math.sin((2 * Math.PI * 300 * i) / 16000) + 4000 * Math.sin((2 * Math.PI * 6000 * i) / 16000));
  return out;
}

/** RMS of the 6 kHz component (a single-bin DFT) of a 16 kHz signal. */
function level6k(pcm: Int16Array): number {
  let re = 0;
  let im = 0;
  for (let i = 0; i < pcm.length; i++) {
    re += pcm[i]! * Math.cos((2 * Math.PI * 6000 * i) / 16000);
    im += pcm[i]! * Math.sin((2 * Math.PI * 6000 * i) / 16000);
  }
  return (Math.sqrt(re * re + im * im) / pcm.length) * Math.SQRT2;
}

function joined(frames: AudioFrame[]): Int16Array {
  const out = new Int16Array(frames.reduce((n, f) => n + f.pcm.length, 0));
  let at = 0;
  for (const f of frames) { out.set(f.pcm, at); at += f.pcm.length; }
  return out;
}

async function sendsG722(open: (remotePort: number) => Promise<RtpStream>): Promise<void> {
  const peer = await rawPeer();
  const s = await open(peer.port);
  try {
    assert.is(s.sampleRate, 16000);
    const tone = wideTone(320 * 10);
    s.sendFrame(tone);
    assert.is(Math.round(s.queuedMs), 200);
    await waitFor('10 G.722 packets', () => peer.packets.length >= 10);
    const sent = peer.packets.slice(0, 10);
    const expected = new Uint8Array(1600);
    new G722Encoder().encode(tone, expected);
    const steps: number[] = [];
    for (let k = 0; k < 10; k++) {
      const p = sent[k]!;
      assert.is(p.payloadType, 9);
      assert.is(p.payload.length, 160);
      if (k > 0) steps.push((p.timestamp - sent[k - 1]!.timestamp) >>> 0);
      assert.equal(p.payload, expected.subarray(k * 160, k * 160 + 160), `packet ${k} is the encoder's bytes`);
    }
    // The RTP clock is 8000 Hz: 160 per 20 ms tick. The timestamp follows the clock, so a tick that a loaded
    // machine's pacer skipped shows as a larger step (a whole number of ticks); packets on adjacent ticks step 160.
    assert.ok(steps.every((d) => d % 160 === 0), `timestamp steps ${steps.join(' ')}`);
    assert.is(Math.min(...steps), 160, `timestamp steps ${steps.join(' ')}: the RTP clock is 8000 Hz`);
  } finally {
    await s.close();
    peer.close();
  }
}

async function receivesG722(open: () => Promise<RtpStream>): Promise<void> {
  const s = await open();
  const peer = await rawPeer();
  const heard: AudioFrame[] = [];
  s.on('audio', (f) => heard.push(f));
  try {
    // Six packets at once: within the jitter buffer's ceiling (8 frames), so none is dropped as overflow.
    const tone = wideTone(320 * 6);
    const bytes = new Uint8Array(tone.length / 2);
    new G722Encoder().encode(tone, bytes);
    for (let k = 0; k < 6; k++) {
      const packet = serializeRtp({ marker: k === 0, payloadType: 9, sequenceNumber: 100 + k, timestamp: 5000 + k * 160, ssrc: 77, payload: bytes.subarray(k * 160, k * 160 + 160) });
      await new Promise<void>((r) => peer.socket.send(packet, s.localPort, HOST, () => r()));
    }
    await waitFor('6 frames played', () => s.stats.jitterBuffer.played >= 6);
    for (const f of heard) {
      assert.is(f.sampleRate, 16000);
      assert.is(f.pcm.length, 320);
    }
    const pcm = joined(heard);
    const start = pcm.findIndex((v) => v !== 0);
    const expected = new Int16Array(tone.length);
    new G722Decoder().decode(bytes, expected);
    const firstVoiced = expected.findIndex((v) => v !== 0);
    assert.ok(start >= 0);
    assert.equal(pcm.subarray(start, start + expected.length - firstVoiced), expected.subarray(firstVoiced), 'the decoder\'s samples, in order, without seams');
  } finally {
    await s.close();
    peer.close();
  }
}

test('in-thread G.722: packets are the encoder\'s 160-byte payloads on the 8 kHz RTP clock', async () => {
  await sendsG722((port) => RtpSession.open({ bindAddress: HOST, codec: G722, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port } }));
});

test('in-thread G.722: received packets become 20 ms frames of 320 samples at 16 kHz', async () => {
  await receivesG722(() => RtpSession.open({ bindAddress: HOST, codec: G722, inactivityTimeoutMs: 0 }));
});

test('media thread G.722: the same both ways', async () => {
  await sendsG722((port) => media.open({ bindAddress: HOST, codec: G722, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port } }));
  await receivesG722(() => media.open({ bindAddress: HOST, codec: G722, inactivityTimeoutMs: 0 }));
});

test('the media thread carries 8 kHz and 16 kHz sessions in the same ticks', async () => {
  const wide = await media.open({ bindAddress: HOST, codec: G722, inactivityTimeoutMs: 0, continuous: false });
  const narrow = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false });
  const wideFar = await RtpSession.open({ bindAddress: HOST, codec: G722, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: wide.localPort } });
  const narrowFar = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: narrow.localPort } });
  const atWide: AudioFrame[] = [];
  const atNarrow: AudioFrame[] = [];
  wide.on('audio', (f) => atWide.push(f));
  narrow.on('audio', (f) => atNarrow.push(f));
  try {
    const tone = wideTone(320 * 10);
    wideFar.sendFrame(tone);
    narrowFar.sendFrame(new Int16Array(160 * 10).fill(3000));
    await waitFor('both sessions played 10 frames', () => wide.stats.jitterBuffer.played >= 10 && narrow.stats.jitterBuffer.played >= 10);
    assert.ok(atWide.every((f) => f.sampleRate === 16000 && f.pcm.length === 320));
    assert.ok(atNarrow.every((f) => f.sampleRate === 8000 && f.pcm.length === 160));
    // The 6 kHz component (above G.711's band) is there at its level in the 20 ms frames (the best one: a
    // frame concealed by the jitter buffer on a busy machine would be quieter).
    const best = Math.max(...atWide.map((f) => level6k(f.pcm)));
    assert.ok(best > 2500, `6 kHz level ${best.toFixed(0)} of 2828 sent: wideband audio arrived`);
    assert.ok(joined(atNarrow).some((v) => Math.abs(v - 3000) < 100), 'the narrowband call has its own audio');
  } finally {
    await Promise.all([wide.close(), narrow.close(), wideFar.close(), narrowFar.close()]);
  }
});

for (const where of ['in-thread', 'media thread'] as const) {
  test(`${where}: a switch to PCMU mid-call keeps 16 kHz PCM both ways (resampled)`, async () => {
    const peer = await rawPeer();
    const opts = { bindAddress: HOST, codec: G722, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: peer.port } };
    const s: RtpStream = where === 'in-thread' ? await RtpSession.open(opts) : await media.open(opts);
    const heard: AudioFrame[] = [];
    s.on('audio', (f) => heard.push(f));
    try {
      s.setCodec(PCMU);
      // Outgoing: 16 kHz in, PCMU (8 kHz) out: 160-byte packets carrying the 300 Hz tone.
      const tone = new Int16Array(320 * 10);
      for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 16000));
      // (In the media thread the codec change and the audio travel in one batch, in this order.)
      s.sendFrame(tone);
      await waitFor('10 PCMU packets', () => peer.packets.length >= 10);
      const out = peer.packets.slice(0, 10);
      assert.ok(out.every((p) => p.payloadType === 0 && p.payload.length === 160));
      const narrow = new Int16Array(1600);
      for (let k = 0; k < 10; k++) decodeMulaw(out[k]!.payload, narrow, k * 160);
      let peak = 0;
      for (let i = 400; i < 1600; i++) peak = Math.max(peak, Math.abs(narrow[i]!));
      assert.ok(peak > 7000 && peak < 9000, `the tone went out at its level (peak ${peak})`);
      // Incoming: PCMU packets come out as 16 kHz frames.
      for (let k = 0; k < 8; k++) {
        const packet = serializeRtp({ marker: false, payloadType: 0, sequenceNumber: k, timestamp: k * 160, ssrc: 9, payload: out[k]!.payload });
        await new Promise<void>((r) => peer.socket.send(packet, s.localPort, HOST, () => r()));
      }
      await waitFor('8 frames played', () => s.stats.jitterBuffer.played >= 8);
      assert.ok(heard.length > 0 && heard.every((f) => f.sampleRate === 16000 && f.pcm.length === 320));
      let inPeak = 0;
      for (const v of joined(heard)) inPeak = Math.max(inPeak, Math.abs(v));
      assert.ok(inPeak > 7000 && inPeak < 9000, `the tone came in at its level (peak ${inPeak})`);
    } finally {
      await s.close();
      peer.close();
    }
  });
}

for (const where of ['in-thread', 'media thread'] as const) {
  test(`${where}: an answer to our offer sets the session's rate to its codec's before audio flows, not after`, async () => {
    const open = (codec: { name: string; payloadType: number }): Promise<RtpStream> => {
      const opts = { bindAddress: HOST, codec, inactivityTimeoutMs: 0, continuous: false };
      return where === 'in-thread' ? RtpSession.open(opts) : media.open(opts);
    };
    // Opened for a G.722-first offer, answered with PCMU: 8 kHz frames both ways, 160-sample PCMU payloads.
    const s = await open(G722);
    const far = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: s.localPort } });
    const peer = await rawPeer();
    try {
      assert.is(s.sampleRate, 16000);
      s.setCodec(PCMU, 101, undefined, { adoptRate: true });
      assert.is(s.sampleRate, 8000);
      s.setRemote({ address: HOST, port: far.localPort });
      const heard: AudioFrame[] = [];
      s.on('audio', (f) => heard.push(f));
      far.sendFrame(new Int16Array(160 * 5).fill(3000));
      await waitFor('caller frames at 8 kHz', () => heard.some((f) => f.pcm.some((v) => v !== 0)));
      assert.ok(heard.every((f) => f.sampleRate === 8000 && f.pcm.length === 160), 'frames of 160 samples at 8 kHz');
      const sentFrames: AudioFrame[] = [];
      far.on('audio', (f) => sentFrames.push(f));
      s.sendFrame(new Int16Array(160 * 5).fill(-3000));
      assert.is(Math.round(s.queuedMs), 100, '800 samples at 8 kHz are 100 ms');
      await waitFor('our frames at the far end', () => sentFrames.some((f) => f.pcm.some((v) => v < -1000)));
      // Audio has flowed: a later change (a re-INVITE to G.722) keeps 8 kHz and resamples.
      s.setCodec(G722, 101, undefined, { adoptRate: true });
      assert.is(s.sampleRate, 8000);
    } finally {
      peer.close();
      await s.close();
      await far.close();
    }
    // The other way: opened at 8 kHz, answered with G.722, 16 kHz.
    const n = await open(PCMU);
    try {
      n.setCodec(G722, undefined, undefined, { adoptRate: true });
      assert.is(n.sampleRate, 16000);
      n.sendFrame(new Int16Array(320));
      assert.is(Math.round(n.queuedMs), 20);
    } finally {
      await n.close();
    }
  });
}

test('an unknown codec is refused when opening, in-thread and in the media thread', async () => {
  let inThread = false;
  try { await RtpSession.open({ bindAddress: HOST, codec: { name: 'GSM', payloadType: 3 } }); } catch (e) { inThread = e instanceof RangeError; }
  assert.ok(inThread, 'RangeError');
  let threw = false;
  try { await media.open({ bindAddress: HOST, codec: { name: 'GSM', payloadType: 3 } }); } catch (e) { threw = e instanceof RangeError; }
  assert.ok(threw, 'RangeError');
});

test.run();
