/**
 * Row-level security, table by table: with tenant A set, tenant B's rows cannot
 * be selected, inserted, updated or deleted; with no tenant set, nothing is
 * visible. Runs on PGlite and on a Postgres server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { rows, withoutTenant, withTenant, type Database } from '../../storage/index.ts';
import { backends } from '../support/databases.ts';
import { seedTenant } from '../support/seed.ts';

async function tenantTables(db: Database): Promise<string[]> {
  const result = await db.owner.execute(sql`
    select table_name from information_schema.columns
    where table_schema = 'public' and column_name = 'tenant_id' order by table_name`);
  return rows<{ table_name: string }>(result).map((r) => r.table_name);
}

async function count(db: Database, scope: string | null, table: string, where = sql``): Promise<number> {
  const run = async (tx: Parameters<Parameters<typeof withoutTenant>[1]>[0]) =>
    Number(rows<{ n: number }>(await tx.execute(sql`select count(*)::int as n from ${sql.identifier(table)} ${where}`))[0]!.n);
  return scope ? withTenant(db, scope, run) : withoutTenant(db, run);
}

/** Expects the statement to be refused (by RLS or by a missing privilege). */
async function refused(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
  } catch (error) {
    const message = String((error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message);
    assert.match(message, /row-level security|permission denied/);
    return message;
  }
  assert.unreachable('statement was not refused');
  return '';
}

for (const backend of await backends()) {
  test(`[${backend.name}] every tenant table isolates tenants`, async () => {
    try {
      await checkEveryTable(await backend.open());
    } finally {
      await backend.cleanup();
    }
  });
}

async function checkEveryTable(db: Database): Promise<void> {
  const a = await seedTenant(db, 'a', '2001');
  const b = await seedTenant(db, 'b', '2002');
  const tables = await tenantTables(db);
  assert.ok(tables.length >= 14, `expected all tenant tables, found ${tables.join(', ')}`);

  for (const table of [...tables, 'tenants']) {
    const key = table === 'tenants' ? sql.raw('id') : sql.raw('tenant_id');
    const ofB = sql`where ${key} = ${b.tenantId}`;
    // A table the runtime role reaches only through functions (the cluster's call leases): it cannot touch
    // a row of it at all, its own tenant's included; that is its isolation.
    const readable = rows<{ ok: boolean }>(await withTenant(db, a.tenantId, (tx) => tx.execute(sql`select has_table_privilege(${table}, 'SELECT') as ok`)))[0]!.ok;
    if (!readable) {
      await refused(() => count(db, a.tenantId, table, ofB));
      await refused(() => withTenant(db, a.tenantId, (tx) => tx.execute(sql`update ${sql.identifier(table)} set ${key} = ${key} ${ofB}`)));
      await refused(() => withTenant(db, a.tenantId, (tx) => tx.execute(sql`delete from ${sql.identifier(table)} ${ofB}`)));
      continue;
    }
    // select
    assert.is(await count(db, a.tenantId, table, ofB), 0, `${table}: A sees B's rows`);
    assert.ok(await count(db, a.tenantId, table) >= 1, `${table}: A cannot see its own rows`);
    assert.ok(await count(db, b.tenantId, table, ofB) >= 1, `${table}: B cannot see its own rows`);
    // nothing without a tenant
    assert.is(await count(db, null, table), 0, `${table}: rows visible with no tenant set`);
    // update and delete of B's rows from A touch nothing (or are not permitted at all)
    assert.is(await touchedOrRefused(() => withTenant(db, a.tenantId, (tx) =>
      tx.execute(sql`update ${sql.identifier(table)} set ${key} = ${key} ${ofB}`))), 0, `${table}: A updated B's rows`);
    assert.is(await touchedOrRefused(() => withTenant(db, a.tenantId, (tx) =>
      tx.execute(sql`delete from ${sql.identifier(table)} ${ofB}`))), 0, `${table}: A deleted B's rows`);
    assert.ok(await count(db, b.tenantId, table, ofB) >= 1, `${table}: B's rows were changed from A`);
    // insert a copy of A's row as B's, and move A's own row to B: both refused
    const columns = await insertableColumns(db, table);
    const selectList = sql.join(columns.map((c) => c.name === (table === 'tenants' ? 'id' : 'tenant_id')
      ? sql`${b.tenantId}::uuid`
      : c.regenerate ? sql.raw(c.regenerate) : sql.identifier(c.name)), sql`, `);
    const names = sql.join(columns.map((c) => sql.identifier(c.name)), sql`, `);
    await refused(() => withTenant(db, a.tenantId, (tx) => tx.execute(sql`insert into ${sql.identifier(table)} (${names}) select ${selectList} from ${sql.identifier(table)} limit 1`)));
    await refused(() => withTenant(db, a.tenantId, (tx) => tx.execute(sql`update ${sql.identifier(table)} set ${key} = ${b.tenantId}`)));
  }
}

/** Rows an update/delete touched; a statement refused outright (no privilege, e.g. the append-only audit log) touched none. */
async function touchedOrRefused(work: () => Promise<unknown>): Promise<number> {
  try {
    return affected(await work());
  } catch (error) {
    const message = String((error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message);
    assert.match(message, /row-level security|permission denied/);
    return 0;
  }
}

function affected(result: unknown): number {
  const r = result as { count?: number; affectedRows?: number };
  return Number(r.count ?? r.affectedRows ?? 0);
}

async function insertableColumns(db: Database, table: string): Promise<{ name: string; regenerate?: string }[]> {
  const result = await db.owner.execute(sql`
    select c.column_name as name, c.column_default as def, c.data_type as type,
      exists (select 1 from information_schema.table_constraints tc
              join information_schema.constraint_column_usage u on u.constraint_name = tc.constraint_name and u.table_name = tc.table_name
              where tc.table_name = c.table_name and tc.constraint_type in ('UNIQUE', 'PRIMARY KEY') and u.column_name = c.column_name) as uniq
    from information_schema.columns c where c.table_schema = 'public' and c.table_name = ${table} order by c.ordinal_position`);
  return rows<{ name: string; def: string | null; type: string; uniq: boolean }>(result)
    .filter((c) => !(c.def?.startsWith('nextval(')))
    .map((c) => {
      if (!c.uniq || c.name === 'tenant_id' || (table === 'tenants' && c.name === 'id')) return { name: c.name };
      return { name: c.name, regenerate: c.type === 'uuid' ? 'gen_random_uuid()' : `${c.name} || 'x'` };
    });
}

test.run();
