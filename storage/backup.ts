/**
 * The logical dump and load behind `smartalex backup` / `restore` (src/backup.ts seals it): every table of
 * the public schema as JSON rows, in foreign-key order, plus the migrations the database was at. The
 * schema, RLS policies, roles and functions are not dumped: restore brings an empty database to the same
 * migrations first, then loads the rows in one transaction, then moves every serial past its rows.
 * Runs as the owner login, which must be able to bypass row-level security (superuser or BYPASSRLS, as
 * for pg_dump): `row_security = off` makes any other login fail loudly instead of dumping nothing.
 */
import { sql } from 'drizzle-orm';
import type { Database, Tx } from './database.ts';
import { rows } from './migrate.ts';

export interface DumpHeader {
  format: 'smartalex-dump';
  version: 1;
  /** Hashes of the applied migrations, in order: a restore needs the same code. */
  migrations: string[];
  tables: string[];
}

export type DumpLine = DumpHeader | { table: string; row: Record<string, unknown> };

export class RestoreError extends Error {
  override name = 'RestoreError';
}

export async function appliedMigrations(db: Database): Promise<string[]> {
  const result = await db.owner.execute(sql`select hash from drizzle.__drizzle_migrations order by id`);
  return rows<{ hash: string }>(result).map((r) => r.hash);
}

/** Public tables, each after every table it references. */
async function tablesInDependencyOrder(tx: Tx): Promise<string[]> {
  const tables = rows<{ name: string }>(await tx.execute(sql`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind in ('r', 'p') order by c.relname`)).map((r) => r.name);
  const edges = rows<{ child: string; parent: string }>(await tx.execute(sql`select c.relname as child, p.relname as parent
    from pg_constraint k join pg_class c on c.oid = k.conrelid join pg_class p on p.oid = k.confrelid join pg_namespace n on n.oid = c.relnamespace
    where k.contype = 'f' and n.nspname = 'public' and c.oid <> p.oid`));
  const order: string[] = [];
  const done = new Set<string>();
  const visit = (t: string, path: Set<string>): void => {
    if (done.has(t)) return;
    if (path.has(t)) throw new Error(`foreign keys form a cycle through ${t}`);
    path.add(t);
    for (const e of edges) if (e.child === t) visit(e.parent, path);
    path.delete(t);
    done.add(t);
    order.push(t);
  };
  for (const t of tables) visit(t, new Set());
  return order;
}

/** The whole database as dump lines: the header, then each table's rows. */
export async function* dumpDatabase(db: Database): AsyncGenerator<DumpLine> {
  const migrations = await appliedMigrations(db);
  // One snapshot for every table (repeatable read), read as a login that bypasses RLS.
  const snapshot = await db.owner.transaction(async (tx) => {
    await tx.execute(sql`set transaction isolation level repeatable read`);
    await tx.execute(sql`set local row_security = off`);
    const tables = await tablesInDependencyOrder(tx);
    const data: Array<{ table: string; rows: Record<string, unknown>[] }> = [];
    for (const table of tables) {
      const result = await tx.execute(sql`select row_to_json(t) as row from ${sql.identifier(table)} t`);
      data.push({ table, rows: rows<{ row: Record<string, unknown> | string }>(result).map((r) => (typeof r.row === 'string' ? JSON.parse(r.row) : r.row) as Record<string, unknown>) });
    }
    return { tables, data };
  });
  yield { format: 'smartalex-dump', version: 1, migrations, tables: snapshot.tables };
  for (const { table, rows: tableRows } of snapshot.data) for (const row of tableRows) yield { table, row };
}

/**
 * Loads dump lines into `db`, which must be migrated to the dump's migrations and hold no rows yet
 * (migrations may have seeded nothing but their own bookkeeping). One transaction: a failure (a tampered
 * backup that stops decrypting halfway) leaves the database as empty as it was.
 */
export async function loadDump(db: Database, lines: AsyncIterable<DumpLine>): Promise<{ tables: number; rows: number }> {
  const iterator = lines[Symbol.asyncIterator]();
  const first = await iterator.next();
  const header = first.value as DumpHeader | undefined;
  if (first.done || header?.format !== 'smartalex-dump' || header.version !== 1) throw new RestoreError('not a SmartAlex database dump');
  const migrations = await appliedMigrations(db);
  if (JSON.stringify(migrations) !== JSON.stringify(header.migrations)) {
    throw new RestoreError(`the backup was taken at ${header.migrations.length} migrations, this database is at ${migrations.length}: restore with the same version of smartalex`);
  }
  return db.owner.transaction(async (tx) => {
    await tx.execute(sql`set local row_security = off`);
    const tables = await tablesInDependencyOrder(tx);
    for (const table of tables) {
      const [row] = rows<{ any: boolean }>(await tx.execute(sql`select exists (select 1 from ${sql.identifier(table)}) as any`));
      if (row?.any) throw new RestoreError(`the database is not empty (table ${table} has rows): restore needs an empty database`);
    }
    const known = new Set(tables);
    let count = 0;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
      const line = next.value as { table: string; row: Record<string, unknown> };
      if (!known.has(line.table)) throw new RestoreError(`the backup names a table this database does not have: ${line.table}`);
      const table = sql.identifier(line.table);
      await tx.execute(sql`insert into ${table} select * from json_populate_record(null::${table}, ${JSON.stringify(line.row)}::json)`);
      count++;
    }
    // Serial columns continue after the restored rows.
    const serials = rows<{ table_name: string; column_name: string }>(await tx.execute(sql`select table_name, column_name from information_schema.columns
      where table_schema = 'public' and column_default like 'nextval(%'`));
    for (const s of serials) {
      await tx.execute(sql`select setval(pg_get_serial_sequence(${`public.${s.table_name}`}, ${s.column_name}),
        coalesce((select max(${sql.identifier(s.column_name)}) from ${sql.identifier(s.table_name)}), 0) + 1, false)`);
    }
    return { tables: tables.length, rows: count };
  });
}
