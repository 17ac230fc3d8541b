/**
 * A PGlite thread booted ahead of need (prestartPGliteThread): the next
 * PGliteThread adopts it and opens its database there; a process that boots
 * one and never opens a database still exits by itself. And which command
 * lines the CLI boots one for (src/cli/prestart.ts).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGliteThread, prestartPGliteThread, spareWaiting } from '../../storage/pglite-thread.ts';
import { opensEmbeddedDatabase } from '../../src/cli/prestart.ts';
import { waitFor } from '../support/poll.ts';

test('the next PGliteThread adopts the spare and opens its own data directory in it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'pglite-spare-'));
  try {
    prestartPGliteThread();
    assert.ok(spareWaiting());
    prestartPGliteThread(); // one spare at most
    const db = new PGliteThread({ dataDir: dir });
    assert.not.ok(spareWaiting(), 'adopted');
    await db.waitReady;
    await db.exec('create table kept (note text)');
    await db.query('insert into kept values ($1)', ['written through the adopted spare']);
    await db.close();
    // The data went to the directory given at adoption: a fresh thread (no spare) reads it back.
    const again = new PGliteThread({ dataDir: dir });
    await again.waitReady;
    assert.equal((await again.query<{ note: string }>('select note from kept')).rows, [{ note: 'written through the adopted spare' }]);
    await again.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an in-memory PGliteThread adopts a spare too', async () => {
  prestartPGliteThread();
  const db = new PGliteThread();
  assert.not.ok(spareWaiting());
  await db.waitReady;
  assert.equal((await db.query<{ n: number }>('select 1 as n')).rows, [{ n: 1 }]);
  await db.close();
});

test('a process that boots a spare and never opens a database exits by itself, code 0', async () => {
  const script = `import { prestartPGliteThread } from ${JSON.stringify(new URL('../../storage/pglite-thread.ts', import.meta.url).href)}; prestartPGliteThread();`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
  let code: number | null | undefined;
  child.on('exit', (c) => { code = c; });
  try {
    await waitFor('the process to exit', () => code !== undefined, { timeoutMs: 60_000 });
  } finally {
    child.kill('SIGKILL');
  }
  assert.is(code, 0);
});

test('the CLI boots one for commands that open the embedded database, not otherwise', () => {
  const env = {};
  assert.ok(opensEmbeddedDatabase(['migrate'], env));
  assert.ok(opensEmbeddedDatabase(['number', 'add', '--tenant', 't', '1000'], env));
  assert.ok(opensEmbeddedDatabase(['serve'], env));
  assert.not.ok(opensEmbeddedDatabase(['migrate'], { DATABASE_URL: 'postgres://db.example/x' }), 'a Postgres server: no embedded database');
  assert.not.ok(opensEmbeddedDatabase(['tenant', 'create', '--help'], env));
  assert.not.ok(opensEmbeddedDatabase(['-h'], env));
  assert.not.ok(opensEmbeddedDatabase([], env));
  for (const command of ['redact', 'bench', 'bench-codecs', 'help']) assert.not.ok(opensEmbeddedDatabase([command], env), command);
});

test.run();
