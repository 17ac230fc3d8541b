import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { InvalidIdError, LocalObjectStore, MemoryObjectStore, RecordingExistsError, RecordingNotFoundError } from '../../../storage/vault/index.ts';
import { S3ObjectStore } from '../../../storage/vault/s3-object-store.ts';
import { startTestS3 } from '../../support/s3rver.ts';
import type { ObjectStore } from '../../../storage/vault/index.ts';
import { rejection } from './support/helpers.ts';

async function collect(iterable: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of iterable) parts.push(Buffer.from(part));
  return Buffer.concat(parts);
}

test('LocalObjectStore rejects ids that could leave its root', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vault-store-'));
  try {
    const store = new LocalObjectStore(join(root, 'objects'));
    const bad = ['..', '.', '../etc', 'a/b', 'a\\b', '/abs', '.hidden', '', 'x\0y', 'a'.repeat(65), 'tenant id', 'ünï'];
    for (const id of bad) {
      for (const ref of [{ tenantId: id, recordingId: 'r1' }, { tenantId: 't1', recordingId: id }]) {
        assert.throws(() => store.pathOf(ref), (e: unknown) => e instanceof InvalidIdError, `id ${JSON.stringify(id)}`);
        assert.instance(await rejection(store.create(ref)), InvalidIdError);
        assert.instance(await rejection(store.openRead(ref)), InvalidIdError);
        assert.instance(await rejection(store.delete(ref)), InvalidIdError);
      }
    }
    // Nothing was created anywhere by the refused calls.
    assert.equal(await readdir(root), []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

async function exercise(store: ObjectStore): Promise<void> {
  const ref = { tenantId: 'acme', recordingId: 'rec-1' };
  assert.is(await store.stat(ref), null);
  assert.instance(await rejection(store.openRead(ref)), RecordingNotFoundError);
  const handle = await store.create(ref);
  await handle.append(Buffer.from('hello '));
  await handle.append(Buffer.from('world'));
  await handle.sync();
  await handle.close();
  assert.instance(await rejection(store.create(ref)), RecordingExistsError);
  assert.equal(await store.stat(ref), { size: 11 });
  assert.is((await collect(await store.openRead(ref))).toString(), 'hello world');
  assert.is((await collect(await store.openRead(ref, { start: 6, end: 8 }))).toString(), 'wor');
  await store.overwrite(ref, 0, Buffer.from('HELLO'));
  assert.is((await collect(await store.openRead(ref))).toString(), 'HELLO world');
  await store.delete(ref);
  assert.is(await store.stat(ref), null);
  await store.delete(ref);
}

test('LocalObjectStore: create, append, read ranges, overwrite in place, stat, delete; files private', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vault-store-'));
  try {
    const store = new LocalObjectStore(root);
    const ref = { tenantId: 'acme', recordingId: 'mode-check' };
    await (await store.create(ref)).close();
    assert.is((await stat(store.pathOf(ref))).mode & 0o777, 0o600);
    assert.is((await stat(join(root, 'acme'))).mode & 0o777, 0o700);
    assert.is(store.pathOf(ref), join(root, 'acme', 'mode-check.saxrec'));
    await exercise(store);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('MemoryObjectStore behaves the same', async () => {
  await exercise(new MemoryObjectStore());
});

test('S3ObjectStore (s3rver on loopback) behaves the same', async () => {
  const s3 = await startTestS3();
  const store = new S3ObjectStore({ bucket: s3.bucket, prefix: 'r/', client: s3.client });
  try {
    await exercise(store);
  } finally {
    store.close();
    await s3.close();
  }
});

test('S3ObjectStore streams a long recording up in parts as it is written, and rewrites a recent chunk before it is uploaded', async () => {
  const s3 = await startTestS3();
  const store = new S3ObjectStore({ bucket: s3.bucket, client: s3.client, partSize: 5 * 1024 * 1024, holdBackBytes: 256 * 1024 });
  const sent: string[] = [];
  store.client.middlewareStack.add((next, context) => async (args) => { sent.push(context.commandName ?? ''); return next(args); }, { step: 'initialize' });
  try {
    const ref = { tenantId: 'acme', recordingId: 'long' };
    const audio = randomBytes(12 * 1024 * 1024 + 12345);
    const handle = await store.create(ref);
    for (let at = 0; at < audio.length; at += 64 * 1024) await handle.append(audio.subarray(at, at + 64 * 1024));
    await handle.sync();
    assert.is(sent.filter((c) => c === 'UploadPartCommand').length, 2, 'two full parts went up while the recording was still being written');
    // A chunk in the held-back tail is re-sealed (audio redaction) before the close.
    const patch = Buffer.alloc(1000, 7);
    await store.overwrite(ref, audio.length - 5000, patch);
    patch.copy(audio, audio.length - 5000);
    await assert.instance(await rejection(store.overwrite(ref, 0, patch)), Error);
    await handle.close();
    assert.equal(await store.stat(ref), { size: audio.length });
    assert.ok((await collect(await store.openRead(ref))).equals(audio), 'the object is the bytes appended, with the patch');
    assert.ok((await collect(await store.openRead(ref, { start: 5 * 1024 * 1024 - 10, end: 5 * 1024 * 1024 + 9 }))).equals(audio.subarray(5 * 1024 * 1024 - 10, 5 * 1024 * 1024 + 10)), 'a range across a part boundary');
  } finally {
    store.close();
    await s3.close();
  }
});

test.run();
