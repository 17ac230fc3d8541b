/**
 * Making deleted rows really gone from the database's files. Postgres never
 * overwrites a row in place: an UPDATE or DELETE leaves the old row version in
 * the table's heap until a vacuum reuses the space (PGlite never autovacuums),
 * and the WAL segment that logged it stays in pg_wal until a checkpoint retires
 * it, then is by default *recycled*: renamed for future use with the old bytes
 * still in it. So after crypto-shredding a key row:
 *  1. `VACUUM (FULL)` rewrites the table into new files without dead versions
 *     (owner connection, outside any transaction);
 *  2. with WAL recycling off, `pg_switch_wal()` + `CHECKPOINT` retire every
 *     segment written before, repeated while recycled "future" segments (which
 *     may hold older bytes) exist, so the segment left in use is a fresh one;
 *  3. `pg_ls_waldir()` confirms no older segment is left.
 * PGlite runs every statement in one backend, so `SET wal_recycle = off` holds
 * for its checkpoints. A Postgres server's checkpointer follows the server
 * setting, and CHECKPOINT / pg_switch_wal / pg_ls_waldir need superuser (or
 * pg_checkpoint and pg_monitor): whatever cannot be done is reported as a
 * caveat for the operator, never hidden.
 */
import { sql } from 'drizzle-orm';
import type { Database } from './database.ts';
import { rows } from './migrate.ts';

export interface PhysicalErasure {
  /** The table was rewritten: none of its files holds a dead row version. */
  tableRewritten: boolean;
  /** No WAL segment written before the erasure is left in pg_wal. */
  walPurged: boolean;
  /** What could not be guaranteed, one line each (empty when both hold). */
  caveats: string[];
}

/** Enough for the default min_wal_size (80 MB = 5 recycled segments) and some. */
const MAX_WAL_SWITCHES = 12;
const SEGMENT_NAME = /^[0-9A-F]{24}$/;

function sqlState(error: unknown): string | undefined {
  const e = error as { code?: unknown; cause?: { code?: unknown } };
  const code = e.cause?.code ?? e.code;
  return typeof code === 'string' ? code : undefined;
}

function reason(error: unknown): string {
  return sqlState(error) === '42501' ? 'permission denied' : `failed (${sqlState(error) ?? (error as Error).name ?? 'error'})`;
}

async function walSegments(db: Database): Promise<{ current: string; older: number; future: number }> {
  const [row] = rows<{ current: string; names: string[] | null }>(await db.owner.execute(sql`
    select pg_walfile_name(pg_current_wal_insert_lsn()) as current,
           (select array_agg(name) from pg_ls_waldir()) as names`));
  const names = (row?.names ?? []).filter((n) => SEGMENT_NAME.test(n));
  const current = row!.current;
  return { current, older: names.filter((n) => n < current).length, future: names.filter((n) => n > current).length };
}

/** Rewrites `table` without its dead row versions and retires the WAL that logged them. */
export async function eraseDeadRowVersions(db: Database, table: 'tenant_keys'): Promise<PhysicalErasure> {
  const caveats: string[] = [];
  let tableRewritten = false;
  try {
    await db.owner.execute(sql`VACUUM (FULL) ${sql.identifier(table)}`);
    tableRewritten = true;
  } catch (error) {
    caveats.push(`VACUUM (FULL) ${table} ${reason(error)}: old row versions stay in the table's files until Postgres reuses the space`);
  }
  const walPurged = await purgeWal(db, caveats);
  return { tableRewritten, walPurged, caveats };
}

async function purgeWal(db: Database, caveats: string[]): Promise<boolean> {
  if (db.kind === 'pglite') await db.owner.execute(sql`SET wal_recycle = off`);
  const [settings] = rows<{ recycle: string; archive: string }>(await db.owner.execute(sql`
    select current_setting('wal_recycle') as recycle, current_setting('archive_mode') as archive`));
  if (settings?.archive && settings.archive !== 'off') {
    caveats.push('WAL archiving is on: archived WAL segments keep the old bytes for the archive\'s retention');
  }
  if (settings?.recycle !== 'off') {
    caveats.push('the server recycles WAL segments (wal_recycle = on): the old bytes stay in a recycled pg_wal file until the server writes over it; set wal_recycle = off for erasure that reaches the WAL');
    return false;
  }
  try {
    for (let i = 0; i < MAX_WAL_SWITCHES; i++) {
      const before = await walSegments(db);
      await db.owner.execute(sql`select pg_switch_wal()`);
      await db.owner.execute(sql`CHECKPOINT`);
      // Without recycled segments ahead, the switch opened a freshly created (zero-filled) one.
      if (before.future === 0) break;
    }
    const after = await walSegments(db);
    if (after.older > 0 || after.future > 0) {
      caveats.push(`${after.older + after.future} WAL segments besides the current one are still in pg_wal (replication slots, wal_keep_size or a busy server): they may hold the old bytes until the next checkpoints`);
      return false;
    }
    return true;
  } catch (error) {
    caveats.push(`retiring WAL segments (pg_switch_wal, CHECKPOINT, pg_ls_waldir) ${reason(error)}: the old bytes stay in pg_wal until the server's own checkpoints retire them`);
    return false;
  }
}
