/**
 * Reading a recording back. `RecordingReader` parses the header, asks a key
 * source for the data key, verifies the header MAC, then yields plaintext
 * chunk by chunk, each only after its GCM tag verified at its own position.
 * It fails with a typed error on a changed header, a chunk that is altered,
 * reordered or from another recording, data after the last chunk, or a file
 * that ends before its last chunk (TruncatedRecordingError, unless asked to
 * return the verified prefix and report `cutShort`).
 * `decryptRecording` collects a whole recording; `decryptToWav` streams a WAV.
 */
import { wavHeader } from '../../media/audio/wav.ts';
import { ChunkAuthenticationError, RecordingFormatError, TrailingDataError, TruncatedRecordingError } from './errors.ts';
import { CHUNK_LENGTH_FIELD, HEADER_LENGTH, TAG_LENGTH, openChunk, parseChunkLength, parseHeader, plaintextBytesForSize, verifyHeaderMac } from './format.ts';
import type { RecordingHeader } from './format.ts';

/** Anything that can turn a header's wrapped data key into the data key (a KeyRing does). */
export interface DataKeyUnwrapper {
  unwrapDataKey(header: RecordingHeader): Promise<Buffer>;
}

/** A KeyRing, or the raw 32-byte data key. */
export type DataKeySource = DataKeyUnwrapper | Buffer;

export interface ReadOptions {
  /** Return the verified prefix of a file that lacks its last chunk instead of throwing; `cutShort` tells. */
  allowTruncated?: boolean;
  /**
   * The recording the caller asked for. Checked against the header before any
   * key is fetched, so an object swapped in from another tenant or recording
   * is refused instead of decrypted with its own tenant's key.
   */
  expect?: { tenantId: string; recordingId: string };
}

/** Pulls exact byte counts out of an async byte stream. */
class ByteQueue {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private parts: Buffer[] = [];
  private buffered = 0;
  private ended = false;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const next = await this.iterator.next();
    if (next.done) { this.ended = true; return false; }
    const part = Buffer.from(next.value.buffer, next.value.byteOffset, next.value.byteLength);
    if (part.length) { this.parts.push(part); this.buffered += part.length; }
    return true;
  }

  /** Up to n bytes; fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    while (this.buffered < n && (await this.pull()));
    const all = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    const take = Math.min(n, all.length);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.parts = rest.length ? [rest] : [];
    this.buffered = rest.length;
    return out;
  }

  async atEnd(): Promise<boolean> {
    while (this.buffered === 0 && (await this.pull()));
    return this.buffered === 0;
  }

  async close(): Promise<void> {
    if (!this.ended) {
      this.ended = true;
      await this.iterator.return?.();
    }
  }
}

export class RecordingReader implements AsyncIterable<Buffer> {
  /** True once iteration ended at a missing last chunk (only with allowTruncated). */
  cutShort = false;
  /** True once the last chunk verified. */
  complete = false;
  verifiedChunks = 0;
  verifiedBytes = 0;
  private started = false;

  private constructor(
    readonly header: RecordingHeader,
    private readonly dataKey: Buffer,
    private readonly queue: ByteQueue,
    private readonly options: ReadOptions,
  ) {}

  /** Reads and authenticates the header. Chunks are read when iterated. */
  static async open(source: AsyncIterable<Uint8Array>, keys: DataKeySource, options: ReadOptions = {}): Promise<RecordingReader> {
    const queue = new ByteQueue(source);
    try {
      const bytes = await queue.read(HEADER_LENGTH);
      if (bytes.length < HEADER_LENGTH) {
        if (bytes.length >= 6) parseMagicOnly(bytes);
        throw new TruncatedRecordingError(`recording ends inside its header (${bytes.length} of ${HEADER_LENGTH} bytes)`, 0, 0);
      }
      const header = parseHeader(bytes);
      const expect = options.expect;
      if (expect && (header.tenantId !== expect.tenantId || header.recordingId !== expect.recordingId)) {
        throw new RecordingFormatError(`stored object for ${expect.tenantId}/${expect.recordingId} holds the header of another recording`);
      }
      const dataKey = Buffer.isBuffer(keys) ? Buffer.from(keys) : await keys.unwrapDataKey(header);
      try {
        verifyHeaderMac(header, dataKey);
      } catch (err) {
        dataKey.fill(0);
        throw err;
      }
      return new RecordingReader(header, dataKey, queue, options);
    } catch (err) {
      await queue.close();
      throw err;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Buffer, void, undefined> {
    if (this.started) throw new Error('a RecordingReader can be iterated once');
    this.started = true;
    const { header, dataKey, queue } = this;
    try {
      for (let index = 0; ; index++) {
        const lengthBytes = await queue.read(CHUNK_LENGTH_FIELD);
        if (lengthBytes.length < CHUNK_LENGTH_FIELD) { this.truncated(`recording ends before its last chunk (after ${index} chunks)`); return; }
        const { length, generation } = parseChunkLength(lengthBytes.readUInt32BE(0));
        if (length > header.chunkSize) throw new RecordingFormatError(`chunk ${index} declares ${length} bytes, more than the chunk size ${header.chunkSize}`);
        const body = await queue.read(length + TAG_LENGTH);
        if (body.length < length + TAG_LENGTH) { this.truncated(`recording ends inside chunk ${index}`); return; }
        const atEnd = await queue.atEnd();
        // Expected flag first; the other one only tells truncation and trailing data apart from tampering.
        const plain = openChunk(dataKey, header, index, atEnd, body, generation);
        if (plain) {
          if (!atEnd && length !== header.chunkSize) throw new RecordingFormatError(`chunk ${index} is short but not last`);
          this.verifiedChunks++;
          this.verifiedBytes += plain.length;
          if (atEnd) this.complete = true;
          yield plain;
          if (atEnd) return;
          continue;
        }
        const asOther = openChunk(dataKey, header, index, !atEnd, body, generation);
        if (asOther && !atEnd) {
          asOther.fill(0);
          throw new TrailingDataError(`recording ${header.recordingId} has data after its last chunk (chunk ${index})`);
        }
        if (asOther && atEnd && length === header.chunkSize) {
          // A whole non-last chunk at the end of the file: its successors are missing.
          this.verifiedChunks++;
          this.verifiedBytes += asOther.length;
          yield asOther;
          this.truncated(`recording ends after chunk ${index}, before its last chunk`);
          return;
        }
        asOther?.fill(0);
        throw new ChunkAuthenticationError(
          `recording ${header.recordingId}: chunk ${index} failed authentication (altered, reordered, or from another recording)`,
          index,
        );
      }
    } finally {
      dataKey.fill(0);
      await queue.close();
    }
  }

  private truncated(message: string): void {
    if (this.options.allowTruncated) { this.cutShort = true; return; }
    throw new TruncatedRecordingError(message, this.verifiedChunks, this.verifiedBytes);
  }

  /** Releases the stream and the key without reading (when iteration is not wanted). */
  async close(): Promise<void> {
    this.dataKey.fill(0);
    await this.queue.close();
  }
}

function parseMagicOnly(bytes: Buffer): void {
  if (bytes.toString('latin1', 0, 6) !== 'SAXREC') throw new RecordingFormatError('not a SmartAlex recording: bad magic');
}

export interface DecryptedRecording {
  header: RecordingHeader;
  /** Interleaved PCM16 little-endian samples. */
  pcm: Buffer;
  cutShort: boolean;
  chunks: number;
}

/** Decrypts a whole recording into memory. */
export async function decryptRecording(source: AsyncIterable<Uint8Array>, keys: DataKeySource, options: ReadOptions = {}): Promise<DecryptedRecording> {
  const reader = await RecordingReader.open(source, keys, options);
  const parts: Buffer[] = [];
  try {
    for await (const part of reader) parts.push(part);
  } catch (err) {
    for (const part of parts) part.fill(0);
    throw err;
  }
  return { header: reader.header, pcm: Buffer.concat(parts), cutShort: reader.cutShort, chunks: reader.verifiedChunks };
}

export interface WavStreamOptions extends ReadOptions {
  /** Size of the stored object when known: lets the WAV header carry the exact data length. */
  sourceSize?: number;
}

/**
 * A WAV file, streamed. Opening (header check, key unwrap, header MAC) happens
 * before this resolves, so "not yours", "shredded" or "tampered header" fail
 * before a byte is sent. The stream is a 44-byte header (data length from
 * `sourceSize` when given and the file is read strictly, else the "unknown
 * length" marker), then verified PCM. An error mid-stream means the WAV is
 * incomplete.
 */
export async function decryptToWav(source: AsyncIterable<Uint8Array>, keys: DataKeySource, options: WavStreamOptions = {}): Promise<AsyncGenerator<Buffer, void, undefined>> {
  const reader = await RecordingReader.open(source, keys, options);
  const known = options.sourceSize !== undefined && !options.allowTruncated
    ? plaintextBytesForSize(options.sourceSize, reader.header.chunkSize)
    : null;
  const header = wavHeader({ sampleRate: reader.header.sampleRate, channels: reader.header.channels, encoding: 'pcm16', dataBytes: known ?? 0xffffffff });
  return (async function* () {
    try {
      yield header;
      yield* reader;
    } finally {
      await reader.close(); // also when the consumer stops early
    }
  })();
}
