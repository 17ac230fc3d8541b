/**
 * One owner per embedded data directory (storage/data-dir-lock.ts): a second
 * opener, in this process or another, is refused with the owner's name and
 * pid; a lock left by a process killed with SIGKILL does not block the next
 * one; racing takers of one stale lock end with exactly one owner.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, lockDataDir, LOCK_FILE } from '../../storage/data-dir-lock.ts';
import { openDatabase } from '../../storage/index.ts';

const fresh = (): string => mkdtempSync(join(tmpdir(), 'smartalex-lock-'));

/** A child process that takes the lock, says so, and waits to be killed. */
async function childHoldingLock(dir: string): Promise<{ pid: number; kill(): Promise<void> }> {
  const lockModule = new URL('../../storage/data-dir-lock.ts', import.meta.url).href;
  const code = `const m = await import(${JSON.stringify(lockModule)}); await m.lockDataDir(${JSON.stringify(dir)}, 'the child'); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); if (out.includes('locked\n')) resolve(); });
    child.once('exit', (c) => reject(new Error(`child exited (${c}) before locking`)));
  });
  return {
    pid: child.pid!,
    kill: () => new Promise((resolve) => { child.once('exit', () => resolve()); child.kill('SIGKILL'); }),
  };
}

test('a second opener in the same process is refused, naming the owner; release lets the next one in', async () => {
  const dir = fresh();
  try {
    const lock = await lockDataDir(dir, 'the server');
    assert.is(statSync(join(dir, LOCK_FILE)).mode & 0o777, 0o600);
    const refused = await lockDataDir(dir, 'smartalex number list').then(() => undefined, (e: unknown) => e);
    assert.instance(refused, DataDirLockedError);
    assert.equal((refused as DataDirLockedError).holder, { pid: process.pid, owner: 'the server' });
    assert.match((refused as Error).message, `is in use by the server (pid ${process.pid})`);
    await lock.release();
    assert.not.ok(existsSync(join(dir, LOCK_FILE)), 'released lock file left behind');
    await (await lockDataDir(dir, 'next')).release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a live owner in another process is refused; after it is SIGKILLed its stale lock does not block', async () => {
  const dir = fresh();
  try {
    const child = await childHoldingLock(dir);
    const refused = await lockDataDir(dir, 'me').then(() => undefined, (e: unknown) => e);
    assert.instance(refused, DataDirLockedError);
    assert.equal((refused as DataDirLockedError).holder, { pid: child.pid, owner: 'the child' });
    await child.kill();
    assert.ok(existsSync(join(dir, LOCK_FILE)), 'SIGKILL should leave the socket file behind (the stale case)');
    const lock = await lockDataDir(dir, 'me');
    await lock.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('racing takers of one stale lock: exactly one wins, the others are refused by it', async () => {
  const dir = fresh();
  try {
    await (await childHoldingLock(dir)).kill();
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => lockDataDir(dir, `taker ${i}`)));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.is(won.length, 1, 'not exactly one owner');
    for (const r of results) if (r.status === 'rejected') assert.instance(r.reason, DataDirLockedError);
    await (won[0] as PromiseFulfilledResult<{ release(): Promise<void> }>).value.release();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('openDatabase on a directory already open is refused before PGlite starts; in-memory databases take no lock', async () => {
  const dir = fresh();
  try {
    const first = await openDatabase({ dataDir: dir, appRole: 'smartalex_app', owner: 'the server' });
    const refused = await openDatabase({ dataDir: dir, appRole: 'smartalex_app', owner: 'smartalex migrate' }).then(() => undefined, (e: unknown) => e);
    assert.instance(refused, DataDirLockedError);
    const memory = await openDatabase({ dataDir: dir, appRole: 'smartalex_app', inMemory: true });
    await memory.close();
    await first.close();
    assert.not.ok(existsSync(join(dir, LOCK_FILE)));
    const again = await openDatabase({ dataDir: dir, appRole: 'smartalex_app' });
    assert.ok(await again.ping());
    await again.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a data directory whose socket path would be truncated is refused with one clear line', async () => {
  const dir = join(tmpdir(), 'x'.repeat(120));
  const refused = await lockDataDir(dir, 'me').then(() => undefined, (e: unknown) => e);
  assert.match((refused as Error).message, /the data directory path is too long for its db\.lock socket/);
});

test.run();
