/**
 * RecordingVault: the one object the rest of the server uses for recordings.
 * It joins an ObjectStore (where ciphertext lives) and a KeyRing (envelope
 * keys): start a recording (or a stereo tap) for a tenant, read it back
 * verified, stream it as WAV, re-wrap its key on tenant-key rotation, delete it.
 */
import { RecordingFormatError } from './errors.ts';
import { HEADER_LENGTH, KEY_BLOCK_OFFSET, encodeKeyBlock, parseHeader } from './format.ts';
import type { RecordingHeader } from './format.ts';
import type { KeyRing, RecordingKeySlot, TenantKeyInfo } from './keys.ts';
import type { ObjectStore, RecordingRef } from './object-store.ts';
import { RecordingReader, decryptRecording, decryptToWav } from './reader.ts';
import type { DecryptedRecording, ReadOptions } from './reader.ts';
import { RecordingTap } from './tap.ts';
import type { RecordingTapOptions } from './tap.ts';
import { RecordingWriter } from './writer.ts';
import type { ChunkRewriter } from './writer.ts';

export interface RecordingVaultOptions {
  store: ObjectStore;
  keys: KeyRing;
  /** Plaintext bytes per chunk (default 64 KiB: about 2 s of 8 kHz stereo PCM16). */
  chunkSize?: number;
  /** fdatasync after every chunk (default true). */
  syncEachChunk?: boolean;
}

export interface RecordingAudioFormat {
  sampleRate?: number;
  channels?: number;
}

export class RecordingVault {
  readonly store: ObjectStore;
  readonly keys: KeyRing;
  private readonly chunkSize: number | undefined;
  private readonly syncEachChunk: boolean;

  constructor(opts: RecordingVaultOptions) {
    this.store = opts.store;
    this.keys = opts.keys;
    this.chunkSize = opts.chunkSize;
    this.syncEachChunk = opts.syncEachChunk ?? true;
  }

  /** Creates the recording object (its header is on disk when this resolves) and returns its writer. */
  async startRecording(ref: RecordingRef, format: RecordingAudioFormat = {}): Promise<RecordingWriter> {
    const dataKey = await this.keys.newDataKey(ref.tenantId, ref.recordingId);
    try {
      const handle = await this.store.create(ref);
      try {
        return await RecordingWriter.create({
          handle,
          rewriter: this.rewriterFor(ref),
          tenantId: ref.tenantId,
          recordingId: ref.recordingId,
          dataKey: dataKey.plainKey,
          keyId: dataKey.keyId,
          wrappedKey: dataKey.wrapped,
          sampleRate: format.sampleRate ?? 8000,
          channels: format.channels ?? 2,
          syncEachChunk: this.syncEachChunk,
          ...(this.chunkSize !== undefined ? { chunkSize: this.chunkSize } : {}),
        });
      } catch (err) {
        await handle.close().catch(() => undefined);
        throw err;
      }
    } finally {
      dataKey.plainKey.fill(0);
    }
  }

  /** Positioned read and in-place rewrite of one recording's object (re-sealing silenced chunks). */
  private rewriterFor(ref: RecordingRef): ChunkRewriter {
    return {
      read: async (offset, length) => {
        const parts: Buffer[] = [];
        for await (const part of await this.store.openRead(ref, { start: offset, end: offset + length - 1 })) parts.push(Buffer.from(part));
        return Buffer.concat(parts);
      },
      overwrite: (offset, data) => this.store.overwrite(ref, offset, data),
    };
  }

  /** A 2-channel (caller, agent) recording fed by 20 ms frames of both legs. */
  async startTap(ref: RecordingRef, opts: RecordingTapOptions = {}): Promise<RecordingTap> {
    const writer = await this.startRecording(ref, { sampleRate: opts.sampleRate ?? 8000, channels: 2 });
    return new RecordingTap(writer, opts);
  }

  /** A verified reader over the recording (iterate it for PCM chunks). */
  async open(ref: RecordingRef, opts: ReadOptions = {}): Promise<RecordingReader> {
    return RecordingReader.open(await this.store.openRead(ref), this.keys, { ...opts, expect: ref });
  }

  /** The whole recording's PCM in memory. */
  async read(ref: RecordingRef, opts: ReadOptions = {}): Promise<DecryptedRecording> {
    return decryptRecording(await this.store.openRead(ref), this.keys, { ...opts, expect: ref });
  }

  /** The recording as a streamed WAV file. */
  async wav(ref: RecordingRef, opts: ReadOptions = {}): Promise<AsyncGenerator<Buffer, void, undefined>> {
    const info = await this.store.stat(ref);
    return decryptToWav(await this.store.openRead(ref), this.keys, { ...opts, expect: ref, ...(info ? { sourceSize: info.size } : {}) });
  }

  /** The parsed (not yet authenticated) header of a stored recording. */
  async readHeader(ref: RecordingRef): Promise<RecordingHeader> {
    const parts: Buffer[] = [];
    for await (const part of await this.store.openRead(ref, { start: 0, end: HEADER_LENGTH - 1 })) parts.push(Buffer.from(part));
    return parseHeader(Buffer.concat(parts));
  }

  /** The header key block of one recording, for KeyRing.rotateTenantKey. */
  keySlot(ref: RecordingRef): RecordingKeySlot {
    return {
      readHeader: async () => {
        const header = await this.readHeader(ref);
        this.assertBelongs(header, ref);
        return header;
      },
      writeKeyBlock: (keyId, wrappedKey) => this.store.overwrite(ref, KEY_BLOCK_OFFSET, encodeKeyBlock(keyId, wrappedKey)),
    };
  }

  /** New tenant key version; the listed recordings' data keys are re-wrapped under it (headers only). */
  rotateTenantKey(tenantId: string, recordingIds: Iterable<string> = []): Promise<TenantKeyInfo & { rewrapped: number }> {
    const slots = [...recordingIds].map((recordingId) => this.keySlot({ tenantId, recordingId }));
    return this.keys.rotateTenantKey(tenantId, slots);
  }

  /** Re-wraps one recording's data key under the tenant key `keyId` (header only); false when already under it. */
  rewrapRecording(ref: RecordingRef, keyId: string): Promise<boolean> {
    return this.keys.rewrapDataKey(ref.tenantId, this.keySlot(ref), keyId);
  }

  async delete(ref: RecordingRef): Promise<void> {
    await this.store.delete(ref);
  }

  private assertBelongs(header: RecordingHeader, ref: RecordingRef): void {
    if (header.tenantId !== ref.tenantId || header.recordingId !== ref.recordingId) {
      throw new RecordingFormatError(`stored object ${ref.tenantId}/${ref.recordingId} holds the header of another recording`);
    }
  }
}
