/**
 * The media thread: ThreadedRtpSession (a proxy for an RtpSession running in
 * the worker) against plain in-thread RtpSessions and raw UDP peers: audio
 * both ways with a continuous stream and talkspurt markers, DTMF both ways,
 * clearOutgoing and the queuedMs mirror, times on the main thread's clock,
 * ports released on close, errors from the worker's port allocator, bad
 * packets, and a crashed worker (sessions get 'error' then 'close'; the next
 * open starts a new worker).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { readdirSync, readFileSync } from 'node:fs';
import { getPriority } from 'node:os';
import type { AudioFrame, DtmfFrame } from '../../../media/audio/frames.ts';
import { MediaThread, ThreadedRtpSession } from '../../../media/rtp/media-thread.ts';
import { RtpSession } from '../../../media/rtp/session.ts';
import { PortExhaustedError } from '../../../media/rtp/port-allocator.ts';
import { parseRtp, serializeRtp } from '../../../media/rtp/packet.ts';
import type { RtpPacket } from '../../../media/rtp/packet.ts';
import { decodeMulawSample, encodeMulaw, encodeMulawSample } from '../../../media/audio/g711.ts';
import { waitFor } from '../../support/poll.ts';

const PCMU = { name: 'PCMU', payloadType: 0 };
const HOST = '127.0.0.1';
const media = MediaThread.shared();


const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function rawPeer(): Promise<{ socket: Socket; port: number; packets: Array<RtpPacket & { at: number }>; close: () => void }> {
  const socket = createSocket('udp4');
  const packets: Array<RtpPacket & { at: number }> = [];
  socket.on('message', (m) => {
    const r = parseRtp(m);
    if (r.ok && !(m[1]! >= 200 && m[1]! <= 204)) packets.push({ ...r.packet, payload: Uint8Array.from(r.packet.payload), at: performance.now() });
  });
  await new Promise<void>((r) => socket.bind(0, HOST, () => r()));
  return { socket, port: socket.address().port, packets, close: () => socket.close() };
}

function send(socket: Socket, port: number, buf: Uint8Array): Promise<void> {
  return new Promise((r) => socket.send(buf, port, HOST, () => r()));
}

function pcmuPacket(seq: number, value: number): Buffer {
  const payload = new Uint8Array(160);
  encodeMulaw(new Int16Array(160).fill(value), payload);
  return serializeRtp({ marker: false, payloadType: 0, sequenceNumber: seq, timestamp: seq * 160, ssrc: 4321, payload });
}

const q = (v: number): number => decodeMulawSample(encodeMulawSample(v));

/** 20 ms frames whose samples say which frame they are (1000, 2000, ...). */
function numberedFrames(n: number, from = 1): Int16Array {
  const pcm = new Int16Array(160 * n);
  for (let i = 0; i < n; i++) pcm.fill((from + i) * 1000, i * 160, (i + 1) * 160);
  return pcm;
}
const frameNumber = (p: RtpPacket): number => Math.round(decodeMulawSample(p.payload[0]!) / 1000);

test.after(async () => {
  await media.stop();
});

test('a threaded session and a plain one exchange audio both ways, in order and without seams', async () => {
  // No silence filler: each side's jitter buffer starts on the tone itself, as this test has always measured.
  // Fixed buffers as deep as what each side receives (5 and 10 frames): the plumbing is under test here, not
  // the buffer's adaptation, so a busy machine's late packet cannot make a seam.
  const a = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, jitterDepthFrames: 5, adaptiveJitter: false });
  assert.instance(a, ThreadedRtpSession);
  assert.is(a.localPort % 2, 0);
  const b = await RtpSession.open({
    bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: a.localPort }, jitterDepthFrames: 10, adaptiveJitter: false,
  });
  try {
  a.setRemote({ address: HOST, port: b.localPort });
  const atA: AudioFrame[] = [];
  const atB: AudioFrame[] = [];
  a.on('audio', (f) => atA.push(f));
  b.on('audio', (f) => atB.push(f));
  const tone = new Int16Array(160 * 10);
  for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.cos((2 * Math.PI * 500 * i) / 8000));
  // Sent in odd pieces within one turn: the batch carries them in order.
  a.sendFrame(tone.subarray(0, 100));
  a.sendFrame(tone.subarray(100, 1000));
  a.sendFrame(tone.subarray(1000));
  assert.is(a.queuedMs, 200);
  b.sendFrame(tone.subarray(0, 800));
  await waitFor('audio at B', () => b.stats.jitterBuffer.played >= 10);
  await waitFor('audio at A', () => a.stats.jitterBuffer.played >= 5);
  const heardB = atB.flatMap((f) => Array.from(f.pcm));
  const startB = heardB.findIndex((v) => v !== 0);
  for (let i = 0; i < 1600; i++) assert.is(heardB[startB + i], q(tone[i]!), `B sample ${i}`);
  const heardA = atA.flatMap((f) => Array.from(f.pcm));
  const startA = heardA.findIndex((v) => v !== 0);
  for (let i = 0; i < 800; i++) assert.is(heardA[startA + i], q(tone[i]!), `A sample ${i}`);
  for (const f of atA) {
    assert.is(f.kind, 'audio');
    assert.is(f.sampleRate, 8000);
    assert.is(f.pcm.length, 160);
  }
  // Frames are the listeners' to keep: each has its own buffer.
  assert.ok(new Set(atA.map((f) => f.pcm.buffer)).size === atA.length);
  assert.is(b.stats.lost, 0);
  await waitFor('stats', () => a.stats.packetsOut === 10);
  assert.is(a.queuedMs, 0);
  } finally {
    await a.close();
    await b.close();
  }
  assert.is(media.sessionCount, 0);
});

test('outgoing packets: continuous sequence numbers and timestamps, one SSRC, a marker per talkspurt', async () => {
  const peer = await rawPeer();
  // Without silence filler (continuous: false) every pause is a gap the marker announces.
  const s = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: peer.port } });
  const spurts: number[] = [];
  s.on('talkspurt', (t) => spurts.push(t.timeMs));
  s.sendFrame(numberedFrames(5));
  await waitFor('first talkspurt', () => peer.packets.length >= 5);
  await sleep(100);
  s.sendFrame(numberedFrames(3, 6));
  await waitFor('second talkspurt', () => peer.packets.length >= 8);
  const p = peer.packets;
  assert.ok(p.every((x) => x.ssrc === s.ssrc && x.payloadType === 0 && x.payload.length === 160));
  assert.equal(p.map(frameNumber), [1, 2, 3, 4, 5, 6, 7, 8]);
  for (let i = 1; i < p.length; i++) assert.is(p[i]!.sequenceNumber, (p[i - 1]!.sequenceNumber + 1) & 0xffff);
  for (let i = 1; i < 5; i++) assert.is((p[i]!.timestamp - p[i - 1]!.timestamp) >>> 0, 160);
  for (let i = 6; i < 8; i++) assert.is((p[i]!.timestamp - p[i - 1]!.timestamp) >>> 0, 160);
  assert.ok((p[5]!.timestamp - p[4]!.timestamp) >>> 0 > 160, 'the pause advanced the clock');
  assert.equal(p.map((x) => x.marker), [true, false, false, false, false, true, false, false]);
  await waitFor('two talkspurt events', () => spurts.length === 2);
  await s.close();
  peer.close();
});

test('DTMF both ways, each digit once; sendDtmf refuses without telephone-event', async () => {
  const a = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, telephoneEventPayloadType: 101 });
  const b = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, telephoneEventPayloadType: 101, remote: { address: HOST, port: a.localPort } });
  a.setRemote({ address: HOST, port: b.localPort });
  const atA: DtmfFrame[] = [];
  const atB: DtmfFrame[] = [];
  a.on('dtmf', (d) => atA.push(d));
  b.on('dtmf', (d) => atB.push(d));
  assert.ok(a.sendDtmf('5', 60));
  assert.ok(a.sendDtmf('#', 60));
  assert.not.ok(a.sendDtmf('x'));
  assert.ok(b.sendDtmf('9'));
  await waitFor('digits at B', () => atB.length >= 2);
  await waitFor('digit at A', () => atA.length >= 1);
  await waitFor('dtmfOut', () => a.stats.dtmfOut === 2);
  await sleep(60);
  assert.equal(atB.map((d) => d.digit), ['5', '#']);
  assert.equal(atA.map((d) => d.digit), ['9']);
  assert.is(atB[0]!.durationMs, 60);
  assert.is(atA[0]!.durationMs, 100);
  assert.is(atA[0]!.kind, 'dtmf');
  assert.ok(Math.abs(performance.now() - atA[0]!.timeMs) < 1000, 'DTMF time on our clock');
  assert.is(a.stats.dtmfIn, 1);
  const noTe = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0 });
  assert.not.ok(noTe.sendDtmf('1'));
  noTe.setCodec(PCMU, 101);
  assert.ok(noTe.sendDtmf('1'));
  assert.throws(() => noTe.setCodec({ name: 'opus', payloadType: 111 }), RangeError);
  await Promise.all([a.close(), b.close(), noTe.close()]);
});

test('clearOutgoing: audio stops within a tick and queuedMs falls to 0 at once', async () => {
  const peer = await rawPeer();
  const s = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, remote: { address: HOST, port: peer.port } });
  s.sendFrame(numberedFrames(100));
  assert.is(s.queuedMs, 2000);
  await waitFor('audio flowing', () => peer.packets.length >= 10);
  await waitFor('the mirror follows the packets', () => s.queuedMs <= 2000 - 10 * 20);
  const before = s.queuedMs;
  const dropped = s.clearOutgoing();
  assert.is(dropped, before);
  assert.is(s.queuedMs, 0);
  const sentAtClear = peer.packets.length;
  await sleep(150);
  assert.ok(peer.packets.length - sentAtClear <= 1, `${peer.packets.length - sentAtClear} packets after the clear`);
  assert.is(s.queuedMs, 0);
  const sent = peer.packets.length;
  // What the media thread really dropped, and what left, add up to what was queued.
  assert.is(s.lastClearedMs + sent * 20, 2000);
  // Hold: sending stops and drops the queue; resume sends again.
  s.sendFrame(numberedFrames(50));
  s.setDirection({ send: false, receive: true });
  assert.is(s.queuedMs, 0);
  s.sendFrame(numberedFrames(5));
  assert.is(s.queuedMs, 0);
  await sleep(80);
  const held = peer.packets.length;
  assert.ok(held - sent <= 1);
  s.setDirection({ send: true, receive: true });
  s.sendFrame(numberedFrames(2, 7));
  assert.is(s.queuedMs, 40);
  await waitFor('resumed audio', () => peer.packets.length >= held + 2);
  assert.equal(peer.packets.slice(-2).map(frameNumber), [7, 8]);
  await waitFor('drained', () => s.queuedMs === 0);
  await s.close();
  peer.close();
});

test('caller audio, talkspurt and lastPacketAt times are on the main thread clock', async () => {
  const peer = await rawPeer();
  const s = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, jitterDepthFrames: 1, remote: { address: HOST, port: peer.port } });
  const audioLag: number[] = [];
  const spurtLag: number[] = [];
  s.on('audio', (f) => audioLag.push(performance.now() - f.timeMs));
  s.on('talkspurt', (t) => spurtLag.push(performance.now() - t.timeMs));
  const sentAt = performance.now();
  await send(peer.socket, s.localPort, pcmuPacket(1, 1000));
  s.sendFrame(numberedFrames(3));
  await waitFor('talkspurt', () => spurtLag.length === 1);
  await waitFor('audio', () => audioLag.length >= 10);
  // Within a few ms of now (plus a loaded machine's scheduling), never off by the threads' origin difference.
  assert.ok(spurtLag[0]! >= 0 && spurtLag[0]! < 50, `talkspurt lag ${spurtLag[0]}`);
  const sorted = [...audioLag].sort((x, y) => x - y);
  assert.ok(sorted[0]! >= -1 && sorted[Math.floor(sorted.length / 2)]! < 30, `audio lags ${sorted.map((v) => v.toFixed(1)).join(' ')}`);
  assert.ok(s.lastPacketAt >= sentAt - 1 && s.lastPacketAt <= performance.now(), `lastPacketAt ${s.lastPacketAt - sentAt}`);
  // The first packet left about when its talkspurt says.
  const first = peer.packets[0]!;
  assert.ok(first.marker);
  await s.close();
  peer.close();
});

test('close sends BYE and releases the port; the worker allocator refuses past its range', async () => {
  const peer = await rawPeer();
  const portRange = { minPort: 43100, maxPort: 43103 }; // two pairs
  const a = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, portRange, remote: { address: HOST, port: peer.port, rtcpPort: peer.port } });
  const b = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, portRange });
  assert.ok([43100, 43102].includes(a.localPort) && [43100, 43102].includes(b.localPort) && a.localPort !== b.localPort);
  try {
    await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, portRange });
    assert.unreachable('a third pair in a two-pair range');
  } catch (error) {
    assert.instance(error, PortExhaustedError);
    assert.match((error as Error).message, /no free RTP port pair in 43100-43103/);
  }
  await media.open({ bindAddress: HOST, codec: { name: 'G729', payloadType: 18 } }).then(
    () => assert.unreachable('G729'),
    (error: unknown) => assert.instance(error, RangeError),
  );
  let closed = 0;
  a.on('close', () => closed++);
  const port = a.localPort;
  a.sendFrame(numberedFrames(3));
  await waitFor('sent', () => peer.packets.length >= 3);
  await a.close('done');
  assert.is(closed, 1);
  assert.is(a.stats.packetsOut, 3, 'the final counters');
  assert.is(a.stats.rtcpOut >= 1, true);
  await a.close(); // twice is fine
  assert.is(closed, 1);
  a.sendFrame(numberedFrames(1)); // ignored after close
  assert.is(a.queuedMs, 0);
  for (const p of [port, port + 1]) {
    const again = createSocket('udp4');
    await new Promise<void>((resolve, reject) => { again.once('error', reject); again.bind(p, HOST, () => resolve()); });
    again.close();
  }
  // And the pair is the allocator's to hand out again.
  const c = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, portRange });
  assert.is(c.localPort, port);
  await Promise.all([b.close(), c.close()]);
  peer.close();
});

test('bad packets are dropped and counted in the worker; the audio goes on', async () => {
  const peer = await rawPeer();
  const s = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, jitterDepthFrames: 2 });
  try {
    const frames: AudioFrame[] = [];
    s.on('audio', (f) => frames.push(f));
    const bad = [Buffer.from('hello'), Buffer.alloc(40, 0x40), Buffer.alloc(0), Buffer.from([0x8f, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1])];
    for (let seq = 10; seq < 18; seq++) {
      await send(peer.socket, s.localPort, pcmuPacket(seq, 4000));
      await send(peer.socket, s.localPort, bad[seq % bad.length]!);
      await sleep(20);
    }
    await waitFor('playout', () => frames.filter((f) => f.pcm[0] === q(4000)).length === 8);
    await sleep(40);
    assert.equal(s.stats.dropped, {
      'too-short': 4, 'bad-version': 2, 'bad-csrc': 2, 'bad-extension': 0, 'bad-padding': 0, 'foreign-source': 0, 'wrong-source': 0, 'unknown-pt': 0, 'not-receiving': 0, srtp: 0, srtcp: 0,
    });
    assert.is(s.stats.packetsIn, 16);
  } finally {
    await s.close();
    peer.close();
  }
});

test('a crashed worker: open sessions get error then close; the next open starts a new worker', async () => {
  const a = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0 });
  const b = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0 });
  const seen: string[] = [];
  a.on('error', (e) => seen.push(`a error ${e.name}`));
  a.on('close', () => seen.push('a close'));
  b.on('close', () => seen.push('b close')); // no error listener: no throw either
  a.sendFrame(numberedFrames(50));
  const starts = media.stats.starts;
  const crashes = media.stats.crashes;
  const warnings: string[] = [];
  const onWarning = (w: Error): void => { warnings.push(w.message); };
  process.on('warning', onWarning);
  media.simulateCrash();
  await waitFor('sessions closed', () => seen.includes('a close') && seen.includes('b close'));
  await sleep(20);
  process.off('warning', onWarning);
  assert.equal(seen.filter((x) => x.startsWith('a')), ['a error MediaThreadError', 'a close']);
  assert.is(media.stats.crashes, crashes + 1);
  assert.is(warnings.filter((w) => /media thread died/.test(w)).length, 1, 'logged once');
  assert.is(a.queuedMs, 0);
  assert.not.ok(a.sendDtmf('1'));
  await a.close(); // closing a dead session resolves
  assert.not.ok(media.running);
  // A new session works (a new worker).
  const peer = await rawPeer();
  const c = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, remote: { address: HOST, port: peer.port } });
  assert.is(media.stats.starts, starts + 1);
  c.sendFrame(numberedFrames(3));
  await waitFor('audio from the new worker', () => peer.packets.length >= 3);
  await c.close();
  peer.close();
});

test('a hung worker is terminated by the watchdog: its sessions end as on a crash', async () => {
  await media.stop();
  media.hangTimeoutMs = 300;
  try {
    const s = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0 });
    const errors: Error[] = [];
    let closed = false;
    s.on('error', (e) => errors.push(e));
    s.on('close', () => { closed = true; });
    await sleep(100);
    const crashes = media.stats.crashes;
    const onWarning = (): void => undefined;
    process.on('warning', onWarning);
    media.simulateHang(30_000);
    await waitFor('the hung worker ended', () => closed, { timeoutMs: 5000 });
    process.off('warning', onWarning);
    assert.is(errors.length, 1);
    assert.match(errors[0]!.message, /stopped responding/);
    assert.is(media.stats.crashes, crashes + 1);
  } finally {
    media.hangTimeoutMs = 5000;
  }
  // A blocked main thread is not mistaken for a hung worker.
  await media.stop();
  media.hangTimeoutMs = 200;
  try {
    const s = await media.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0 });
    let closed = false;
    s.on('close', () => { closed = true; });
    const until = performance.now() + 700;
    while (performance.now() < until) { /* the main thread is busy */ }
    await sleep(400);
    assert.not.ok(closed, 'the worker was fine');
    await s.close();
  } finally {
    media.hangTimeoutMs = 5000;
    await media.stop();
  }
});

test('a warmed-up media thread does not keep the process alive once its sessions are closed', async () => {
  const url = new URL('../../../media/rtp/media-thread.ts', import.meta.url).href;
  const code = `
    const { MediaThread } = await import(${JSON.stringify(url)});
    await MediaThread.shared().warmUp();
    if (!MediaThread.shared().running) throw new Error('not warmed up');
    const s = await MediaThread.shared().open({ bindAddress: '127.0.0.1', codec: { name: 'PCMU', payloadType: 0 }, inactivityTimeoutMs: 0 });
    s.sendFrame(new Int16Array(1600));
    await new Promise((r) => setTimeout(r, 100));
    await s.close();
    console.log('closed');
  `;
  const root = fileURLToPath(new URL('../../..', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let closedAt = 0;
  child.stdout.on('data', () => { if (!closedAt && out.includes('closed')) closedAt = performance.now(); });
  const exit = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); resolve(-1); }, 30_000);
    child.on('close', (c) => { clearTimeout(timer); resolve(c); });
  });
  assert.is(exit, 0, out);
  assert.ok(out.includes('closed'), out);
  assert.ok(performance.now() - closedAt < 2000, `exited ${Math.round(performance.now() - closedAt)} ms after closing`);
});

/** Nice values of this process's threads (Linux /proc; field 19 of stat). */
function threadNiceValues(): number[] {
  return readdirSync('/proc/self/task').map((tid) => {
    const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  });
}

test('niceness: the media thread sets its own scheduling priority, not the process\'s, and says so', async () => {
  const own = new MediaThread();
  own.niceness = 7; // raising nice needs no privilege
  const release = own.acquire();
  try {
    await own.warmUp();
    assert.match(own.priorityNote, /set to nice 7/);
    assert.ok(threadNiceValues().includes(7), 'one thread of the process runs at nice 7');
    assert.is(getPriority(), 0, 'the main thread keeps its priority');
  } finally {
    await release();
  }
});

test.run();
