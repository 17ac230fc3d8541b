import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { AudioFrame, DtmfFrame } from '../../../media/audio/frames.ts';
import { RtpSession, type RtpSessionOptions } from '../../../media/rtp/session.ts';
import { Pacer } from '../../../media/rtp/pacer.ts';
import { PortAllocator } from '../../../media/rtp/port-allocator.ts';
import { parseRtp, serializeRtp } from '../../../media/rtp/packet.ts';
import type { RtpPacket } from '../../../media/rtp/packet.ts';
import { decodeMulawSample, encodeMulaw, encodeMulawSample } from '../../../media/audio/g711.ts';
import { buildReceiverReport, parseRtcp } from '../../../media/rtp/rtcp.ts';
import { dtmfPacketSequence, parseTelephoneEvent } from '../../../media/rtp/dtmf.ts';
import { waitFor } from '../../support/poll.ts';

const PCMU = { name: 'PCMU', payloadType: 0 };
const HOST = '127.0.0.1';

/** What a test opened, closed after it even when an assertion failed: a session left ticking would keep the process alive. */
const opened: Array<() => unknown> = [];
test.after.each(async () => {
  for (const close of opened.splice(0)) await close();
});

async function openSession(options: RtpSessionOptions): Promise<RtpSession> {
  const s = await RtpSession.open(options);
  opened.push(() => s.close());
  return s;
}


/** A raw UDP peer that records the RTP packets it receives. */
async function rawPeer(): Promise<{ socket: Socket; port: number; packets: RtpPacket[]; rtcp: Buffer[]; close: () => void }> {
  const socket = createSocket('udp4');
  const packets: RtpPacket[] = [];
  const rtcp: Buffer[] = [];
  socket.on('message', (m) => {
    const r = parseRtp(m);
    if (r.ok && !(m[1]! >= 200 && m[1]! <= 204)) packets.push({ ...r.packet, payload: Uint8Array.from(r.packet.payload) });
    else rtcp.push(m);
  });
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  let closed = false;
  const close = (): void => {
    if (!closed) socket.close();
    closed = true;
  };
  opened.push(close);
  return { socket, port: socket.address().port, packets, rtcp, close };
}

function send(socket: Socket, port: number, buf: Uint8Array): Promise<void> {
  return new Promise((r) => socket.send(buf, port, HOST, () => r()));
}

function pcmuPacket(seq: number, value: number, pt = 0, ssrc = 1234): Buffer {
  const payload = new Uint8Array(160);
  encodeMulaw(new Int16Array(160).fill(value), payload);
  return serializeRtp({ marker: false, payloadType: pt, sequenceNumber: seq, timestamp: seq * 160, ssrc, payload });
}

/** What a sample becomes after a mu-law round trip. */
const q = (v: number): number => decodeMulawSample(encodeMulawSample(v));

test('two sessions exchange audio both ways', async () => {
  // No silence filler: each side's jitter buffer starts on the tone itself. Both sessions tick on this process's
  // pacer, so after a stall its back-to-back ticks pull at B before the socket is read again: B holds the whole
  // 200 ms tone before it plays (a fixed depth of 12 frames), and so never runs dry inside it on a busy machine.
  const a = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false });
  const b = await openSession({
    bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: a.localPort }, adaptiveJitter: false, jitterDepthFrames: 12,
  });
  a.setRemote({ address: HOST, port: b.localPort });
  assert.is(a.localPort % 2, 0);
  const atB: AudioFrame[] = [];
  const atA: AudioFrame[] = [];
  b.on('audio', (f) => atB.push(f));
  a.on('audio', (f) => atA.push(f));
  const tone = new Int16Array(160 * 10);
  for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.cos((2 * Math.PI * 500 * i) / 8000));
  a.sendFrame(tone);
  b.sendFrame(tone.subarray(0, 800)); // 100 ms: 5 frames
  await waitFor('audio at B', () => b.stats.jitterBuffer.played >= 10);
  await waitFor('audio at A', () => a.stats.jitterBuffer.played >= 5);
  const heard = atB.flatMap((f) => Array.from(f.pcm));
  const start = heard.findIndex((v) => v !== 0);
  assert.ok(start >= 0);
  for (const f of atB) {
    assert.is(f.sampleRate, 8000);
    assert.is(f.pcm.length, 160);
  }
  // The received audio is the G.711 version of what was sent, in order, without seams.
  for (let i = 0; i < 1600; i++) assert.is(heard[start + i], q(tone[i]!) , `sample ${i}`);
  assert.is(b.stats.lost, 0);
  assert.is(a.stats.packetsOut, 10);
  await a.close();
  await b.close();
});

test('sent packets have continuous sequence numbers and timestamps, one SSRC, and a marker per talkspurt', async () => {
  const peer = await rawPeer();
  // Without silence filler (continuous: false) every pause is a gap the marker announces.
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: peer.port } });
  s.sendFrame(new Int16Array(160 * 5).fill(1000));
  await waitFor('first talkspurt', () => peer.packets.length >= 5);
  await new Promise((r) => setTimeout(r, 100)); // a pause: the next audio starts a new talkspurt
  s.sendFrame(new Int16Array(160 * 3).fill(-1000));
  await waitFor('second talkspurt', () => peer.packets.length >= 8);
  const p = peer.packets;
  assert.ok(p.every((x) => x.ssrc === s.ssrc && x.payloadType === 0 && x.payload.length === 160));
  for (let i = 1; i < p.length; i++) assert.is(p[i]!.sequenceNumber, (p[i - 1]!.sequenceNumber + 1) & 0xffff);
  for (let i = 1; i < 5; i++) assert.is((p[i]!.timestamp - p[i - 1]!.timestamp) >>> 0, 160);
  for (let i = 6; i < 8; i++) assert.is((p[i]!.timestamp - p[i - 1]!.timestamp) >>> 0, 160);
  // The silent gap still advanced the clock.
  assert.ok((p[5]!.timestamp - p[4]!.timestamp) >>> 0 > 160);
  assert.equal(p.map((x) => x.marker), [true, false, false, false, false, true, false, false]);
  await s.close();
  // close() sends an RTCP BYE to port+1 of the peer's address (nothing listens there in this test).
  peer.close();
});

test('reordered, lost and duplicated packets come out in order, with the gap concealed', async () => {
  const peer = await rawPeer();
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, jitterDepthFrames: 3 });
  const frames: AudioFrame[] = [];
  s.on('audio', (f) => frames.push(f));
  for (const seq of [65534, 65535, 1, 0, 1, 3]) await send(peer.socket, s.localPort, pcmuPacket(seq, 1000 * (((seq + 2) & 0xffff) + 1)));
  await waitFor('playout', () => s.stats.jitterBuffer.played >= 5);
  // Silence while the buffer fills, then the frames in sequence order.
  const values = frames.map((f) => f.pcm[0]!);
  const firstReal = values.findIndex((v) => v !== 0);
  const seen = values.slice(firstReal, firstReal + 6);
  assert.equal(seen, [q(1000), q(2000), q(3000), q(4000), Math.round(q(4000) / 2), q(6000)]);
  assert.is(s.stats.jitterBuffer.duplicates, 1);
  assert.is(s.stats.jitterBuffer.lost, 1);
  // RFC 3550 A.3 counts the duplicate as received, so it cancels the lost packet in the RTCP figure.
  assert.is(s.stats.lost, 0);
  await s.close();
  peer.close();
});

test('garbage is counted and dropped while the audio goes on', async () => {
  const peer = await rawPeer();
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, jitterDepthFrames: 2 });
  const frames: AudioFrame[] = [];
  s.on('audio', (f) => frames.push(f));
  const bad = [Buffer.from('hello'), Buffer.alloc(40, 0x40), pcmuPacket(99, 5, 96), Buffer.alloc(0)];
  for (let seq = 10; seq < 16; seq++) {
    await send(peer.socket, s.localPort, pcmuPacket(seq, 4000));
    await send(peer.socket, s.localPort, bad[seq % bad.length]!);
  }
  await waitFor('playout', () => s.stats.jitterBuffer.played >= 6);
  const st = s.stats;
  assert.is(st.dropped['too-short'], 3); // 'hello' once, the empty datagram twice
  assert.is(st.dropped['bad-version'], 1);
  assert.is(st.dropped['unknown-pt'], 2);
  assert.is(st.jitterBuffer.played, 6);
  assert.ok(frames.filter((f) => f.pcm[0] === q(4000)).length === 6);
  await s.close();
  peer.close();
});

test('symmetric RTP latches onto the real source port and ignores others', async () => {
  const peer = await rawPeer();
  const intruder = await rawPeer();
  // The SDP says port 9 (nothing there): media must go to where the peer really sends from.
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: 9 } });
  const latched: Array<{ address: string; port: number }> = [];
  s.on('latched', (l) => latched.push(l));
  s.sendFrame(new Int16Array(160 * 50));
  await send(peer.socket, s.localPort, pcmuPacket(1, 100));
  await waitFor('latch', () => s.isLatched);
  assert.equal(latched, [{ address: HOST, port: peer.port }]);
  assert.equal(s.destination, { address: HOST, port: peer.port });
  await waitFor('media at the latched port', () => peer.packets.length >= 3);
  await send(intruder.socket, s.localPort, pcmuPacket(2, 100));
  await waitFor('intruder dropped', () => s.stats.dropped['wrong-source'] === 1);
  assert.is(intruder.packets.length, 0);
  await s.close();
  peer.close();
  intruder.close();
});

test('DTMF both ways, each digit once', async () => {
  const a = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, telephoneEventPayloadType: 101 });
  const b = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, telephoneEventPayloadType: 101, remote: { address: HOST, port: a.localPort } });
  a.setRemote({ address: HOST, port: b.localPort });
  const atA: DtmfFrame[] = [];
  const atB: DtmfFrame[] = [];
  a.on('dtmf', (d) => atA.push(d));
  b.on('dtmf', (d) => atB.push(d));
  assert.ok(a.sendDtmf('5', 60));
  assert.ok(a.sendDtmf('#', 60));
  assert.ok(b.sendDtmf('9'));
  assert.not.ok(b.sendDtmf('x'));
  await waitFor('digits at B', () => atB.length >= 2);
  await waitFor('digit at A', () => atA.length >= 1);
  await new Promise((r) => setTimeout(r, 60)); // room for any stray duplicate
  assert.equal(atB.map((d) => d.digit), ['5', '#']);
  assert.equal(atA.map((d) => d.digit), ['9']);
  assert.is(atB[0]!.durationMs, 60);
  assert.is(atA[0]!.durationMs, 100);
  assert.is(a.stats.dtmfOut, 2);
  const noTe = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0 });
  assert.not.ok(noTe.sendDtmf('1'));
  await Promise.all([a.close(), b.close(), noTe.close()]);
});

test('inactivity fires once when no packet arrives', async () => {
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 60 });
  const events: number[] = [];
  s.on('inactive', (e) => events.push(e.idleMs));
  await waitFor('inactive event', () => events.length > 0);
  await new Promise((r) => setTimeout(r, 100));
  assert.is(events.length, 1);
  assert.ok(events[0]! >= 60);
  await s.close();
});

test('clearOutgoing drops queued audio; hold stops sending; close sends BYE and frees the ports', async () => {
  const peer = await rawPeer();
  const ports = new PortAllocator({ minPort: 41000, maxPort: 41999 });
  const s = await openSession({ bindAddress: HOST, codec: { name: 'PCMA', payloadType: 8 }, ports, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port, rtcpPort: peer.port } });
  assert.ok(s.localPort >= 41000 && s.localPort <= 41998 && s.localPort % 2 === 0);
  assert.is(ports.allocated, 1);
  s.sendFrame(new Int16Array(160 * 100));
  assert.ok(s.queuedMs > 1900);
  const dropped = s.clearOutgoing();
  assert.ok(dropped > 1900, String(dropped));
  assert.is(s.queuedMs, 0);
  s.setDirection({ send: false, receive: true });
  s.sendFrame(new Int16Array(160 * 5));
  assert.is(s.queuedMs, 0);
  await new Promise((r) => setTimeout(r, 80));
  const sentWhileHeld = peer.packets.length;
  s.setDirection({ send: true, receive: true });
  s.sendFrame(new Int16Array(160 * 2).fill(500));
  await waitFor('resumed audio', () => peer.packets.length >= sentWhileHeld + 2);
  assert.ok(peer.packets.every((p) => p.payloadType === 8));
  const port = s.localPort;
  await s.close('bye now');
  await waitFor('BYE', () => peer.rtcp.some((m) => {
    const r = parseRtcp(m);
    return r.ok && r.packets.some((p) => p.type === 'bye' && p.reason === 'bye now');
  }));
  assert.is(ports.allocated, 0);
  // The port is free again.
  const again = createSocket('udp4');
  await new Promise<void>((resolve, reject) => { again.once('error', reject); again.bind(port, HOST, () => resolve()); });
  again.close();
  peer.close();
});

test('audio of any length is cut into 20 ms packets; a tail is padded, not held back', async () => {
  const peer = await rawPeer();
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port } });
  s.sendFrame(new Int16Array(100).fill(2000));
  s.sendFrame(new Int16Array(150).fill(2000)); // 250 samples: one full frame and a 90-sample tail
  await waitFor('two packets', () => peer.packets.length >= 2);
  const [first, second] = peer.packets;
  assert.ok(first!.payload.every((b) => b === encodeMulawSample(2000)));
  assert.ok(second!.payload.subarray(0, 90).every((b) => b === encodeMulawSample(2000)));
  assert.ok(second!.payload.subarray(90).every((b) => b === 0xff));
  await s.close();
  peer.close();
});

test('RTCP: each side reports on the other (SR with a report block, SDES CNAME)', async () => {
  const a = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, rtcpIntervalMs: 60, cname: 'a@test' });
  const b = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, rtcpIntervalMs: 60, remote: { address: HOST, port: a.localPort } });
  a.setRemote({ address: HOST, port: b.localPort });
  const seenByB: import('../../../media/rtp/rtcp.ts').RtcpPacket[] = [];
  b.on('rtcp', (packets) => seenByB.push(...packets));
  const byes: Array<{ reason?: string }> = [];
  b.on('bye', (x) => byes.push(x));
  a.sendFrame(new Int16Array(160 * 30).fill(100));
  b.sendFrame(new Int16Array(160 * 30).fill(100));
  await waitFor('an SR from A about B', () => seenByB.some((p) => p.type === 'sr' && p.ssrc === a.ssrc && p.reports.some((r) => r.ssrc === b.ssrc)));
  assert.ok(seenByB.some((p) => p.type === 'sdes' && p.chunks.some((c) => c.ssrc === a.ssrc && c.cname === 'a@test')));
  const sr = seenByB.find((p) => p.type === 'sr' && p.reports.length > 0);
  if (sr?.type === 'sr') {
    assert.ok(sr.sender.packetCount > 0);
    assert.is(sr.sender.octetCount, sr.sender.packetCount * 160);
  }
  assert.ok(b.stats.rtcpIn > 0 && a.stats.rtcpOut > 0);
  await a.close('done');
  await waitFor('BYE at B', () => byes.length === 1);
  assert.equal(byes, [{ reason: 'done' }]);
  await b.close();
});

test('RTCP arriving on the RTP port (rtcp-mux) is read as RTCP, and lost DTMF ends are flushed', async () => {
  const peer = await rawPeer();
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, telephoneEventPayloadType: 101 });
  const packets: string[] = [];
  s.on('rtcp', (p) => packets.push(...p.map((x) => x.type)));
  await send(peer.socket, s.localPort, buildReceiverReport(77));
  await waitFor('rtcp', () => packets.length === 1);
  assert.equal(packets, ['rr']);
  assert.is(s.stats.dropped['unknown-pt'], 0);
  // A digit whose three end packets are all lost is still reported once.
  const digits: string[] = [];
  s.on('dtmf', (d) => digits.push(d.digit));
  const plan = dtmfPacketSequence('4', { durationMs: 80 }).filter((p) => !parseTelephoneEvent(p.payload)!.end);
  let seq = 500;
  for (const p of plan) await send(peer.socket, s.localPort, serializeRtp({ marker: p.marker, payloadType: 101, sequenceNumber: seq++, timestamp: 8000, ssrc: 9, payload: p.payload }));
  await waitFor('flushed digit', () => digits.length === 1);
  assert.equal(digits, ['4']);
  await s.close();
  peer.close();
});

/** A pacer on a hand-driven monotonic clock: `fire(lateBy)` wakes the pending timer that much late (an event-loop stall). */
function manualPacer(maxCatchUpTicks = 3) {
  let now = 1000;
  let pending: { fn: () => void; at: number } | undefined;
  const pacer = new Pacer({
    now: () => now, maxCatchUpTicks,
    setTimer: (fn, delay) => { pending = { fn, at: now + delay }; return pending; },
    clearTimer: () => { pending = undefined; },
  });
  return { pacer, fire(lateBy = 0) { const p = pending!; pending = undefined; now = p.at + lateBy; p.fn(); } };
}

/** 20 ms frames whose samples say which frame they are (1000, 2000, ...), to check order and loss after decoding. */
function numberedFrames(n: number): Int16Array {
  const pcm = new Int16Array(160 * n);
  for (let i = 0; i < n; i++) pcm.fill((i + 1) * 1000, i * 160, (i + 1) * 160);
  return pcm;
}
const frameNumber = (p: RtpPacket): number => Math.round(decodeMulawSample(p.payload[0]!) / 1000);

test('a stalled pacer: queued audio for the skipped ticks goes out at once, continuous, nothing lost', async () => {
  const peer = await rawPeer();
  const clock = manualPacer(3);
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port }, pacer: clock.pacer });
  s.sendFrame(numberedFrames(12));
  clock.fire(0); // tick 1 on time: frame 1
  clock.fire(0); // tick 2: frame 2
  clock.fire(120); // tick 3 due at 1060, woke at 1180: ticks 3..9 are owed, the pacer itself runs only 7, 8, 9
  await waitFor('9 packets', () => peer.packets.length >= 9);
  const p = peer.packets;
  assert.equal(p.map(frameNumber), [1, 2, 3, 4, 5, 6, 7, 8, 9], 'every frame, in order');
  for (let i = 1; i < p.length; i++) {
    assert.is(p[i]!.sequenceNumber, (p[i - 1]!.sequenceNumber + 1) & 0xffff);
    assert.is((p[i]!.timestamp - p[i - 1]!.timestamp) >>> 0, 160, `timestamp step before packet ${i}`);
  }
  assert.equal(p.map((x) => x.marker), [true, false, false, false, false, false, false, false, false], 'one talkspurt, no resync');
  assert.is(s.stats.catchUpPackets, 4);
  assert.is(s.stats.gapTicks, 0);
  clock.fire(0); // back on time: frame 10 at tick 10
  await waitFor('10 packets', () => peer.packets.length >= 10);
  assert.is(frameNumber(p[9]!), 10);
  assert.is((p[9]!.timestamp - p[8]!.timestamp) >>> 0, 160);
  await s.close();
  peer.close();
});

test('a stall longer than the catch-up bound: older ticks stay a marked gap, the newest are sent, no audio dropped', async () => {
  const peer = await rawPeer();
  const clock = manualPacer(3);
  const s = await openSession({
    bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port }, pacer: clock.pacer, maxCatchUpFrames: 2,
  });
  s.sendFrame(numberedFrames(10));
  clock.fire(0); // tick 1: frame 1
  clock.fire(140); // tick 2 due at 1040, woke at 1180: ticks 2..9 owed; pacer runs 7, 8, 9; 2..6 missed
  await waitFor('6 packets', () => peer.packets.length >= 6);
  const p = peer.packets;
  assert.equal(p.map(frameNumber), [1, 2, 3, 4, 5, 6], 'the queue is not skipped: frames follow each other');
  // Missed ticks 2, 3, 4 are a gap (bound 2: ticks 5 and 6 are filled), then 5..9 continuous.
  assert.is((p[1]!.timestamp - p[0]!.timestamp) >>> 0, 4 * 160);
  for (let i = 2; i < p.length; i++) assert.is((p[i]!.timestamp - p[i - 1]!.timestamp) >>> 0, 160);
  for (let i = 1; i < p.length; i++) assert.is(p[i]!.sequenceNumber, (p[i - 1]!.sequenceNumber + 1) & 0xffff);
  assert.equal(p.map((x) => x.marker), [true, true, false, false, false, false], 'the packet after the gap resynchronises the receiver');
  assert.is(s.stats.gapTicks, 3);
  assert.is(s.stats.catchUpPackets, 2);
  await s.close();
  peer.close();
});

test('a stalled receiver plays the audio that arrived meanwhile late, in order, stamped with the missed ticks: nothing dropped', async () => {
  const peer = await rawPeer();
  const clock = manualPacer(3);
  // A fixed depth of 2: the buffer's ceiling is 6 frames, 16 with the 10 frames of catch-up room.
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, adaptiveJitter: false, jitterDepthFrames: 2, pacer: clock.pacer });
  const heard: AudioFrame[] = [];
  s.on('audio', (f) => heard.push(f));
  const caller = async (from: number, to: number): Promise<void> => {
    for (let k = from; k <= to; k++) await send(peer.socket, s.localPort, pcmuPacket(k, k * 1000));
    await waitFor(`${to} packets in`, () => s.stats.packetsIn >= to);
  };
  await caller(1, 3);
  clock.fire(0); // tick 1: playout starts with frame 1
  // The receiver stalls for 12 ticks while the caller's packets of that time arrive (the buffer holds 14).
  await caller(4, 15);
  clock.fire(240); // tick 2 woke 240 ms late: ticks 2..14 owed; the pacer runs 12, 13, 14; 2..11 are caught up
  clock.fire(0); // tick 15
  const voiced = heard.filter((f) => f.pcm[0] !== 0);
  assert.equal(voiced.map((f) => Math.round(f.pcm[0]! / 1000)), Array.from({ length: 15 }, (_, i) => i + 1), 'every frame, in order, none repeated');
  for (let i = 1; i < voiced.length; i++) assert.is(voiced[i]!.timeMs - voiced[i - 1]!.timeMs, 20, `frame ${i + 1} is stamped one tick after the one before`);
  assert.is(s.stats.jitterBuffer.overflowDrops, 0);
  assert.is(s.stats.jitterBuffer.lost, 0);
  assert.is(s.stats.jitterBuffer.catchUpPlayed, 10);
  await s.close();
  peer.close();
});

test('a stall during silence sends nothing extra; the clock still advances', async () => {
  const peer = await rawPeer();
  const clock = manualPacer(3);
  const s = await openSession({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: peer.port }, pacer: clock.pacer });
  s.sendFrame(numberedFrames(1));
  clock.fire(0); // tick 1: the only frame
  clock.fire(200); // ticks 2..12 owed, nothing queued
  s.sendFrame(numberedFrames(1));
  clock.fire(0); // tick 13
  await waitFor('2 packets', () => peer.packets.length >= 2);
  const p = peer.packets;
  assert.is(p.length, 2);
  assert.is(s.stats.catchUpPackets, 0);
  assert.is((p[1]!.timestamp - p[0]!.timestamp) >>> 0, 12 * 160, 'the timestamp followed the clock through the silence');
  assert.equal(p.map((x) => x.marker), [true, true]);
  await s.close();
  peer.close();
});

test.run();
