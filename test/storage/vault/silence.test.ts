import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ChunkAuthenticationError, HEADER_LENGTH, KeyRing, LocalMasterKey, LocalObjectStore, MemoryTenantKeyStore, RecordingTap, RecordingVault,
} from '../../../storage/vault/index.ts';
import { SMALL_CHUNK, decryptBytes, memoryVault, pattern } from './support/helpers.ts';

const ref = { tenantId: 'acme', recordingId: 'call-9' };
const N = 160; // 20 ms at 8 kHz

const zeroed = (buf: Buffer, from: number, to: number): boolean => buf.subarray(from, to).every((b) => b === 0);

test('silence() zeroes a range in the unsealed chunk and re-seals sealed chunks in place under a new generation', async () => {
  const { vault, store, keys } = memoryVault();
  const writer = await vault.startRecording(ref);
  const plain = pattern(SMALL_CHUNK * 3 + 100);
  await writer.write(plain);
  const before = store.bytes(ref);
  // From inside chunk 0 to inside chunk 1 (both sealed), and a range in the unsealed remainder.
  await writer.silence(SMALL_CHUNK - 40, SMALL_CHUNK + 60);
  await writer.silence(SMALL_CHUNK * 3 + 10, SMALL_CHUNK * 3 + 20);
  const after = store.bytes(ref);
  assert.is(after.length, before.length, 're-sealed in place: same size');
  const chunk = (i: number) => HEADER_LENGTH + i * (SMALL_CHUNK + 20);
  assert.is(after.readUInt8(chunk(0)), 1, 'chunk 0 now at generation 1 (top byte of its length field)');
  assert.is(after.readUInt8(chunk(1)), 1);
  assert.ok(after.subarray(chunk(2), chunk(3)).equals(before.subarray(chunk(2), chunk(3))), 'chunk 2 untouched');
  const summary = await writer.finish();
  assert.is(summary.resealed, 2);
  const read = await decryptBytes(store.bytes(ref), keys);
  assert.is(read.pcm.length, plain.length);
  assert.ok(zeroed(read.pcm, SMALL_CHUNK - 40, SMALL_CHUNK + 60));
  assert.ok(zeroed(read.pcm, SMALL_CHUNK * 3 + 10, SMALL_CHUNK * 3 + 20));
  const expected = Buffer.from(plain);
  expected.fill(0, SMALL_CHUNK - 40, SMALL_CHUNK + 60);
  expected.fill(0, SMALL_CHUNK * 3 + 10, SMALL_CHUNK * 3 + 20);
  assert.ok(read.pcm.equals(expected), 'everything else is unchanged');
});

test('a chunk re-sealed twice verifies only at its newest generation; an old copy put back is refused', async () => {
  const { vault, store, keys } = memoryVault();
  const writer = await vault.startRecording(ref);
  await writer.write(pattern(SMALL_CHUNK * 2));
  await writer.silence(0, 8);
  const gen1 = store.bytes(ref);
  await writer.silence(100, 108);
  await writer.finish();
  const read = await decryptBytes(store.bytes(ref), keys);
  assert.ok(zeroed(read.pcm, 0, 8) && zeroed(read.pcm, 100, 108));
  // Splice generation 1 of chunk 0 (length field changed to claim generation 2) into the final file.
  const final = Buffer.from(store.bytes(ref));
  gen1.copy(final, HEADER_LENGTH + 4, HEADER_LENGTH + 4, HEADER_LENGTH + 4 + SMALL_CHUNK + 16);
  try {
    await decryptBytes(final, keys);
    assert.unreachable('an old generation with a new generation number must not verify');
  } catch (err) {
    assert.instance(err, ChunkAuthenticationError);
  }
});

test('a file-backed recording re-seals chunks on disk while the writer is appending', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vault-silence-'));
  try {
    const store = new LocalObjectStore(root);
    const keys = new KeyRing({ master: LocalMasterKey.generate(), store: new MemoryTenantKeyStore() });
    const vault = new RecordingVault({ store, keys, chunkSize: SMALL_CHUNK });
    const writer = await vault.startRecording(ref);
    const plain = Buffer.alloc(SMALL_CHUNK * 4, 0x55);
    await writer.write(plain.subarray(0, SMALL_CHUNK * 2));
    await writer.silence(10, SMALL_CHUNK + 10);
    await writer.write(plain.subarray(SMALL_CHUNK * 2));
    await writer.finish();
    const read = await decryptBytes(await readFile(store.pathOf(ref)), keys);
    assert.is(read.pcm.length, plain.length);
    assert.ok(zeroed(read.pcm, 10, SMALL_CHUNK + 10));
    assert.is(read.pcm.subarray(SMALL_CHUNK + 10).every((b) => b === 0x55), true);
    assert.is(read.pcm.subarray(0, 10).every((b) => b === 0x55), true);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** A stereo recording fed with constant caller (1000) and agent (-1000) frames from t = 0. */
async function feedTap(holdMs: number, chunkSize = SMALL_CHUNK) {
  const { vault, store, keys } = memoryVault(chunkSize);
  const writer = await vault.startRecording(ref);
  const tap = new RecordingTap(writer, { holdMs });
  let t = 0;
  const push = (frames: number): void => {
    for (let i = 0; i < frames; i++, t += 20) {
      tap.caller({ pcm: new Int16Array(N).fill(1000), timeMs: t });
      tap.agent({ pcm: new Int16Array(N).fill(-1000), timeMs: t });
    }
  };
  const legs = async () => {
    const pcm = (await decryptBytes(store.bytes(ref), keys)).pcm;
    const s = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
    /** Per 20 ms frame: true when both legs are silent over the whole frame. */
    const silentFrames: boolean[] = [];
    for (let f = 0; f * N * 2 < s.length; f++) silentFrames.push(s.subarray(f * N * 2, (f + 1) * N * 2).every((v) => v === 0));
    return { samples: s, silentFrames };
  };
  return { tap, writer, store, push, legs };
}

test('the tap holds its window in memory: a span inside it is silenced with no chunk re-sealed', async () => {
  const { tap, store, push, legs } = await feedTap(1000);
  push(100); // 2 s
  const stored = store.bytes(ref).length;
  tap.silence(1500, 1700); // inside the last second, still held
  assert.is(store.bytes(ref).length, stored);
  const summary = await tap.finish();
  assert.is(summary.resealed, 0, 'decided in time: nothing re-sealed');
  const { silentFrames } = await legs();
  assert.is(silentFrames.length, 100);
  assert.equal(silentFrames.map((s, i) => (s ? i : -1)).filter((i) => i >= 0), [75, 76, 77, 78, 79, 80, 81, 82, 83, 84]);
});

test('a span that arrives after its audio left the window re-seals the affected chunks; one ahead of the audio applies when it comes', async () => {
  const { tap, push, legs } = await feedTap(200);
  push(100);
  await new Promise((r) => setImmediate(r));
  tap.silence(100, 300); // long gone to the writer: sealed chunks re-sealed
  tap.silence(2100, 2200); // ahead of the audio
  push(20);
  const summary = await tap.finish();
  assert.ok(summary.resealed >= 1, 'late decision re-sealed a chunk');
  const { silentFrames, samples } = await legs();
  const silent = silentFrames.map((s, i) => (s ? i : -1)).filter((i) => i >= 0);
  assert.equal(silent, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 105, 106, 107, 108, 109]);
  assert.is(samples[0], 1000);
  assert.is(samples[1], -1000);
});

test('a span follows the caller frames to where jitter placed them in the recording', async () => {
  const { vault, store, keys } = memoryVault();
  const writer = await vault.startRecording(ref);
  const tap = new RecordingTap(writer, { holdMs: 1000 });
  // Caller frames stamped on a 20 ms grid until 95 ms, then bunched: the one stamped 101 rounds into slot 5,
  // already taken, so it and every later frame sit one slot (19 ms) later than their stamps say.
  const times = [0, 20, 40, 60, 80, 95, 101, 121, 141, 161];
  times.forEach((t, i) => {
    tap.caller({ pcm: new Int16Array(N).fill(100 + i), timeMs: t });
    tap.agent({ pcm: new Int16Array(N).fill(-1), timeMs: i * 20 });
  });
  assert.is(tap.recordingMs(121), 140, 'the frame stamped 121 ms sits at 140 ms of the recording');
  tap.silence(121, 141); // exactly the frame stamped 121 (caller value 107)
  await tap.finish();
  const pcm = (await decryptBytes(store.bytes(ref), keys)).pcm;
  const s = new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2);
  const callerOfFrame = (f: number): number => s[f * N * 2]!;
  const silent = Array.from({ length: s.length / (N * 2) }, (_, f) => s.subarray(f * N * 2, (f + 1) * N * 2).every((v) => v === 0));
  assert.is(silent.filter(Boolean).length, 1, 'one frame silenced');
  assert.is(silent.indexOf(true), 7, 'the seventh slot, where that frame went');
  assert.not.ok(Array.from({ length: silent.length }, (_, f) => callerOfFrame(f)).includes(107), 'the frame stamped 121 ms is gone');
});

test('without a hold window the tap writes at once (the recording is as before)', async () => {
  const { tap, store, push, legs } = await feedTap(0);
  push(100);
  await new Promise((r) => setImmediate(r));
  assert.ok(store.bytes(ref).length > HEADER_LENGTH + 16_000, 'chunks sealed as the audio came');
  await tap.finish();
  const { silentFrames } = await legs();
  assert.is(silentFrames.filter(Boolean).length, 0);
});

test.run();
