import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HEADER_LENGTH, KeyRing, LocalMasterKey, LocalObjectStore, MemoryTenantKeyStore, RecordingVault, RecordingWriter, VaultError } from '../../../storage/vault/index.ts';
import type { AppendHandle } from '../../../storage/vault/index.ts';
import { SMALL_CHUNK, rejection } from './support/helpers.ts';

const ref = { tenantId: 'acme', recordingId: 'call-7' };
const MARKER = Buffer.from('PLAINTEXT-MARKER:caller said their card number is 4111;');

async function localVault() {
  const root = await mkdtemp(join(tmpdir(), 'vault-writer-'));
  const store = new LocalObjectStore(root);
  const keys = new KeyRing({ master: LocalMasterKey.generate(), store: new MemoryTenantKeyStore() });
  return { root, store, keys, vault: new RecordingVault({ store, keys, chunkSize: SMALL_CHUNK }) };
}

function repeated(length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let at = 0; at < length; at += MARKER.length) MARKER.copy(out, at, 0, Math.min(MARKER.length, length - at));
  return out;
}

test('full chunks reach the file as they fill; plaintext never does', async () => {
  const { root, store, vault } = await localVault();
  try {
    const writer = await vault.startRecording(ref);
    const path = store.pathOf(ref);
    assert.is((await stat(path)).size, HEADER_LENGTH, 'header is on disk before any audio');
    const plain = repeated(SMALL_CHUNK * 2 + SMALL_CHUNK / 2);
    await writer.write(plain);
    const mid = await readFile(path);
    assert.is(mid.length, HEADER_LENGTH + 2 * (SMALL_CHUNK + 20), 'two sealed chunks, the half chunk still in memory');
    assert.is(mid.indexOf(MARKER.subarray(0, 16)), -1, 'no plaintext on disk mid-recording');
    const summary = await writer.finish();
    const done = await readFile(path);
    assert.is(done.length, HEADER_LENGTH + 3 * 20 + plain.length);
    assert.is(summary.storedBytes, done.length);
    assert.is(summary.chunks, 3);
    assert.is(done.indexOf(MARKER.subarray(0, 16)), -1, 'no plaintext on disk after finish');
    assert.is((await stat(path)).mode & 0o777, 0o600);
    const back = await vault.read(ref);
    assert.ok(back.pcm.equals(plain));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('write copies its input, so the caller may reuse its buffer at once', async () => {
  const { root, vault } = await localVault();
  try {
    const writer = await vault.startRecording(ref);
    const scratch = Buffer.alloc(640);
    const expected: Buffer[] = [];
    for (let i = 0; i < 10; i++) {
      scratch.fill(i + 1);
      expected.push(Buffer.from(scratch));
      void writer.write(scratch); // not awaited, as a media callback would do
    }
    await writer.finish();
    assert.ok((await vault.read(ref)).pcm.equals(Buffer.concat(expected)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a finished writer refuses more audio', async () => {
  const { root, vault } = await localVault();
  try {
    const writer = await vault.startRecording(ref);
    await writer.finish();
    assert.instance(await rejection(writer.write(Buffer.alloc(4))), VaultError);
    assert.instance(await rejection(writer.finish()), VaultError);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a failing store surfaces on write and on finish, and the handle is closed', async () => {
  let appends = 0;
  let closed = false;
  const handle: AppendHandle = {
    append: async () => { if (++appends > 1) throw new Error('disk full'); },
    sync: async () => {},
    close: async () => { closed = true; },
  };
  const writer = await RecordingWriter.create({
    handle, tenantId: 't', recordingId: 'r', dataKey: Buffer.alloc(32, 3), keyId: 'k1', wrappedKey: Buffer.alloc(61, 1), chunkSize: SMALL_CHUNK,
  });
  const err = await rejection(writer.write(Buffer.alloc(SMALL_CHUNK)));
  assert.match(String(err), /disk full/);
  assert.match(String(await rejection(writer.write(Buffer.alloc(4)))), /disk full/);
  assert.match(String(await rejection(writer.finish())), /disk full/);
  assert.ok(closed);
});

test.run();
