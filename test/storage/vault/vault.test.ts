import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav } from '../../../media/audio/wav.ts';
import {
  HEADER_LENGTH,
  KEY_BLOCK_OFFSET,
  KeyDestroyedError,
  KeyRing,
  LocalMasterKey,
  LocalObjectStore,
  MemoryTenantKeyStore,
  RecordingFormatError,
  RecordingVault,
} from '../../../storage/vault/index.ts';
import { SMALL_CHUNK, pattern, record, rejection } from './support/helpers.ts';

async function setup() {
  const root = await mkdtemp(join(tmpdir(), 'vault-e2e-'));
  const store = new LocalObjectStore(root);
  const tenantKeys = new MemoryTenantKeyStore();
  const master = LocalMasterKey.generate();
  const keys = new KeyRing({ master, store: tenantKeys });
  const vault = new RecordingVault({ store, keys, chunkSize: SMALL_CHUNK });
  return { root, store, tenantKeys, master, keys, vault, cleanup: () => rm(root, { recursive: true, force: true }) };
}

const a1 = { tenantId: 'acme', recordingId: 'call-1' };
const a2 = { tenantId: 'acme', recordingId: 'call-2' };
const g1 = { tenantId: 'globex', recordingId: 'call-1' };

test('master key rotation: audio untouched, old recordings decrypt without the old master', async () => {
  const ctx = await setup();
  try {
    const plain = pattern(SMALL_CHUNK * 2 + 77);
    await record(ctx.vault, a1, plain);
    await record(ctx.vault, g1, plain);
    const before = await readFile(ctx.store.pathOf(a1));
    const newMaster = LocalMasterKey.generate();
    assert.is((await ctx.keys.rotateMasterKey(newMaster)).rewrapped, 2);
    assert.ok((await readFile(ctx.store.pathOf(a1))).equals(before), 'recording bytes unchanged');
    const fresh = new RecordingVault({ store: ctx.store, keys: new KeyRing({ master: newMaster, store: ctx.tenantKeys }) });
    assert.ok((await fresh.read(a1)).pcm.equals(plain));
    assert.ok((await fresh.read(g1)).pcm.equals(plain));
  } finally {
    await ctx.cleanup();
  }
});

test('tenant key rotation re-wraps only the header key block; old and new recordings decrypt', async () => {
  const ctx = await setup();
  try {
    const p1 = pattern(SMALL_CHUNK * 3 + 5, 1);
    const p2 = pattern(SMALL_CHUNK + 9, 2);
    await record(ctx.vault, a1, p1);
    await record(ctx.vault, a2, p2);
    const before1 = await readFile(ctx.store.pathOf(a1));
    const before2 = await readFile(ctx.store.pathOf(a2));
    const v1 = (await ctx.vault.readHeader(a1)).keyId;

    const rotated = await ctx.vault.rotateTenantKey('acme', ['call-1']);
    assert.is(rotated.version, 2);
    assert.is(rotated.rewrapped, 1);
    assert.is.not(rotated.keyId, v1);

    const after1 = await readFile(ctx.store.pathOf(a1));
    assert.is(after1.length, before1.length);
    assert.ok(after1.subarray(0, KEY_BLOCK_OFFSET).equals(before1.subarray(0, KEY_BLOCK_OFFSET)), 'bound header and MAC unchanged');
    assert.not.ok(after1.subarray(KEY_BLOCK_OFFSET, HEADER_LENGTH).equals(before1.subarray(KEY_BLOCK_OFFSET, HEADER_LENGTH)), 'key block rewritten');
    assert.ok(after1.subarray(HEADER_LENGTH).equals(before1.subarray(HEADER_LENGTH)), 'audio chunks untouched');
    assert.is((await ctx.vault.readHeader(a1)).keyId, rotated.keyId);
    assert.ok((await readFile(ctx.store.pathOf(a2))).equals(before2), 'recordings not listed are not touched');

    assert.ok((await ctx.vault.read(a1)).pcm.equals(p1));
    assert.ok((await ctx.vault.read(a2)).pcm.equals(p2), 'still readable under the previous version');
    const a3 = { tenantId: 'acme', recordingId: 'call-3' };
    await record(ctx.vault, a3, p2);
    assert.is((await ctx.vault.readHeader(a3)).keyId, rotated.keyId, 'new recordings use the new version');
    // Rotating again and re-wrapping everything moves every recording to version 3.
    const again = await ctx.vault.rotateTenantKey('acme', ['call-1', 'call-2', 'call-3']);
    assert.is(again.rewrapped, 3);
    for (const ref of [a1, a2, a3]) assert.is((await ctx.vault.readHeader(ref)).keyId, again.keyId);
    assert.ok((await ctx.vault.read(a2)).pcm.equals(p2));
  } finally {
    await ctx.cleanup();
  }
});

test('tenant key rotation refuses a recording stored under another tenant', async () => {
  const ctx = await setup();
  try {
    await record(ctx.vault, g1, pattern(10));
    await record(ctx.vault, a1, pattern(10));
    // globex's file placed at acme's path.
    await rm(ctx.store.pathOf(a1));
    const { copyFile } = await import('node:fs/promises');
    await copyFile(ctx.store.pathOf(g1), ctx.store.pathOf(a1));
    assert.instance(await rejection(ctx.vault.rotateTenantKey('acme', ['call-1'])), RecordingFormatError);
  } finally {
    await ctx.cleanup();
  }
});

test('crypto-shredding: after destroying the tenant key, every recording of the tenant fails with KeyDestroyedError', async () => {
  const ctx = await setup();
  try {
    await record(ctx.vault, a1, pattern(SMALL_CHUNK * 2));
    await record(ctx.vault, a2, pattern(100));
    await ctx.vault.rotateTenantKey('acme', ['call-1']); // two key versions in play
    await record(ctx.vault, g1, pattern(100));
    await ctx.keys.destroyTenantKey('acme');
    for (const ref of [a1, a2]) {
      assert.instance(await rejection(ctx.vault.read(ref)), KeyDestroyedError);
      assert.instance(await rejection(ctx.vault.read(ref, { allowTruncated: true })), KeyDestroyedError);
      assert.instance(await rejection(ctx.vault.wav(ref)), KeyDestroyedError);
    }
    assert.instance(await rejection(ctx.vault.startRecording({ tenantId: 'acme', recordingId: 'call-9' })), KeyDestroyedError);
    assert.ok((await ctx.vault.read(g1)).pcm.equals(pattern(100)), 'other tenants are unaffected');
  } finally {
    await ctx.cleanup();
  }
});

test('vault.wav streams a playable WAV with the exact length', async () => {
  const ctx = await setup();
  try {
    const plain = pattern(SMALL_CHUNK * 2 + 40);
    await record(ctx.vault, a1, plain);
    const parts: Buffer[] = [];
    for await (const part of await ctx.vault.wav(a1)) parts.push(part);
    const file = Buffer.concat(parts);
    assert.is(file.readUInt32LE(40), plain.length);
    const wav = parseWav(file);
    assert.is(wav.channels, 2);
    assert.ok(wav.data.equals(plain));
  } finally {
    await ctx.cleanup();
  }
});

test.run();
