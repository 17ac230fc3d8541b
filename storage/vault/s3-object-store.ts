/**
 * Recordings in S3-compatible storage (`@aws-sdk/client-s3`): the same sealed container bytes as the local
 * store, at `<prefix><tenantId>/<recordingId>.saxrec` in one bucket, so any node of a cluster can stream
 * a recording another node made. A recording is written as it happens through a multipart upload: appended
 * bytes collect in memory and go up as one part each time `partSize` (5 MiB, S3's minimum) is full beyond
 * a `holdBackBytes` tail; closing uploads the rest and completes the object.
 *
 * What S3 changes, against a local file:
 *  - the object exists (stat, read) only once completed; a node that dies mid-call leaves an incomplete
 *    multipart upload (its parts are not readable as an object; a bucket lifecycle rule aborts it);
 *  - `overwrite` of a recording being written patches the bytes not uploaded yet (the tail held back
 *    covers a chunk re-sealed by audio redaction, which is recent); of a completed object it reads the
 *    object, patches it and writes it again (tenant key rotation: one GET and one PUT per recording).
 * Only ciphertext ever passes through here.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand,
  HeadObjectCommand, PutObjectCommand, S3Client, UploadPartCommand, type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { RecordingExistsError, RecordingNotFoundError } from './errors.ts';
import { assertSafeId } from './ids.ts';
import { RECORDING_EXTENSION, type AppendHandle, type ObjectStore, type ReadRange, type RecordingRef } from './object-store.ts';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix, e.g. "recordings/" (default none). */
  prefix?: string;
  /** Client settings: endpoint, region, forcePathStyle, credentials (default: the SDK's own chain). */
  client: S3ClientConfig;
  /** Bytes per uploaded part; at least 5 MiB on real S3 (default). */
  partSize?: number;
  /** Bytes at the end kept in memory past a full part, so a recent chunk can still be rewritten (default 1 MiB). */
  holdBackBytes?: number;
}

const MIB = 1024 * 1024;

function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export class S3ObjectStore implements ObjectStore {
  readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly holdBack: number;
  /** Recordings being written by this process, by key. */
  private readonly writing = new Map<string, S3AppendHandle>();

  constructor(options: S3ObjectStoreOptions) {
    this.client = new S3Client(options.client);
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    this.partSize = options.partSize ?? 5 * MIB;
    this.holdBack = options.holdBackBytes ?? MIB;
  }

  keyOf(ref: RecordingRef): string {
    assertSafeId('tenant id', ref.tenantId);
    assertSafeId('recording id', ref.recordingId);
    return `${this.prefix}${ref.tenantId}/${ref.recordingId}${RECORDING_EXTENSION}`;
  }

  async create(ref: RecordingRef): Promise<AppendHandle> {
    const key = this.keyOf(ref);
    if (this.writing.has(key) || await this.stat(ref)) throw new RecordingExistsError(`recording ${ref.tenantId}/${ref.recordingId} already exists`);
    const upload = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: key, ContentType: 'application/octet-stream' }));
    if (!upload.UploadId) throw new Error('the object store gave no upload id');
    const handle = new S3AppendHandle(this.client, this.bucket, key, upload.UploadId, this.partSize, this.holdBack, () => this.writing.delete(key));
    this.writing.set(key, handle);
    return handle;
  }

  async openRead(ref: RecordingRef, range?: ReadRange): Promise<AsyncIterable<Uint8Array>> {
    const key = this.keyOf(ref);
    try {
      const res = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end ?? ''}` } : {}),
      }));
      return res.Body as AsyncIterable<Uint8Array>;
    } catch (error) {
      if (isNotFound(error)) throw new RecordingNotFoundError(`recording ${ref.tenantId}/${ref.recordingId} not found`);
      throw error;
    }
  }

  async overwrite(ref: RecordingRef, offset: number, data: Uint8Array): Promise<void> {
    const key = this.keyOf(ref);
    const open = this.writing.get(key);
    if (open) return open.patch(offset, data);
    const parts: Buffer[] = [];
    for await (const part of await this.openRead(ref)) parts.push(Buffer.from(part));
    const all = Buffer.concat(parts);
    if (offset + data.length > all.length) throw new Error('overwrite past the end of the object');
    Buffer.from(data).copy(all, offset);
    await this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: all, ContentType: 'application/octet-stream' }));
  }

  async stat(ref: RecordingRef): Promise<{ size: number } | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.keyOf(ref) }));
      return { size: Number(head.ContentLength ?? 0) };
    } catch (error) {
      if (isNotFound(error)) return null;
      throw error;
    }
  }

  async delete(ref: RecordingRef): Promise<void> {
    const key = this.keyOf(ref);
    await this.writing.get(key)?.abort();
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  close(): void {
    this.client.destroy();
  }
}

class S3AppendHandle implements AppendHandle {
  private buffer: Buffer[] = [];
  private buffered = 0;
  /** Bytes already uploaded in parts (the buffer starts here). */
  private uploadedBytes = 0;
  private readonly parts: Array<{ PartNumber: number; ETag: string }> = [];
  private uploading: Promise<void> = Promise.resolve();
  private failure: unknown;
  private done = false;

  constructor(
    private readonly client: S3Client, private readonly bucket: string, private readonly key: string, private readonly uploadId: string,
    private readonly partSize: number, private readonly holdBack: number, private readonly onDone: () => void,
  ) {}

  async append(data: Uint8Array): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.done) throw new Error('append after close');
    this.buffer.push(Buffer.from(data));
    this.buffered += data.length;
    if (this.buffered >= this.partSize + this.holdBack) this.uploadPart(this.partSize);
  }

  /** Parts in flight are awaited: what has been handed to S3 has been stored. */
  async sync(): Promise<void> {
    await this.uploading;
    if (this.failure) throw this.failure;
  }

  /** Rewrites bytes not uploaded yet (a recent chunk); older bytes are already in S3 and cannot change here. */
  patch(offset: number, data: Uint8Array): void {
    const start = offset - this.uploadedBytes;
    if (start < 0) throw new Error(`cannot rewrite bytes ${offset}..${offset + data.length} of ${this.key}: already uploaded`);
    const all = Buffer.concat(this.buffer);
    if (start + data.length > all.length) throw new Error('overwrite past the end of the object');
    Buffer.from(data).copy(all, start);
    this.buffer = [all];
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.done = true;
    try {
      if (this.buffered > 0 || this.parts.length === 0) this.uploadPart(this.buffered);
      await this.uploading;
      if (this.failure) throw this.failure;
      await this.client.send(new CompleteMultipartUploadCommand({
        Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, MultipartUpload: { Parts: this.parts },
      }));
    } catch (error) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId })).catch(() => undefined);
      throw error;
    } finally {
      this.onDone();
    }
  }

  async abort(): Promise<void> {
    this.done = true;
    await this.uploading;
    await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId })).catch(() => undefined);
    this.onDone();
  }

  /** Takes the first `bytes` of the buffer as the next part and uploads it in the background, in order. */
  private uploadPart(bytes: number): void {
    const all = Buffer.concat(this.buffer);
    const body = all.subarray(0, bytes);
    this.buffer = [all.subarray(bytes)];
    this.buffered -= bytes;
    this.uploadedBytes += bytes;
    const partNumber = this.parts.length + 1;
    this.parts.push({ PartNumber: partNumber, ETag: '' });
    this.uploading = this.uploading.then(async () => {
      if (this.failure) return;
      try {
        const res = await this.client.send(new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: this.uploadId, PartNumber: partNumber, Body: body }));
        this.parts[partNumber - 1] = { PartNumber: partNumber, ETag: res.ETag ?? '' };
      } catch (error) {
        this.failure = error;
      }
    });
  }
}
