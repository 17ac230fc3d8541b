import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm, stat, symlink, truncate, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseWav } from '../../../media/audio/wav.ts';
import { createAgent, createTenant, listAudit, startCall, type Database } from '../../../storage/index.ts';
import { CHUNK_OVERHEAD, DEFAULT_CHUNK_SIZE, HEADER_LENGTH, verifyRecordingLink } from '../../../storage/vault/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { openConfiguredDatabase } from '../../../src/database-setup.ts';
import { openRecordingVault, RecordingService } from '../../../src/recordings/index.ts';
import type { LocalObjectStore } from '../../../storage/vault/index.ts';
import type { Backend } from '../../support/databases.ts';
import { expectedStereo, syntheticFrame } from './support.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function cli(env: NodeJS.ProcessEnv, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

/** The CLI's recording and tenant-key commands against one backend (one test file per backend keeps each file well inside the runner's time limit). */
export async function registerCliRecordingTests(backend: Backend): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cli-recording-'));
  const serverDb = backend.name === 'postgres' ? await backend.open() : undefined;
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SMARTALEX_') && k !== 'DATABASE_URL'));
  Object.assign(env, { SMARTALEX_DATA_DIR: dataDir, SMARTALEX_LOG_LEVEL: 'silent', ...(serverDb?.ownerUrl ? { DATABASE_URL: serverDb.ownerUrl } : {}) });
  const config = loadConfig(env);
  /** PGlite on disk admits one process at a time, so the test closes it before each CLI run. */
  async function withDb<T>(work: (db: Database) => Promise<T>): Promise<T> {
    if (serverDb) return work(serverDb);
    const db = await openConfiguredDatabase(config);
    try { return await work(db); } finally { await db.close(); }
  }

  const frames = 250; // 5 s: two full 64 KiB chunks and a short last one
  const seeded = await withDb(async (db) => {
    const { vault, store, linkSecret } = await openRecordingVault(config, db);
    const service = new RecordingService({ db, vault });
    const tenant = await createTenant(db, { name: 'cli' });
    const agent = await createAgent(db, tenant.id, { name: 'a' });
    const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
    const recorder = service.startCallRecording({ tenantId: tenant.id, callId: call.id, agent });
    for (let f = 0; f < frames; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
    await recorder.finish();
    return { tenantId: tenant.id, recordingId: recorder.recordingId, linkSecret, file: (store as LocalObjectStore).pathOf({ tenantId: tenant.id, recordingId: recorder.recordingId }) };
  });
  // A recorder killed mid-call leaves whole chunks only: keep the header and the first chunk.
  const crashed = join(dataDir, 'crashed.saxrec');
  await copyFile(seeded.file, crashed);
  await truncate(crashed, HEADER_LENGTH + DEFAULT_CHUNK_SIZE + CHUNK_OVERHEAD);
  const backup = join(dataDir, 'backup.saxrec');
  await copyFile(seeded.file, backup);

  test(`[${backend.name}] recording decrypt by id writes the WAV (0600) that was recorded`, async () => {
    const out = join(dataDir, 'full.wav');
    const r = await cli(env, ['recording', 'decrypt', seeded.recordingId, '--out', out]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /decrypted recording .* 5\.00 s, 2 channels, 8000 Hz/);
    assert.not.match(r.stdout, /cut short/);
    assert.ok(parseWav(await readFile(out)).data.equals(expectedStereo(frames)));
    assert.is((await stat(out)).mode & 0o777, 0o600);
  });

  test(`[${backend.name}] recording decrypt refuses an existing --out file or symlink with one line and leaves it alone`, async () => {
    const existing = join(dataDir, 'existing.wav');
    await writeFile(existing, 'keep me\n', { mode: 0o644 });
    const link = join(dataDir, 'link.wav');
    await symlink(existing, link);
    for (const out of [existing, link]) {
      const r = await cli(env, ['recording', 'decrypt', seeded.recordingId, '--out', out]);
      assert.is(r.code, 1, r.stdout);
      assert.equal(r.stderr.split('\n').filter(Boolean), [`smartalex: ${out} already exists (or is a symlink); decrypt writes a new file only: choose another --out`]);
      assert.is(await readFile(existing, 'utf8'), 'keep me\n');
      assert.is((await stat(existing)).mode & 0o777, 0o644);
    }
  });

  test(`[${backend.name}] a cut-short file decrypts up to its last complete chunk and says so`, async () => {
    const out = join(dataDir, 'short.wav');
    const r = await cli(env, ['recording', 'decrypt', crashed, '--out', out, '--tenant', seeded.tenantId]);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /cut short: decrypted up to its last complete chunk \(1 chunks\)/);
    const wav = parseWav(await readFile(out));
    assert.ok(wav.data.equals(expectedStereo(frames).subarray(0, DEFAULT_CHUNK_SIZE)));
  });

  test(`[${backend.name}] recording link prints a link that verifies under the master-derived secret; accesses are audited`, async () => {
    const r = await cli(env, ['recording', 'link', seeded.recordingId, '--tenant', seeded.tenantId, '--ttl', '5m', '--json']);
    assert.is(r.code, 0, r.stderr);
    const { path } = JSON.parse(r.stdout) as { path: string };
    const verdict = verifyRecordingLink(path, seeded.linkSecret);
    assert.ok(verdict.ok);
    assert.not.ok('url' in JSON.parse(r.stdout), 'no public base URL configured: the path only');
    const withBase = await cli({ ...env, SMARTALEX_PUBLIC_BASE_URL: 'https://media.example.com/' }, ['recording', 'link', seeded.recordingId, '--tenant', seeded.tenantId, '--json']);
    assert.is(withBase.code, 0, withBase.stderr);
    const minted = JSON.parse(withBase.stdout) as { url: string; path: string };
    assert.is(minted.url, `https://media.example.com${minted.path}`);
    if (backend.name === 'pglite') { // refusals do not depend on the backend: one run saves a process start
      const bad = await cli(env, ['recording', 'link', crypto.randomUUID(), '--tenant', seeded.tenantId]);
      assert.is(bad.code, 1);
      assert.match(bad.stderr, /recording not found/);
    }
    const log = await withDb((db) => listAudit(db, seeded.tenantId));
    const decrypted = log.filter((e) => e.action === 'recording.decrypted');
    assert.is(decrypted.length, 2);
    assert.ok(decrypted.every((e) => e.actor === 'operator:cli' && e.target === seeded.recordingId));
    assert.equal(decrypted.map((e) => (e.detail as { cutShort: boolean }).cutShort).sort(), [false, true]);
    assert.ok(log.some((e) => e.action === 'recording.link.created' && e.actor === 'operator:cli'));
  });

  test(`[${backend.name}] tenant rotate-key re-wraps, destroys the older version and says so; a copy made before no longer decrypts`, async () => {
    const rotated = await cli(env, ['tenant', 'rotate-key', '--tenant', seeded.tenantId]);
    assert.is(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /key version 2, 1 recordings re-wrapped/);
    assert.match(rotated.stdout, /older key versions 1 destroyed/);
    if (backend.name === 'pglite') assert.match(rotated.stdout, /destroyed key bytes erased from the database files/);
    const fromCopy = await cli(env, ['recording', 'decrypt', backup, '--out', join(dataDir, 'pre-rotation.wav')]);
    assert.is(fromCopy.code, 1);
    assert.match(fromCopy.stderr, /\(version 1\) of tenant .* was retired by key rotation and destroyed/);
    const fromStore = await cli(env, ['recording', 'decrypt', seeded.recordingId, '--out', join(dataDir, 'post-rotation.wav')]);
    assert.is(fromStore.code, 0, fromStore.stderr);
    const log = await withDb((db) => listAudit(db, seeded.tenantId));
    assert.ok(log.some((e) => e.action === 'tenant.key.retired' && e.actor === 'operator:cli'));
  });

  test(`[${backend.name}] tenant erase needs --yes, then leaves even a backup copy undecryptable`, async () => {
    if (backend.name === 'pglite') {
      const refused = await cli(env, ['tenant', 'erase', '--tenant', seeded.tenantId]);
      assert.is(refused.code, 1);
      assert.match(refused.stderr, /add --yes to confirm/);
    }
    const erased = await cli(env, ['tenant', 'erase', '--tenant', seeded.tenantId, '--yes']);
    assert.is(erased.code, 0, erased.stderr);
    assert.match(erased.stdout, /keys destroyed, 1 recordings/);
    if (backend.name === 'pglite') assert.match(erased.stdout, /destroyed key bytes erased from the database files/);
    assert.not.ok(existsSync(seeded.file));
    const out = join(dataDir, 'shredded.wav');
    const r = await cli(env, ['recording', 'decrypt', backup, '--out', out]);
    assert.is(r.code, 1);
    assert.match(r.stderr, /were destroyed; its recordings cannot be decrypted/);
    assert.not.ok(existsSync(out), 'no output file');
  });

  test(`[${backend.name}] retention sweep runs once and reports counts`, async () => {
    const r = await cli(env, ['retention', 'sweep']);
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /retention sweep: 0 expired recordings deleted across \d+ tenants/);
  });

  test.after(async () => {
    await backend.cleanup();
    await rm(dataDir, { recursive: true, force: true });
  });
}
