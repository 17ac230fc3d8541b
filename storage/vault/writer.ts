/**
 * RecordingWriter: seals a recording as it happens. Plaintext is held in
 * memory for at most one chunk; each full chunk is sealed (AES-256-GCM, ~tens
 * of µs for 64 KiB, so inline) and appended to the object, then made durable,
 * through a queue so the caller never waits on disk inside a media callback.
 * `finish()` seals whatever is left as the last chunk. A writer that dies
 * mid-call leaves header + whole chunks, which read back as a verified prefix
 * flagged cut short. Nothing unencrypted is ever handed to the store.
 *
 * `silence(start, end)` zeroes a byte range of the audio already accepted
 * (audio redaction): in the unsealed chunk in memory, and in chunks already
 * sealed by reading each back, zeroing it and re-sealing it in place under
 * the next seal generation (a fresh nonce), through the same queue, so the
 * re-seal lands after the chunk's own append.
 */
import { ChunkAuthenticationError, VaultError } from './errors.ts';
import {
  CHUNK_LENGTH_FIELD, CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, HEADER_LENGTH, MAX_SEAL_GENERATION, encodeHeader, openChunk, parseChunkLength, parseHeader, sealChunk,
} from './format.ts';
import type { RecordingHeader } from './format.ts';
import type { AppendHandle } from './object-store.ts';

/** Positioned access to the object being written, for re-sealing chunks in place. */
export interface ChunkRewriter {
  read(offset: number, length: number): Promise<Buffer>;
  /** Overwrites bytes in place and makes them durable. */
  overwrite(offset: number, data: Uint8Array): Promise<void>;
}

export interface RecordingWriterOptions {
  handle: AppendHandle;
  /** Needed by silence() for chunks already sealed; without it only the unsealed chunk can be silenced. */
  rewriter?: ChunkRewriter;
  tenantId: string;
  recordingId: string;
  /** The recording's 32-byte data key; the writer keeps its own copy and wipes it on finish. */
  dataKey: Buffer;
  /** Id of the tenant key that wrapped the data key, and the wrapped data key (both go in the header). */
  keyId: string;
  wrappedKey: Buffer;
  sampleRate?: number;
  channels?: number;
  chunkSize?: number;
  /** fdatasync after every chunk (default true). */
  syncEachChunk?: boolean;
}

export interface RecordingSummary {
  chunks: number;
  plaintextBytes: number;
  storedBytes: number;
  /** Sealed chunks re-sealed in place by silence(). */
  resealed: number;
}

export class RecordingWriter {
  readonly header: RecordingHeader;
  private readonly handle: AppendHandle;
  private readonly dataKey: Buffer;
  private readonly pending: Buffer;
  private readonly syncEachChunk: boolean;
  private fill = 0;
  private counter = 0;
  private plaintextBytes = 0;
  private storedBytes = 0;
  private state: 'open' | 'finishing' | 'finished' = 'open';
  private failure: unknown = null;
  private io: Promise<void> = Promise.resolve();
  private readonly rewriter: ChunkRewriter | undefined;
  /** Seal generation of each chunk re-sealed so far (absent: 0). */
  private readonly generations = new Map<number, number>();
  private resealed = 0;

  private constructor(opts: RecordingWriterOptions, header: Buffer) {
    this.handle = opts.handle;
    this.rewriter = opts.rewriter;
    this.dataKey = Buffer.from(opts.dataKey);
    this.header = parseHeader(header);
    this.pending = Buffer.alloc(this.header.chunkSize);
    this.syncEachChunk = opts.syncEachChunk ?? true;
    this.storedBytes = header.length;
  }

  /** Writes (and syncs) the header, then returns a writer ready for audio. */
  static async create(opts: RecordingWriterOptions): Promise<RecordingWriter> {
    const header = encodeHeader(
      {
        tenantId: opts.tenantId,
        recordingId: opts.recordingId,
        chunkSize: opts.chunkSize ?? DEFAULT_CHUNK_SIZE,
        sampleRate: opts.sampleRate ?? 8000,
        channels: opts.channels ?? 2,
        keyId: opts.keyId,
        wrappedKey: opts.wrappedKey,
      },
      opts.dataKey,
    );
    const writer = new RecordingWriter(opts, header);
    await opts.handle.append(header);
    await opts.handle.sync();
    return writer;
  }

  get chunksWritten(): number { return this.counter; }
  get bytesAccepted(): number { return this.plaintextBytes; }

  /**
   * Accepts plaintext. The bytes are copied before this returns, so the caller
   * may reuse its buffer at once. The promise settles when every chunk sealed
   * so far is on disk; it rejects if the store failed (and so does every later call).
   */
  write(data: Uint8Array): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new VaultError('WRITER_CLOSED', 'recording writer is already finished'));
    if (this.failure) return Promise.reject(this.failure);
    let at = 0;
    while (at < data.length) {
      const take = Math.min(data.length - at, this.pending.length - this.fill);
      this.pending.set(data.subarray(at, at + take), this.fill);
      this.fill += take;
      at += take;
      this.plaintextBytes += take;
      if (this.fill === this.pending.length) this.sealPending(false);
    }
    return this.io.then(() => { if (this.failure) throw this.failure; });
  }

  /** Seals the last chunk (possibly empty), waits for the disk, closes the handle and wipes key and buffer. */
  async finish(): Promise<RecordingSummary> {
    if (this.state !== 'open') throw new VaultError('WRITER_CLOSED', 'recording writer is already finished');
    this.state = 'finishing';
    if (!this.failure) this.sealPending(true);
    try {
      await this.io;
    } finally {
      this.wipe();
      this.state = 'finished';
      await this.handle.close();
    }
    if (this.failure) throw this.failure;
    return { chunks: this.counter, plaintextBytes: this.plaintextBytes, storedBytes: this.storedBytes, resealed: this.resealed };
  }

  /**
   * Replaces plaintext bytes [start, end) of what was accepted so far with
   * zeros. Bytes still in memory are zeroed at once; each sealed chunk the
   * range reaches is read back, verified, zeroed and re-sealed in place under
   * its next generation. Resolves when the re-seals are durable; rejects if
   * one failed (the writer then fails like a failed append).
   */
  silence(start: number, end: number): Promise<void> {
    if (this.state !== 'open') return Promise.reject(new VaultError('WRITER_CLOSED', 'recording writer is already finished'));
    if (this.failure) return Promise.reject(this.failure);
    const from = Math.max(0, Math.floor(start));
    const to = Math.min(this.plaintextBytes, Math.ceil(end));
    if (to <= from) return this.io.then(() => { if (this.failure) throw this.failure; });
    const size = this.header.chunkSize;
    const sealedBytes = this.counter * size;
    if (to > sealedBytes) this.pending.fill(0, Math.max(from, sealedBytes) - sealedBytes, to - sealedBytes);
    if (from < sealedBytes) {
      if (!this.rewriter) return Promise.reject(new VaultError('RESEAL', 'this writer cannot re-seal chunks (no rewriter)'));
      for (let index = Math.floor(from / size); index * size < Math.min(to, sealedBytes); index++) {
        const chunkStart = index * size;
        this.queueReseal(index, Math.max(from, chunkStart) - chunkStart, Math.min(to, chunkStart + size) - chunkStart);
      }
    }
    return this.io.then(() => { if (this.failure) throw this.failure; });
  }

  /** Re-seals full (non-last) chunk `index` with bytes [from, to) zeroed, under the next generation. */
  private queueReseal(index: number, from: number, to: number): void {
    const generation = this.generations.get(index) ?? 0;
    if (generation >= MAX_SEAL_GENERATION) {
      this.failure ??= new VaultError('RESEAL', `chunk ${index} was re-sealed too often`);
      return;
    }
    this.generations.set(index, generation + 1);
    const rewriter = this.rewriter!;
    const size = this.header.chunkSize;
    const offset = HEADER_LENGTH + index * (size + CHUNK_OVERHEAD);
    this.io = this.io.then(async () => {
      if (this.failure) return;
      let plain: Buffer | null = null;
      try {
        const stored = await rewriter.read(offset, size + CHUNK_OVERHEAD);
        const field = parseChunkLength(stored.readUInt32BE(0));
        plain = field.length === size && field.generation === generation
          ? openChunk(this.dataKey, this.header, index, false, stored.subarray(CHUNK_LENGTH_FIELD), generation)
          : null;
        if (!plain) throw new ChunkAuthenticationError(`recording ${this.header.recordingId}: chunk ${index} did not verify for re-sealing`, index);
        plain.fill(0, from, to);
        await rewriter.overwrite(offset, sealChunk(this.dataKey, this.header, index, false, plain, generation + 1));
        this.resealed++;
      } catch (err) {
        this.failure = err;
      } finally {
        plain?.fill(0);
      }
    });
  }

  private sealPending(last: boolean): void {
    const sealed = sealChunk(this.dataKey, this.header, this.counter, last, this.pending.subarray(0, this.fill));
    this.counter++;
    this.pending.fill(0, 0, this.fill);
    this.fill = 0;
    this.storedBytes += sealed.length;
    this.io = this.io.then(async () => {
      if (this.failure) return;
      try {
        await this.handle.append(sealed);
        if (this.syncEachChunk || last) await this.handle.sync();
      } catch (err) {
        this.failure = err;
      }
    });
  }

  private wipe(): void {
    this.dataKey.fill(0);
    this.pending.fill(0);
  }
}

