import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyRing, LocalMasterKey, LocalObjectStore, MemoryTenantKeyStore, RecordingVault, TruncatedRecordingError } from '../../../storage/vault/index.ts';
import { SMALL_CHUNK, pattern, rejection } from './support/helpers.ts';

const child = fileURLToPath(new URL('./support/crash-writer.ts', import.meta.url));

test('a writer killed with kill -9 mid-recording leaves a file that decrypts up to its last whole chunk, cut short', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vault-crash-'));
  try {
    const keys = new KeyRing({ master: LocalMasterKey.generate(), store: new MemoryTenantKeyStore() });
    const vault = new RecordingVault({ store: new LocalObjectStore(root), keys, chunkSize: SMALL_CHUNK });
    const ref = { tenantId: 'acme', recordingId: 'crashed-call' };
    const dataKey = await keys.newDataKey(ref.tenantId, ref.recordingId);
    const chunks = 3;

    const proc = spawn(process.execPath, ['--import', 'tsx', child], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('exit', (_code, signal) => resolve(signal)));
    const progress: string[] = [];
    const idle = new Promise<void>((resolve, reject) => {
      let text = '';
      proc.stdout.on('data', (d: Buffer) => {
        text += d.toString();
        const lines = text.split('\n');
        text = lines.pop()!;
        progress.push(...lines);
        if (lines.includes('idle')) resolve();
      });
      proc.on('exit', () => reject(new Error(`child exited early after: ${progress.join(', ')}`)));
    });
    proc.stdin.end(JSON.stringify({
      root, ...ref, chunkSize: SMALL_CHUNK, chunks,
      dataKey: dataKey.plainKey.toString('base64'), keyId: dataKey.keyId, wrapped: dataKey.wrapped.toString('base64'),
    }));
    dataKey.plainKey.fill(0);
    await idle;
    assert.equal(progress, ['chunk 1', 'chunk 2', 'chunk 3', 'idle']);
    proc.kill('SIGKILL');
    assert.is(await exited, 'SIGKILL');

    const strict = await rejection(vault.read(ref));
    assert.instance(strict, TruncatedRecordingError);
    assert.is((strict as TruncatedRecordingError).verifiedChunks, chunks);
    const prefix = await vault.read(ref, { allowTruncated: true });
    assert.is(prefix.cutShort, true);
    assert.ok(prefix.pcm.equals(pattern(SMALL_CHUNK * chunks + SMALL_CHUNK / 2, 5).subarray(0, SMALL_CHUNK * chunks)));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test.run();
