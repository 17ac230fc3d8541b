/**
 * The recording container, byte for byte (docs/recording-format.md is the
 * prose version): a fixed 384-byte header, then chunks of
 * `u32 (generation << 24 | length) || ciphertext || 16-byte GCM tag`, each
 * sealed with AES-256-GCM under the recording's data key with the STREAM nonce
 * `prefix(4) || generation(1) || counter(6, BE) || last(1)`. The generation is
 * 0 when a chunk is first sealed and goes up by one each time the chunk is
 * re-sealed in place (audio redaction), so no nonce is ever used twice. The chunk AAD is SHA-256 of the
 * header's bound region (everything before the MAC), so a chunk cannot move to
 * another header, position or recording. The key block (key id + wrapped data
 * key) sits outside the bound region at a fixed offset so tenant-key rotation
 * rewrites it in place without touching audio.
 *
 * Hand-written on node:crypto: the format is ours; there is no npm package for
 * a STREAM-style chunked AES-GCM container that we would trust more.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { HeaderAuthenticationError, RecordingFormatError } from './errors.ts';
import { isSafeId } from './ids.ts';

export const MAGIC = Buffer.from('SAXREC', 'latin1');
export const FORMAT_VERSION = 1;
/** AES-256-GCM, STREAM nonce, HKDF-SHA256 header MAC. */
export const ALGORITHM_AES256GCM_STREAM = 1;
export const SAMPLE_FORMAT_S16LE = 1;

export const HEADER_LENGTH = 384;
export const BOUND_LENGTH = 160;
export const MAC_OFFSET = 160;
export const MAC_LENGTH = 32;
export const KEY_BLOCK_OFFSET = 192;
export const KEY_BLOCK_LENGTH = HEADER_LENGTH - KEY_BLOCK_OFFSET;
const ID_FIELD = 64;
const KEY_ID_FIELD = 64;
const WRAPPED_FIELD = 125;

export const TAG_LENGTH = 16;
export const CHUNK_LENGTH_FIELD = 4;
export const CHUNK_OVERHEAD = CHUNK_LENGTH_FIELD + TAG_LENGTH;
export const DEFAULT_CHUNK_SIZE = 64 * 1024;
export const MIN_CHUNK_SIZE = 1024;
export const MAX_CHUNK_SIZE = 8 * 1024 * 1024;
/** 6-byte counter (the nonce's seventh counter byte holds the seal generation). */
const MAX_CHUNK_COUNTER = 2 ** 48 - 1;
/** A chunk may be re-sealed this many times (its generation is one byte). */
export const MAX_SEAL_GENERATION = 255;
/** The chunk length field: low 24 bits plaintext length, top 8 bits the seal generation. */
const LENGTH_MASK = 0x00ff_ffff;

const HEADER_MAC_INFO = Buffer.from('smartalex-recording/v1 header-mac', 'latin1');

export interface RecordingHeaderFields {
  tenantId: string;
  recordingId: string;
  chunkSize: number;
  sampleRate: number;
  channels: number;
  keyId: string;
  wrappedKey: Buffer;
  /** 4 random bytes; generated when omitted. */
  noncePrefix?: Buffer;
}

export interface RecordingHeader {
  version: number;
  algorithm: number;
  chunkSize: number;
  noncePrefix: Buffer;
  sampleRate: number;
  channels: number;
  sampleFormat: 's16le';
  tenantId: string;
  recordingId: string;
  keyId: string;
  wrappedKey: Buffer;
  /** Header bytes [0, 160): what the MAC covers and what every chunk's AAD hashes. */
  bound: Buffer;
  mac: Buffer;
  /** SHA-256(bound): the associated data of every chunk. */
  aad: Buffer;
}

function checkAudioAndChunking(chunkSize: number, sampleRate: number, channels: number): void {
  if (!Number.isInteger(channels) || channels < 1 || channels > 8) throw new RecordingFormatError(`channels must be 1-8, got ${channels}`);
  if (!Number.isInteger(sampleRate) || sampleRate < 1 || sampleRate > 384_000) throw new RecordingFormatError(`sample rate ${sampleRate} is out of range`);
  if (!Number.isInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RecordingFormatError(`chunk size ${chunkSize} is out of range ${MIN_CHUNK_SIZE}-${MAX_CHUNK_SIZE}`);
  }
  if (chunkSize % (channels * 2) !== 0) throw new RecordingFormatError(`chunk size ${chunkSize} is not a whole number of ${channels}-channel PCM16 frames`);
}

function writeField(header: Buffer, lengthOffset: number, lengthBytes: 1 | 2, field: number, value: Buffer, what: string): void {
  if (value.length < 1 || value.length > field) throw new RecordingFormatError(`${what} must be 1-${field} bytes, got ${value.length}`);
  if (lengthBytes === 1) header.writeUInt8(value.length, lengthOffset);
  else header.writeUInt16BE(value.length, lengthOffset);
  value.copy(header, lengthOffset + lengthBytes);
}

function readField(header: Buffer, lengthOffset: number, lengthBytes: 1 | 2, field: number, what: string): Buffer {
  const length = lengthBytes === 1 ? header.readUInt8(lengthOffset) : header.readUInt16BE(lengthOffset);
  const start = lengthOffset + lengthBytes;
  if (length < 1 || length > field) throw new RecordingFormatError(`${what} length ${length} is out of range 1-${field}`);
  if (!isZero(header, start + length, start + field)) throw new RecordingFormatError(`${what} padding is not zero`);
  return Buffer.from(header.subarray(start, start + length));
}

function isZero(buf: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

function readId(header: Buffer, lengthOffset: number, what: 'tenant id' | 'recording id' | 'key id'): string {
  const bytes = readField(header, lengthOffset, 1, what === 'key id' ? KEY_ID_FIELD : ID_FIELD, what);
  const id = bytes.toString('latin1');
  if (!isSafeId(id)) throw new RecordingFormatError(`header ${what} is not a valid id`);
  return id;
}

export function headerMacKey(dataKey: Buffer): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, Buffer.alloc(0), HEADER_MAC_INFO, 32));
}

function computeMac(dataKey: Buffer, bound: Buffer): Buffer {
  const macKey = headerMacKey(dataKey);
  const mac = createHmac('sha256', macKey).update(bound).digest();
  macKey.fill(0);
  return mac;
}

/** The key block (key id + wrapped data key), exactly KEY_BLOCK_LENGTH bytes, for writing at KEY_BLOCK_OFFSET. */
export function encodeKeyBlock(keyId: string, wrappedKey: Buffer): Buffer {
  if (!isSafeId(keyId)) throw new RecordingFormatError('key id is not a valid id');
  const block = Buffer.alloc(KEY_BLOCK_LENGTH);
  writeField(block, 0, 1, KEY_ID_FIELD, Buffer.from(keyId, 'latin1'), 'key id');
  writeField(block, 1 + KEY_ID_FIELD, 2, WRAPPED_FIELD, wrappedKey, 'wrapped data key');
  return block;
}

/** A complete header, MAC computed with the data key. */
export function encodeHeader(fields: RecordingHeaderFields, dataKey: Buffer): Buffer {
  checkAudioAndChunking(fields.chunkSize, fields.sampleRate, fields.channels);
  if (!isSafeId(fields.tenantId)) throw new RecordingFormatError('tenant id is not a valid id');
  if (!isSafeId(fields.recordingId)) throw new RecordingFormatError('recording id is not a valid id');
  if (dataKey.length !== 32) throw new RecordingFormatError('data key must be 32 bytes');
  const prefix = fields.noncePrefix ?? randomBytes(4);
  if (prefix.length !== 4) throw new RecordingFormatError('nonce prefix must be 4 bytes');
  const header = Buffer.alloc(HEADER_LENGTH);
  MAGIC.copy(header, 0);
  header.writeUInt8(FORMAT_VERSION, 6);
  header.writeUInt8(ALGORITHM_AES256GCM_STREAM, 7);
  header.writeUInt16BE(HEADER_LENGTH, 8);
  header.writeUInt32BE(fields.chunkSize, 12);
  prefix.copy(header, 16);
  header.writeUInt32BE(fields.sampleRate, 20);
  header.writeUInt8(fields.channels, 24);
  header.writeUInt8(SAMPLE_FORMAT_S16LE, 25);
  writeField(header, 28, 1, ID_FIELD, Buffer.from(fields.tenantId, 'latin1'), 'tenant id');
  writeField(header, 93, 1, ID_FIELD, Buffer.from(fields.recordingId, 'latin1'), 'recording id');
  computeMac(dataKey, header.subarray(0, BOUND_LENGTH)).copy(header, MAC_OFFSET);
  encodeKeyBlock(fields.keyId, fields.wrappedKey).copy(header, KEY_BLOCK_OFFSET);
  return header;
}

/** Parses and strictly validates a header (no key needed). Call verifyHeaderMac once the data key is known. */
export function parseHeader(bytes: Buffer): RecordingHeader {
  if (bytes.length < HEADER_LENGTH) throw new RecordingFormatError(`header needs ${HEADER_LENGTH} bytes, got ${bytes.length}`);
  const header = bytes.subarray(0, HEADER_LENGTH);
  if (!header.subarray(0, 6).equals(MAGIC)) throw new RecordingFormatError('not a SmartAlex recording: bad magic');
  const version = header.readUInt8(6);
  if (version !== FORMAT_VERSION) throw new RecordingFormatError(`unsupported recording format version ${version}`);
  const algorithm = header.readUInt8(7);
  if (algorithm !== ALGORITHM_AES256GCM_STREAM) throw new RecordingFormatError(`unsupported algorithm ${algorithm}`);
  const headerLength = header.readUInt16BE(8);
  if (headerLength !== HEADER_LENGTH) throw new RecordingFormatError(`header length ${headerLength} does not match version 1 (${HEADER_LENGTH})`);
  if (header.readUInt16BE(10) !== 0 || header.readUInt16BE(26) !== 0 || header.readUInt16BE(158) !== 0) {
    throw new RecordingFormatError('reserved header bytes are not zero');
  }
  const chunkSize = header.readUInt32BE(12);
  const sampleRate = header.readUInt32BE(20);
  const channels = header.readUInt8(24);
  if (header.readUInt8(25) !== SAMPLE_FORMAT_S16LE) throw new RecordingFormatError(`unsupported sample format ${header.readUInt8(25)}`);
  checkAudioAndChunking(chunkSize, sampleRate, channels);
  const bound = Buffer.from(header.subarray(0, BOUND_LENGTH));
  return {
    version,
    algorithm,
    chunkSize,
    noncePrefix: Buffer.from(header.subarray(16, 20)),
    sampleRate,
    channels,
    sampleFormat: 's16le',
    tenantId: readId(header, 28, 'tenant id'),
    recordingId: readId(header, 93, 'recording id'),
    keyId: readId(header, KEY_BLOCK_OFFSET, 'key id'),
    wrappedKey: readField(header, KEY_BLOCK_OFFSET + 1 + KEY_ID_FIELD, 2, WRAPPED_FIELD, 'wrapped data key'),
    bound,
    mac: Buffer.from(header.subarray(MAC_OFFSET, MAC_OFFSET + MAC_LENGTH)),
    aad: createHash('sha256').update(bound).digest(),
  };
}

export function verifyHeaderMac(header: RecordingHeader, dataKey: Buffer): void {
  const expected = computeMac(dataKey, header.bound);
  if (!timingSafeEqual(expected, header.mac)) {
    throw new HeaderAuthenticationError(
      `recording ${header.recordingId}: header failed authentication (a header field was changed, or the data key is not this recording's)`,
    );
  }
}

/** STREAM nonce: prefix(4) || seal generation(1) || counter(6, big-endian) || last flag(1). */
export function chunkNonce(prefix: Buffer, counter: number, last: boolean, out: Buffer = Buffer.alloc(12), generation = 0): Buffer {
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_CHUNK_COUNTER) throw new RecordingFormatError(`chunk counter ${counter} out of range`);
  if (!Number.isInteger(generation) || generation < 0 || generation > MAX_SEAL_GENERATION) throw new RecordingFormatError(`seal generation ${generation} out of range`);
  prefix.copy(out, 0, 0, 4);
  out.writeUInt8(generation, 4);
  out.writeUIntBE(counter, 5, 6);
  out.writeUInt8(last ? 1 : 0, 11);
  return out;
}

/** The chunk length field split into plaintext length and seal generation. */
export function parseChunkLength(field: number): { length: number; generation: number } {
  return { length: field & LENGTH_MASK, generation: field >>> 24 };
}

/** One chunk as stored: u32 BE (generation << 24 | ciphertext length) || ciphertext || tag. */
export function sealChunk(
  dataKey: Buffer, header: Pick<RecordingHeader, 'noncePrefix' | 'aad'>, counter: number, last: boolean, plaintext: Uint8Array, generation = 0,
): Buffer {
  if (plaintext.length > LENGTH_MASK) throw new RecordingFormatError(`chunk of ${plaintext.length} bytes is too long`);
  const nonce = chunkNonce(header.noncePrefix, counter, last, Buffer.alloc(12), generation);
  const cipher = createCipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_LENGTH });
  cipher.setAAD(header.aad);
  const out = Buffer.allocUnsafe(CHUNK_OVERHEAD + plaintext.length);
  out.writeUInt32BE(((generation << 24) | plaintext.length) >>> 0, 0);
  const body = cipher.update(plaintext);
  const tail = cipher.final();
  body.copy(out, CHUNK_LENGTH_FIELD);
  tail.copy(out, CHUNK_LENGTH_FIELD + body.length);
  cipher.getAuthTag().copy(out, CHUNK_LENGTH_FIELD + plaintext.length);
  return out;
}

/**
 * Decrypts one chunk body (ciphertext || tag) and verifies it. Returns the
 * plaintext only after the tag verified; null (and the scratch plaintext wiped)
 * when it did not.
 */
export function openChunk(
  dataKey: Buffer, header: Pick<RecordingHeader, 'noncePrefix' | 'aad'>, counter: number, last: boolean, body: Buffer, generation = 0,
): Buffer | null {
  const ctLength = body.length - TAG_LENGTH;
  if (ctLength < 0) return null;
  const nonce = chunkNonce(header.noncePrefix, counter, last, Buffer.alloc(12), generation);
  const decipher = createDecipheriv('aes-256-gcm', dataKey, nonce, { authTagLength: TAG_LENGTH });
  decipher.setAAD(header.aad);
  decipher.setAuthTag(body.subarray(ctLength));
  const plain = decipher.update(body.subarray(0, ctLength));
  try {
    const tail = decipher.final();
    return tail.length ? Buffer.concat([plain, tail]) : plain;
  } catch {
    plain.fill(0);
    return null;
  }
}

/**
 * Plaintext bytes a complete file of `fileSize` bytes holds, from its size
 * alone (full chunks are chunkSize long). Null when the size cannot be a
 * complete recording with this chunk size.
 */
export function plaintextBytesForSize(fileSize: number, chunkSize: number): number | null {
  const body = fileSize - HEADER_LENGTH;
  if (body < CHUNK_OVERHEAD) return null;
  const full = chunkSize + CHUNK_OVERHEAD;
  // The last chunk holds 0..chunkSize bytes; every chunk before it is full.
  const fullChunks = Math.floor((body - CHUNK_OVERHEAD) / full);
  const lastLength = body - fullChunks * full - CHUNK_OVERHEAD;
  if (lastLength < 0 || lastLength > chunkSize) return null;
  return fullChunks * chunkSize + lastLength;
}
