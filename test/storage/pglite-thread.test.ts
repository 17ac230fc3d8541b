/** Embedded PGlite in a worker thread: queries, transactions, errors and close behave as PGlite's own client. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PGliteThread } from '../../storage/pglite-thread.ts';

const db = new PGliteThread();
await db.waitReady;
await db.exec('create table t (id int primary key, note text, at timestamptz default now())');

test('queries return rows in object and array mode; timestamps stay strings as drizzle expects', async () => {
  await db.query('insert into t (id, note) values ($1, $2)', [1, 'one']);
  const objects = await db.query<{ id: number; note: string; at: unknown }>('select id, note, at from t where id = $1', [1]);
  assert.equal(objects.rows.map((r) => [r.id, r.note]), [[1, 'one']]);
  assert.type(objects.rows[0]!.at, 'string');
  const arrays = await db.query<unknown[]>('select id, note from t where id = 1', [], { rowMode: 'array' });
  assert.equal(arrays.rows, [[1, 'one']]);
  assert.equal(arrays.fields.map((f) => f.name), ['id', 'note']);
});

test('a transaction commits what its callback did; a throw rolls it back and rethrows', async () => {
  const value = await db.transaction(async (tx) => {
    await tx.query("select set_config('app.x', 'y', true)");
    await tx.query('insert into t (id, note) values (2, $1)', ['two']);
    return (await tx.query<{ x: string }>("select current_setting('app.x') as x")).rows[0]!.x;
  });
  assert.is(value, 'y');
  assert.is((await db.query('select 1 from t where id = 2')).rows.length, 1);
  const boom = new Error('boom');
  try {
    await db.transaction(async (tx) => {
      await tx.query('insert into t (id, note) values (3, $1)', ['three']);
      throw boom;
    });
    assert.unreachable('the transaction should have thrown');
  } catch (error) {
    assert.is(error, boom);
  }
  assert.is((await db.query('select 1 from t where id = 3')).rows.length, 0, 'rolled back');
  assert.is((await db.query("select current_setting('app.x', true) as x")).rows.length, 1);
});

test('a begin setup runs inside the transaction, before its first statement, with no message of its own', async () => {
  let queries = 0;
  const setup = { sql: "select set_config('app.scope', $1, true)", params: ['tenant-a'], taken: false };
  const seen = await db.withBeginSetup(setup, () => db.transaction(async (tx) => {
    const counted = { query: (sql: string) => { queries++; return tx.query<{ v: string }>(sql); } };
    return (await counted.query("select current_setting('app.scope', true) as v")).rows[0]!.v;
  }));
  assert.is(setup.taken, true);
  assert.is(seen, 'tenant-a');
  assert.is(queries, 1);
  // Transaction-local: gone after the commit, and a later transaction gets no setup.
  assert.ok(!(await db.transaction(async (tx) => (await tx.query<{ v: string | null }>("select current_setting('app.scope', true) as v")).rows[0]!.v)));
  // A setup that fails fails the transaction's statements.
  const bad = { sql: 'select no_such_function()', params: [], taken: false };
  let failed = false;
  try {
    await db.withBeginSetup(bad, () => db.transaction(async (tx) => tx.query('select 1')));
  } catch {
    failed = true;
  }
  assert.ok(failed);
  assert.equal((await db.query<{ n: number }>('select 1 as n')).rows, [{ n: 1 }], 'the thread is still usable');
});

test('Postgres errors keep their message and SQLSTATE code', async () => {
  try {
    await db.query('insert into t (id, note) values (1, $1)', ['duplicate']);
    assert.unreachable('duplicate key accepted');
  } catch (error) {
    assert.match((error as Error).message, 'duplicate key');
    assert.is((error as { code?: string }).code, '23505');
  }
});

test('concurrent transactions are serialised in the database: no lost read-modify-write updates', async () => {
  await db.exec('create table counter (n int); insert into counter values (0)');
  await Promise.all(Array.from({ length: 5 }, () => db.transaction(async (tx) => {
    const n = (await tx.query<{ n: number }>('select n from counter')).rows[0]!.n;
    await tx.query('select pg_sleep(0.005)');
    await tx.query('update counter set n = $1', [n + 1]);
  })));
  assert.is((await db.query<{ n: number }>('select n from counter')).rows[0]!.n, 5);
});

test('after close every call fails with a clear error', async () => {
  await db.close();
  assert.ok(db.closed);
  try {
    await db.query('select 1');
    assert.unreachable('query after close');
  } catch (error) {
    assert.match((error as Error).message, 'closed');
  }
});

test.run();
