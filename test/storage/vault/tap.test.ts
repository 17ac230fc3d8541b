import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWav, pcm16Samples } from '../../../media/audio/wav.ts';
import { RecordingTap, StereoInterleaver, decryptToWav } from '../../../storage/vault/index.ts';
import type { MemoryObjectStore } from '../../../storage/vault/index.ts';
import { memoryVault } from './support/helpers.ts';

const N = 160; // 20 ms at 8 kHz
const frame = (value: number): Int16Array => new Int16Array(N).fill(value);

function collector() {
  const frames: Int16Array[] = [];
  const interleaver = new StereoInterleaver({
    maxSkewFrames: 3,
    onAudio: (buf) => {
      const copy = Buffer.from(buf);
      frames.push(new Int16Array(copy.buffer, copy.byteOffset, copy.length / 2));
    },
  });
  /** [caller, agent] of each emitted frame, checked to be constant across the frame. */
  const legs = (): Array<[number, number]> => frames.map((f) => {
    for (let i = 0; i < N; i++) {
      if (f[2 * i] !== f[0] || f[2 * i + 1] !== f[1]) throw new Error('frame is not constant');
    }
    return [f[0]!, f[1]!];
  });
  return { interleaver, legs };
}

test('frames of both legs are aligned by time and interleaved caller-left, agent-right', () => {
  const { interleaver, legs } = collector();
  // The agent leg arrives a little later and in a different order of calls.
  interleaver.pushCaller(frame(1), 1000);
  interleaver.pushCaller(frame(2), 1020);
  interleaver.pushAgent(frame(-1), 1001);
  interleaver.pushCaller(frame(3), 1040);
  interleaver.pushAgent(frame(-2), 1019);
  interleaver.pushAgent(frame(-3), 1042);
  assert.equal(legs(), [[1, -1], [2, -2], [3, -3]]);
});

test('a silent leg becomes silence once the other runs far enough ahead; flush emits the rest', () => {
  const { interleaver, legs } = collector();
  for (let i = 0; i < 6; i++) interleaver.pushCaller(frame(i + 1), 5000 + i * 20);
  assert.equal(legs(), [[1, 0], [2, 0]], 'held back for up to maxSkewFrames (3)');
  interleaver.flush();
  assert.equal(legs(), [[1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 0]]);
});

test('gaps become silence, late frames are dropped and counted, jittered frames keep their order', () => {
  const { interleaver, legs } = collector();
  interleaver.pushCaller(frame(1), 0);
  interleaver.pushAgent(frame(-1), 0);
  interleaver.pushCaller(frame(2), 100); // slots 1-4 missing on both legs
  interleaver.pushAgent(frame(-2), 100);
  interleaver.pushAgent(frame(-9), 20); // arrives after slot 1 was emitted as silence
  assert.is(interleaver.lateFramesDropped, 1);
  interleaver.pushCaller(frame(3), 129); // rounds to slot 6
  interleaver.pushCaller(frame(4), 131); // also rounds to 6: the next slot
  interleaver.pushAgent(frame(-3), 120);
  interleaver.pushAgent(frame(-4), 140);
  interleaver.flush(); // slots 4 and up wait for a leg to run ahead, or for the end
  assert.equal(legs(), [[1, -1], [0, 0], [0, 0], [0, 0], [0, 0], [2, -2], [3, -3], [4, -4]]);
});

test('short frames are padded with silence, long ones fill consecutive slots', () => {
  const frames: Buffer[] = [];
  const interleaver = new StereoInterleaver({ onAudio: (b) => frames.push(Buffer.from(b)) });
  const long = new Int16Array(2 * N).fill(7);
  interleaver.pushCaller(long, 0);
  interleaver.pushAgent(new Int16Array(N / 2).fill(5), 0);
  interleaver.pushAgent(frame(6), 20);
  assert.is(frames.length, 2);
  const first = new Int16Array(frames[0]!.buffer, frames[0]!.byteOffset, 2 * N);
  assert.is(first[0], 7);
  assert.is(first[1], 5);
  assert.is(first[2 * (N - 1) + 1], 0, 'padded');
  assert.is(frames[0]!.length, N * 4);
});

test('RecordingTap records both legs into the vault and reads back as a stereo WAV', async () => {
  const { vault, store } = memoryVault(4096);
  const ref = { tenantId: 'acme', recordingId: 'tap-1' };
  const tap = await vault.startTap(ref);
  const frames = 120; // 2.4 s: several chunks
  for (let i = 0; i < frames; i++) {
    const t = 10_000 + i * 20;
    tap.caller({ pcm: frame(i + 1), timeMs: t, sampleRate: 8000 });
    if (i % 2 === 0) tap.agent({ pcm: frame(-(i + 1)), timeMs: t + 3, sampleRate: 8000 }); // agent speaks every other frame
  }
  const summary = await tap.finish();
  assert.is(tap.error, null);
  assert.is(summary.plaintextBytes, frames * N * 4);
  const parts: Buffer[] = [];
  const size = (await store.stat(ref))!.size;
  for await (const part of await decryptToWav(await (store as MemoryObjectStore).openRead(ref), vault.keys, { sourceSize: size })) parts.push(part);
  const wav = parseWav(Buffer.concat(parts));
  assert.is(wav.channels, 2);
  assert.is(wav.sampleRate, 8000);
  assert.is(Buffer.concat(parts).readUInt32LE(40), frames * N * 4, 'exact data length in the WAV header');
  const samples = pcm16Samples(wav);
  for (let i = 0; i < frames; i++) {
    assert.is(samples[i * N * 2], i + 1, `caller frame ${i}`);
    assert.is(samples[i * N * 2 + 1], i % 2 === 0 ? -(i + 1) : 0, `agent frame ${i}`);
  }
});

test('RecordingTap never throws into the media path: a wrong sample rate is reported once and stops writing', async () => {
  const { vault } = memoryVault(4096);
  const errors: unknown[] = [];
  const tap = await vault.startTap({ tenantId: 'acme', recordingId: 'tap-2' }, { onError: (e) => errors.push(e) });
  tap.caller({ pcm: frame(1), timeMs: 0, sampleRate: 16000 });
  tap.caller({ pcm: frame(1), timeMs: 20, sampleRate: 16000 });
  tap.agent({ pcm: frame(1), timeMs: 20 });
  assert.is(errors.length, 1);
  assert.instance(tap.error, RangeError);
  assert.is((await tap.finish()).plaintextBytes, 0);
});

test('RecordingTap refuses a recording that is not stereo', async () => {
  const { vault } = memoryVault(4096);
  const writer = await vault.startRecording({ tenantId: 'acme', recordingId: 'mono' }, { channels: 1 });
  assert.throws(() => new RecordingTap(writer), /2-channel/);
  await writer.finish();
});

test.run();
