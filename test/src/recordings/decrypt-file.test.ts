/**
 * decryptToWavFile writes only a new file: created exclusively with mode 0600;
 * an existing file, a symlink to one or a dangling symlink is refused and left
 * as it was; a failure mid-way removes the file it created, and never a file
 * that has since taken its place.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav } from '../../../media/audio/wav.ts';
import { decryptToWavFile, OutputExistsError } from '../../../src/recordings/decrypt-file.ts';
import { CHUNK_OVERHEAD, ChunkAuthenticationError, HEADER_LENGTH } from '../../../storage/vault/index.ts';
import { SMALL_CHUNK, chunked, memoryVault, pattern, record, rejection } from '../../storage/vault/support/helpers.ts';

const ref = { tenantId: 'tenant-a', recordingId: 'rec-1' };
const plain = pattern(SMALL_CHUNK * 4);
const ctx = memoryVault();
await record(ctx.vault, ref, plain);
const bytes = ctx.store.bytes(ref);
const dir = await mkdtemp(join(tmpdir(), 'decrypt-file-'));
const OTHER = 'somebody else\'s file\n';

test('a new file: the WAV, mode 0600 whatever the umask', async () => {
  const out = join(dir, 'new.wav');
  const previous = process.umask(0o000);
  try {
    const r = await decryptToWavFile(chunked(bytes), ctx.keys, out, ref);
    assert.is(r.pcmBytes, plain.length);
  } finally {
    process.umask(previous);
  }
  assert.ok(parseWav(readFileSync(out)).data.equals(plain));
  assert.is(statSync(out).mode & 0o777, 0o600);
});

test('an existing file is refused and left untouched (content and mode)', async () => {
  const out = join(dir, 'existing.wav');
  writeFileSync(out, OTHER, { mode: 0o644 });
  const err = await rejection(decryptToWavFile(chunked(bytes), ctx.keys, out, ref));
  assert.instance(err, OutputExistsError);
  assert.match((err as Error).message, /already exists \(or is a symlink\); decrypt writes a new file only/);
  assert.is(readFileSync(out, 'utf8'), OTHER);
  assert.is(statSync(out).mode & 0o777, 0o644);
});

test('a symlink is refused, not followed: neither its target nor a dangling target is written', async () => {
  const target = join(dir, 'target.txt');
  writeFileSync(target, OTHER, { mode: 0o644 });
  const link = join(dir, 'link.wav');
  await symlink(target, link);
  assert.instance(await rejection(decryptToWavFile(chunked(bytes), ctx.keys, link, ref)), OutputExistsError);
  assert.is(readFileSync(target, 'utf8'), OTHER);
  assert.is(statSync(target).mode & 0o777, 0o644);
  const nowhere = join(dir, 'nowhere.wav');
  const dangling = join(dir, 'dangling.wav');
  await symlink(nowhere, dangling);
  assert.instance(await rejection(decryptToWavFile(chunked(bytes), ctx.keys, dangling, ref)), OutputExistsError);
  assert.not.ok(existsSync(nowhere), 'the dangling link\'s target was created');
});

/** The recording with its third chunk tampered, fed piece by piece; `beforeTampered` runs just before that piece. */
async function* tampered(beforeTampered: () => void): AsyncGenerator<Buffer> {
  const copy = Buffer.from(bytes);
  const third = HEADER_LENGTH + 2 * (SMALL_CHUNK + CHUNK_OVERHEAD);
  copy[third + 10]! ^= 0xff;
  yield copy.subarray(0, third);
  beforeTampered();
  yield copy.subarray(third);
}

test('a failure mid-way removes the file it created', async () => {
  const out = join(dir, 'failed.wav');
  let existedMidway = false;
  const err = await rejection(decryptToWavFile(tampered(() => { existedMidway = existsSync(out); }), ctx.keys, out, ref));
  assert.instance(err, ChunkAuthenticationError);
  assert.ok(existedMidway, 'the output was being written');
  assert.not.ok(existsSync(out), 'partial audio left behind');
});

test('a failure never deletes a file that took the created one\'s place', async () => {
  const out = join(dir, 'swapped.wav');
  const err = await rejection(decryptToWavFile(tampered(() => {
    renameSync(out, join(dir, 'moved-away.wav'));
    writeFileSync(out, OTHER);
  }), ctx.keys, out, ref));
  assert.instance(err, ChunkAuthenticationError);
  assert.is(readFileSync(out, 'utf8'), OTHER, 'somebody else\'s file was deleted');
});

test.after(() => rm(dir, { recursive: true, force: true }));

test.run();
