/**
 * What recording encryption costs: seals `seconds` of 8 kHz stereo PCM16
 * (one call's worth of audio, 32 000 bytes per second) through a real
 * RecordingWriter into memory, then reads it back verified, and reports CPU
 * time per call-second and throughput. Used by the `bench` command.
 */
import { randomBytes } from 'node:crypto';
import { KeyRing, LocalMasterKey, MemoryTenantKeyStore } from '../../storage/vault/keys.ts';
import { MemoryObjectStore } from '../../storage/vault/object-store.ts';
import { RecordingVault } from '../../storage/vault/vault.ts';

export interface VaultBenchResult {
  /** Call-seconds of audio encrypted. */
  seconds: number;
  plaintextBytes: number;
  storedBytes: number;
  chunkSize: number;
  /** CPU time (user + system) to encrypt one second of call audio, in µs. */
  encryptCpuUsPerCallSecond: number;
  encryptMBps: number;
  /** CPU time to decrypt and verify one second of call audio, in µs. */
  decryptCpuUsPerCallSecond: number;
  decryptMBps: number;
}

const BYTES_PER_CALL_SECOND = 8000 * 2 * 2;

function cpuUs(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

export async function benchVault(opts: { seconds?: number; chunkSize?: number } = {}): Promise<VaultBenchResult> {
  const seconds = opts.seconds ?? 600;
  const chunkSize = opts.chunkSize ?? 64 * 1024;
  const vault = new RecordingVault({
    store: new MemoryObjectStore(),
    keys: new KeyRing({ master: LocalMasterKey.generate(), store: new MemoryTenantKeyStore() }),
    chunkSize,
  });
  const ref = { tenantId: 'bench', recordingId: 'call-1' };
  // One second of noise, written in 20 ms frames as the tap would (640 bytes each).
  const second = randomBytes(BYTES_PER_CALL_SECOND);
  const frame = 640;

  const writer = await vault.startRecording(ref);
  const encStart = process.cpuUsage();
  const encWall = performance.now();
  for (let s = 0; s < seconds; s++) {
    for (let at = 0; at < second.length; at += frame) void writer.write(second.subarray(at, at + frame));
    if (s % 8 === 7) await writer.write(Buffer.alloc(0)); // let the append queue drain now and then
  }
  const summary = await writer.finish();
  const encCpu = cpuUs(encStart);
  const encMs = performance.now() - encWall;

  const decStart = process.cpuUsage();
  const decWall = performance.now();
  const reader = await vault.open(ref);
  let read = 0;
  for await (const part of reader) read += part.length;
  const decCpu = cpuUs(decStart);
  const decMs = performance.now() - decWall;
  if (read !== summary.plaintextBytes) throw new Error('vault bench: decrypted size differs from what was written');

  const mb = summary.plaintextBytes / 1e6;
  return {
    seconds,
    plaintextBytes: summary.plaintextBytes,
    storedBytes: summary.storedBytes,
    chunkSize,
    encryptCpuUsPerCallSecond: encCpu / seconds,
    encryptMBps: mb / (encMs / 1000),
    decryptCpuUsPerCallSecond: decCpu / seconds,
    decryptMBps: mb / (decMs / 1000),
  };
}
