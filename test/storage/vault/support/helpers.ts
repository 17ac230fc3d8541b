/**
 * Shared fixtures for the vault tests: a key ring over in-memory stores, a
 * deterministic plaintext pattern, and helpers to read a recording from bytes.
 */
import { KeyRing, LocalMasterKey, MemoryObjectStore, MemoryTenantKeyStore, RecordingVault, decryptRecording } from '../../../../storage/vault/index.ts';
import type { DataKeySource, DecryptedRecording, ReadOptions } from '../../../../storage/vault/index.ts';

export const SMALL_CHUNK = 1024;

export function pattern(length: number, seed = 1): Buffer {
  const out = Buffer.alloc(length);
  let x = seed * 2654435761;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

export function memoryVault(chunkSize = SMALL_CHUNK): { vault: RecordingVault; store: MemoryObjectStore; tenantKeys: MemoryTenantKeyStore; keys: KeyRing } {
  const store = new MemoryObjectStore();
  const tenantKeys = new MemoryTenantKeyStore();
  const keys = new KeyRing({ master: LocalMasterKey.generate(), store: tenantKeys });
  return { vault: new RecordingVault({ store, keys, chunkSize }), store, tenantKeys, keys };
}

/** Writes `plain` as one recording in pieces of `piece` bytes and returns its stored bytes. */
export async function record(vault: RecordingVault, ref: { tenantId: string; recordingId: string }, plain: Buffer, piece = 333): Promise<void> {
  const writer = await vault.startRecording(ref);
  for (let at = 0; at < plain.length; at += piece) await writer.write(plain.subarray(at, at + piece));
  await writer.finish();
}

export async function* chunked(bytes: Buffer, size = 5000): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

export function decryptBytes(bytes: Buffer, keys: DataKeySource, opts: ReadOptions = {}): Promise<DecryptedRecording> {
  return decryptRecording(chunked(bytes), keys, opts);
}

/** Resolves with the error a promise rejects with; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection, but the promise resolved');
}
