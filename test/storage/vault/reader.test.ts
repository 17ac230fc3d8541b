import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  ChunkAuthenticationError,
  HEADER_LENGTH,
  HeaderAuthenticationError,
  KEY_BLOCK_OFFSET,
  RecordingFormatError,
  RecordingReader,
  TrailingDataError,
  TruncatedRecordingError,
  VaultError,
  WrongKeyError,
  KeyRing,
  LocalMasterKey,
  MemoryObjectStore,
  MemoryTenantKeyStore,
  RecordingVault,
} from '../../../storage/vault/index.ts';
import { encodeParts } from '../../../storage/vault/ids.ts';
import { randomBytes } from 'node:crypto';
import { SMALL_CHUNK, chunked, decryptBytes, memoryVault, pattern, record, rejection } from './support/helpers.ts';

const FULL = SMALL_CHUNK + 20;
const chunkAt = (i: number): number => HEADER_LENGTH + i * FULL;
const A = { tenantId: 'tenant-a', recordingId: 'rec-1' };

async function fixture(plainLength: number) {
  const ctx = memoryVault();
  const plain = pattern(plainLength);
  await record(ctx.vault, A, plain);
  return { ...ctx, plain, bytes: ctx.store.bytes(A) };
}

// ------------------------------------------------------------------ round trips

for (const [name, length] of [
  ['empty', 0],
  ['small (less than a chunk)', 100],
  ['exactly one chunk', SMALL_CHUNK],
  ['several chunks and a partial one', SMALL_CHUNK * 3 + 500],
  ['several whole chunks', SMALL_CHUNK * 4],
] as const) {
  test(`round trip: ${name}`, async () => {
    const { vault, plain, bytes } = await fixture(length);
    const out = await vault.read(A);
    assert.ok(out.pcm.equals(plain));
    assert.is(out.cutShort, false);
    assert.is(out.header.tenantId, A.tenantId);
    assert.is(out.header.recordingId, A.recordingId);
    // Layout: header, full chunks, then a last chunk of 0..chunkSize bytes.
    const chunks = Math.floor(length / SMALL_CHUNK) + 1;
    assert.is(out.chunks, chunks);
    assert.is(bytes.length, HEADER_LENGTH + length + 20 * chunks);
  });
}

test('an empty recording is a header and one empty last chunk', async () => {
  const { bytes } = await fixture(0);
  assert.is(bytes.length, HEADER_LENGTH + 20);
  assert.is(bytes.readUInt32BE(HEADER_LENGTH), 0);
});

// ------------------------------------------------------------------ truncation

test('truncation at every kind of point fails with TruncatedRecordingError, or returns the verified prefix when allowed', async () => {
  const { keys, plain, bytes } = await fixture(SMALL_CHUNK * 3 + 500);
  const cuts = [
    chunkAt(0), // header only
    chunkAt(0) + 2, // inside the first length field
    chunkAt(0) + 4 + 100, // inside the first chunk's ciphertext
    chunkAt(1) - 3, // inside the first chunk's tag
    chunkAt(1), // on a chunk boundary
    chunkAt(2) + 600,
    chunkAt(3), // the whole last chunk missing
    bytes.length - 1, // last chunk's tag cut by one byte
  ];
  for (const cut of cuts) {
    const whole = Math.max(0, Math.floor((cut - HEADER_LENGTH) / FULL));
    const err = await rejection(decryptBytes(bytes.subarray(0, cut), keys));
    assert.instance(err, TruncatedRecordingError, `cut at ${cut}`);
    assert.is((err as TruncatedRecordingError).verifiedChunks, whole, `cut at ${cut}`);
    const prefix = await decryptBytes(bytes.subarray(0, cut), keys, { allowTruncated: true });
    assert.is(prefix.cutShort, true, `cut at ${cut}`);
    assert.ok(prefix.pcm.equals(plain.subarray(0, whole * SMALL_CHUNK)), `prefix at cut ${cut}`);
  }
});

test('a file cut inside its header is truncated even when a prefix is allowed', async () => {
  const { keys, bytes } = await fixture(100);
  for (const cut of [0, 10, HEADER_LENGTH - 1]) {
    assert.instance(await rejection(decryptBytes(bytes.subarray(0, cut), keys, { allowTruncated: true })), TruncatedRecordingError);
  }
});

// ------------------------------------------------------------------ tampering

test('two reordered chunks fail authentication at the first moved position', async () => {
  const { keys, bytes } = await fixture(SMALL_CHUNK * 3 + 10);
  const swapped = Buffer.from(bytes);
  bytes.copy(swapped, chunkAt(1), chunkAt(2), chunkAt(3));
  bytes.copy(swapped, chunkAt(2), chunkAt(1), chunkAt(2));
  const err = await rejection(decryptBytes(swapped, keys));
  assert.instance(err, ChunkAuthenticationError);
  assert.is((err as ChunkAuthenticationError).chunkIndex, 1);
});

test('a chunk moved from another recording of the same tenant fails authentication', async () => {
  const { vault, store, keys, bytes } = await fixture(SMALL_CHUNK * 3);
  const other = { tenantId: A.tenantId, recordingId: 'rec-2' };
  await record(vault, other, pattern(SMALL_CHUNK * 3, 9));
  const donor = store.bytes(other);
  const spliced = Buffer.from(bytes);
  donor.copy(spliced, chunkAt(1), chunkAt(1), chunkAt(2));
  const err = await rejection(decryptBytes(spliced, keys));
  assert.instance(err, ChunkAuthenticationError);
  assert.is((err as ChunkAuthenticationError).chunkIndex, 1);
});

test('a chunk moved from another tenant fails authentication', async () => {
  const { vault, store, keys, bytes } = await fixture(SMALL_CHUNK * 3);
  const other = { tenantId: 'tenant-b', recordingId: A.recordingId };
  await record(vault, other, pattern(SMALL_CHUNK * 3, 4));
  const spliced = Buffer.from(bytes);
  store.bytes(other).copy(spliced, chunkAt(0), chunkAt(0), chunkAt(1));
  const err = await rejection(decryptBytes(spliced, keys));
  assert.instance(err, ChunkAuthenticationError);
  assert.is((err as ChunkAuthenticationError).chunkIndex, 0);
});

test('an object swapped in from another tenant is refused before any key is used', async () => {
  const { vault, store } = await fixture(100);
  const other = { tenantId: 'tenant-b', recordingId: 'rec-1' };
  await record(vault, other, pattern(100, 2));
  store.setBytes(A, store.bytes(other));
  assert.instance(await rejection(vault.read(A)), RecordingFormatError);
});

test('flipping any header byte makes the recording fail to open', async () => {
  const { keys, bytes } = await fixture(SMALL_CHUNK + 10);
  for (let i = 0; i < HEADER_LENGTH; i++) {
    const bad = Buffer.from(bytes);
    bad[i]! ^= 0x01;
    const err = await rejection(decryptBytes(bad, keys));
    assert.instance(err, VaultError, `byte ${i}`);
  }
});

test('a changed bound header field is a HeaderAuthenticationError; a changed wrapped key a WrongKeyError', async () => {
  const { keys, bytes } = await fixture(100);
  const chunkSizeChanged = Buffer.from(bytes);
  chunkSizeChanged.writeUInt32BE(2048, 12);
  assert.instance(await rejection(decryptBytes(chunkSizeChanged, keys)), HeaderAuthenticationError);
  const prefixChanged = Buffer.from(bytes);
  prefixChanged[17]! ^= 0xff;
  assert.instance(await rejection(decryptBytes(prefixChanged, keys)), HeaderAuthenticationError);
  const wrappedChanged = Buffer.from(bytes);
  wrappedChanged[KEY_BLOCK_OFFSET + 1 + 64 + 2 + 20]! ^= 0x01;
  assert.instance(await rejection(decryptBytes(wrappedChanged, keys)), WrongKeyError);
});

test('flipping a ciphertext, tag or length byte fails, and nothing of the bad chunk is released', async () => {
  const { keys, bytes, plain } = await fixture(SMALL_CHUNK * 3 + 10);
  for (const at of [chunkAt(2) + 4 + 7, chunkAt(2) + 4 + SMALL_CHUNK + 3]) {
    const bad = Buffer.from(bytes);
    bad[at]! ^= 0x80;
    const reader = await RecordingReader.open(chunked(bad), keys);
    const released: Buffer[] = [];
    const err = await rejection((async () => { for await (const part of reader) released.push(part); })());
    assert.instance(err, ChunkAuthenticationError);
    assert.is((err as ChunkAuthenticationError).chunkIndex, 2);
    assert.ok(Buffer.concat(released).equals(plain.subarray(0, 2 * SMALL_CHUNK)), 'only verified chunks were released');
  }
  const badLength = Buffer.from(bytes);
  badLength.writeUInt32BE(SMALL_CHUNK - 4, chunkAt(1));
  assert.instance(await rejection(decryptBytes(badLength, keys)), VaultError);
  const hugeLength = Buffer.from(bytes);
  hugeLength.writeUInt32BE(SMALL_CHUNK + 1, chunkAt(1));
  assert.instance(await rejection(decryptBytes(hugeLength, keys)), RecordingFormatError);
});

test('data after the last chunk is a TrailingDataError, also with a prefix allowed', async () => {
  const { keys, bytes } = await fixture(SMALL_CHUNK + 10);
  for (const extra of [Buffer.from([0]), Buffer.alloc(100, 7), bytes.subarray(chunkAt(1))]) {
    const longer = Buffer.concat([bytes, extra]);
    assert.instance(await rejection(decryptBytes(longer, keys)), TrailingDataError);
    assert.instance(await rejection(decryptBytes(longer, keys, { allowTruncated: true })), TrailingDataError);
  }
});

test('dropping the last chunk and a middle chunk is detected', async () => {
  const { keys, bytes } = await fixture(SMALL_CHUNK * 3 + 10);
  const dropped = Buffer.concat([bytes.subarray(0, chunkAt(1)), bytes.subarray(chunkAt(2))]);
  const err = await rejection(decryptBytes(dropped, keys));
  assert.instance(err, ChunkAuthenticationError);
  assert.is((err as ChunkAuthenticationError).chunkIndex, 1);
});

test('a wrong tenant key or a wrong data key is refused', async () => {
  const master = LocalMasterKey.generate();
  const tenantKeys = new MemoryTenantKeyStore();
  const keys = new KeyRing({ master, store: tenantKeys });
  const vault = new RecordingVault({ store: new MemoryObjectStore(), keys, chunkSize: SMALL_CHUNK });
  await record(vault, A, pattern(100));
  const bytes = (vault.store as MemoryObjectStore).bytes(A);
  // A different data key given directly: the header MAC does not verify.
  assert.instance(await rejection(decryptBytes(bytes, Buffer.alloc(32, 1))), HeaderAuthenticationError);
  // The tenant's stored key replaced by another, validly wrapped key under the same id: the data key does not unwrap.
  const current = (await tenantKeys.get(A.tenantId))!;
  const wrongTenantKey = await master.wrap(randomBytes(32), encodeParts('smartalex/tenant-key/v1', current.tenantId, current.keyId));
  await tenantKeys.put({ ...current, wrapped: wrongTenantKey });
  assert.instance(await rejection(decryptBytes(bytes, keys)), WrongKeyError);
});

test.run();
