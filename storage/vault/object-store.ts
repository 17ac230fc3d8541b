/**
 * Where sealed recordings live. `ObjectStore` is the small surface the vault
 * needs (create-and-append, read, rewrite the fixed-size header key block,
 * stat, delete) so an S3-compatible store can implement it later.
 * `LocalObjectStore` keeps `<root>/<tenantId>/<recordingId>.saxrec` files,
 * private (0600 files, 0700 directories), and refuses ids that could leave the
 * root. `MemoryObjectStore` is for tests and benchmarks.
 * Only ciphertext ever passes through here.
 */
import { createReadStream } from 'node:fs';
import { mkdir, open, rm, stat } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { InvalidIdError, RecordingExistsError, RecordingNotFoundError } from './errors.ts';
import { assertSafeId } from './ids.ts';

export interface RecordingRef {
  tenantId: string;
  recordingId: string;
}

/** An object being written: bytes only ever go on the end. */
export interface AppendHandle {
  append(data: Uint8Array): Promise<void>;
  /** Make everything appended so far durable (fdatasync for files). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

export interface ReadRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive (as in fs.createReadStream and HTTP ranges). */
  end?: number;
}

export interface ObjectStore {
  /** Creates a new object; fails with RecordingExistsError if it already exists. */
  create(ref: RecordingRef): Promise<AppendHandle>;
  /** The object's bytes as a stream; RecordingNotFoundError if missing. */
  openRead(ref: RecordingRef, range?: ReadRange): Promise<AsyncIterable<Uint8Array>>;
  /**
   * Overwrites bytes in place at `offset` and makes them durable: the header key block (tenant key
   * rotation), and a chunk re-sealed by audio redaction (same length, next seal generation).
   */
  overwrite(ref: RecordingRef, offset: number, data: Uint8Array): Promise<void>;
  stat(ref: RecordingRef): Promise<{ size: number } | null>;
  /** Removes the object; missing objects are not an error. */
  delete(ref: RecordingRef): Promise<void>;
}

export const RECORDING_EXTENSION = '.saxrec';

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

class FileAppendHandle implements AppendHandle {
  private closed = false;
  constructor(private readonly handle: FileHandle) {}
  async append(data: Uint8Array): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written);
      written += bytesWritten;
    }
  }
  async sync(): Promise<void> {
    await this.handle.datasync();
  }
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

export class LocalObjectStore implements ObjectStore {
  readonly root: string;

  constructor(rootDir: string) {
    this.root = resolve(rootDir);
  }

  /** The file of a recording; throws InvalidIdError for ids that are not safe or would leave the root. */
  pathOf(ref: RecordingRef): string {
    assertSafeId('tenant id', ref.tenantId);
    assertSafeId('recording id', ref.recordingId);
    const path = resolve(join(this.root, ref.tenantId, ref.recordingId + RECORDING_EXTENSION));
    if (!path.startsWith(this.root + sep)) throw new InvalidIdError('recording path would leave the store root');
    return path;
  }

  async create(ref: RecordingRef): Promise<AppendHandle> {
    const path = this.pathOf(ref);
    await mkdir(join(this.root, ref.tenantId), { recursive: true, mode: 0o700 });
    try {
      // 'ax': append-only, and fail if the recording already exists.
      return new FileAppendHandle(await open(path, 'ax', 0o600));
    } catch (err) {
      if (isErrno(err, 'EEXIST')) throw new RecordingExistsError(`recording ${ref.tenantId}/${ref.recordingId} already exists`);
      throw err;
    }
  }

  async openRead(ref: RecordingRef, range?: ReadRange): Promise<AsyncIterable<Uint8Array>> {
    const path = this.pathOf(ref);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new RecordingNotFoundError(`recording ${ref.tenantId}/${ref.recordingId} not found`);
      throw err;
    }
    return createReadStream('', {
      fd: handle,
      autoClose: true,
      highWaterMark: 64 * 1024,
      ...(range ? { start: range.start, ...(range.end !== undefined ? { end: range.end } : {}) } : {}),
    });
  }

  async overwrite(ref: RecordingRef, offset: number, data: Uint8Array): Promise<void> {
    const path = this.pathOf(ref);
    let handle: FileHandle;
    try {
      handle = await open(path, 'r+');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new RecordingNotFoundError(`recording ${ref.tenantId}/${ref.recordingId} not found`);
      throw err;
    }
    try {
      // One positioned write (the key block lies inside the first 512-byte sector; a re-sealed chunk keeps its length).
      const { bytesWritten } = await handle.write(data, 0, data.length, offset);
      if (bytesWritten !== data.length) throw new Error(`short write rewriting ${ref.tenantId}/${ref.recordingId}`);
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }

  async stat(ref: RecordingRef): Promise<{ size: number } | null> {
    try {
      return { size: (await stat(this.pathOf(ref))).size };
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
  }

  async delete(ref: RecordingRef): Promise<void> {
    await rm(this.pathOf(ref), { force: true });
  }
}

/** Keeps objects in memory. For tests and benchmarks only. */
export class MemoryObjectStore implements ObjectStore {
  private readonly objects = new Map<string, Buffer[]>();

  private keyOf(ref: RecordingRef): string {
    assertSafeId('tenant id', ref.tenantId);
    assertSafeId('recording id', ref.recordingId);
    return `${ref.tenantId}/${ref.recordingId}`;
  }

  /** The whole object as one buffer (tests use this to tamper with bytes). */
  bytes(ref: RecordingRef): Buffer {
    const parts = this.objects.get(this.keyOf(ref));
    if (!parts) throw new RecordingNotFoundError(`recording ${ref.tenantId}/${ref.recordingId} not found`);
    return Buffer.concat(parts);
  }

  /** Replaces an object's bytes wholesale (tests). */
  setBytes(ref: RecordingRef, bytes: Uint8Array): void {
    this.objects.set(this.keyOf(ref), [Buffer.from(bytes)]);
  }

  async create(ref: RecordingRef): Promise<AppendHandle> {
    const key = this.keyOf(ref);
    if (this.objects.has(key)) throw new RecordingExistsError(`recording ${key} already exists`);
    const parts: Buffer[] = [];
    this.objects.set(key, parts);
    return {
      append: async (data) => { parts.push(Buffer.from(data)); },
      sync: async () => {},
      close: async () => {},
    };
  }

  async openRead(ref: RecordingRef, range?: ReadRange): Promise<AsyncIterable<Uint8Array>> {
    const all = this.bytes(ref);
    const slice = range ? all.subarray(range.start, range.end === undefined ? undefined : range.end + 1) : all;
    return (async function* () {
      // Deliver in uneven pieces so readers cannot rely on chunk-aligned reads.
      for (let at = 0; at < slice.length; at += 7000) yield slice.subarray(at, Math.min(slice.length, at + 7000));
    })();
  }

  async overwrite(ref: RecordingRef, offset: number, data: Uint8Array): Promise<void> {
    const all = this.bytes(ref);
    if (offset + data.length > all.length) throw new Error('overwrite past the end of the object');
    Buffer.from(data).copy(all, offset);
    // Keep the same parts array: a writer still appending holds it.
    const parts = this.objects.get(this.keyOf(ref))!;
    parts.length = 0;
    parts.push(all);
  }

  async stat(ref: RecordingRef): Promise<{ size: number } | null> {
    const parts = this.objects.get(this.keyOf(ref));
    return parts ? { size: parts.reduce((n, p) => n + p.length, 0) } : null;
  }

  async delete(ref: RecordingRef): Promise<void> {
    this.objects.delete(this.keyOf(ref));
  }
}
