import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import {
  HEADER_LENGTH,
  KEY_BLOCK_OFFSET,
  chunkNonce,
  encodeHeader,
  encodeKeyBlock,
  openChunk,
  parseHeader,
  plaintextBytesForSize,
  sealChunk,
  verifyHeaderMac,
} from '../../../storage/vault/format.ts';
import { HeaderAuthenticationError, RecordingFormatError } from '../../../storage/vault/index.ts';

const key = randomBytes(32);
const prefix = Buffer.from([1, 2, 3, 4]);
const fields = {
  tenantId: 'acme', recordingId: 'rec-1', chunkSize: 4096, sampleRate: 8000, channels: 2,
  keyId: 'tk1-abc', wrappedKey: randomBytes(61), noncePrefix: prefix,
};

test('header round trip with every field, magic at the start and fixed length', () => {
  const bytes = encodeHeader(fields, key);
  assert.is(bytes.length, HEADER_LENGTH);
  assert.is(bytes.toString('latin1', 0, 6), 'SAXREC');
  const h = parseHeader(bytes);
  assert.equal(
    { tenantId: h.tenantId, recordingId: h.recordingId, chunkSize: h.chunkSize, sampleRate: h.sampleRate, channels: h.channels, keyId: h.keyId, version: h.version },
    { tenantId: 'acme', recordingId: 'rec-1', chunkSize: 4096, sampleRate: 8000, channels: 2, keyId: 'tk1-abc', version: 1 },
  );
  assert.ok(h.wrappedKey.equals(fields.wrappedKey));
  assert.ok(h.noncePrefix.equals(prefix));
  verifyHeaderMac(h, key);
  assert.throws(() => verifyHeaderMac(h, randomBytes(32)), (e: unknown) => e instanceof HeaderAuthenticationError);
});

test('the key block can be replaced in place without disturbing the MAC', () => {
  const bytes = encodeHeader(fields, key);
  const wrapped = randomBytes(61);
  encodeKeyBlock('tk2-def', wrapped).copy(bytes, KEY_BLOCK_OFFSET);
  const h = parseHeader(bytes);
  assert.is(h.keyId, 'tk2-def');
  assert.ok(h.wrappedKey.equals(wrapped));
  verifyHeaderMac(h, key);
});

test('nonce = prefix(4) || counter(7, big-endian) || last flag(1)', () => {
  assert.equal([...chunkNonce(prefix, 0, false)], [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal([...chunkNonce(prefix, 0x0102030405, true)], [1, 2, 3, 4, 0, 0, 1, 2, 3, 4, 5, 1]);
  assert.throws(() => chunkNonce(prefix, -1, false), (e: unknown) => e instanceof RecordingFormatError);
});

test('a chunk verifies only with its own header binding, counter and last flag', () => {
  const h = parseHeader(encodeHeader(fields, key));
  const sealed = sealChunk(key, h, 5, false, Buffer.from('twenty ms of audio..'));
  assert.is(sealed.readUInt32BE(0), 20);
  assert.is(sealed.length, 4 + 20 + 16);
  const body = sealed.subarray(4);
  assert.is(openChunk(key, h, 5, false, body)?.toString(), 'twenty ms of audio..');
  assert.is(openChunk(key, h, 4, false, body), null, 'other position');
  assert.is(openChunk(key, h, 5, true, body), null, 'other last flag');
  assert.is(openChunk(randomBytes(32), h, 5, false, body), null, 'other key');
  // Same data key and nonce prefix, different recording id (or tenant, or chunk size): the AAD differs.
  for (const change of [{ recordingId: 'rec-2' }, { tenantId: 'globex' }, { chunkSize: 8192 }, { sampleRate: 16000 }]) {
    const other = parseHeader(encodeHeader({ ...fields, ...change }, key));
    assert.is(openChunk(key, other, 5, false, body), null, JSON.stringify(change));
  }
  // The key block is not bound: rotation does not invalidate chunks.
  const rotated = parseHeader(encodeHeader({ ...fields, keyId: 'tk2-x', wrappedKey: randomBytes(61) }, key));
  assert.ok(openChunk(key, rotated, 5, false, body));
});

test('header validation names what is wrong', () => {
  const good = encodeHeader(fields, key);
  const cases: Array<[(b: Buffer) => void, RegExp]> = [
    [(b) => b.write('NOTREC', 0, 'latin1'), /magic/],
    [(b) => b.writeUInt8(2, 6), /version 2/],
    [(b) => b.writeUInt8(9, 7), /algorithm 9/],
    [(b) => b.writeUInt32BE(100, 12), /chunk size/],
    [(b) => b.writeUInt8(0, 24), /channels/],
    [(b) => b.writeUInt8(1, 27), /reserved/],
    [(b) => b.writeUInt8(99, 28), /tenant id length/],
    [(b) => b.writeUInt8(0x2f, 29), /tenant id/],
    [(b) => b.writeUInt8(1, 29 + 30), /padding/],
  ];
  for (const [damage, message] of cases) {
    const bad = Buffer.from(good);
    damage(bad);
    assert.throws(() => parseHeader(bad), message);
  }
  assert.throws(() => parseHeader(good.subarray(0, 100)), /header needs/);
  assert.throws(() => encodeHeader({ ...fields, chunkSize: 4098 }, key), /whole number/);
  assert.throws(() => encodeHeader({ ...fields, tenantId: '../x' }, key), (e: unknown) => e instanceof RecordingFormatError);
});

test('plaintext size from file size', () => {
  const full = 4096 + 20;
  assert.is(plaintextBytesForSize(HEADER_LENGTH + 20, 4096), 0);
  assert.is(plaintextBytesForSize(HEADER_LENGTH + 2 * full + 20 + 100, 4096), 2 * 4096 + 100);
  assert.is(plaintextBytesForSize(HEADER_LENGTH + 10, 4096), null);
});

test.run();
