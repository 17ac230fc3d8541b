/**
 * Making deleted rows really gone from the database's files. Postgres never
 * overwrites a row in place: an UPDATE or DELETE leaves the old row version in
 * the table's heap until a vacuum reuses the space (PGlite never autovacuums),
 * and the WAL segment that logged it stays in pg_wal until a checkpoint retires
 * it, then is by default *recycled*: renamed for future use with the old bytes
 * still in it. So after crypto-shredding a key row:
 *  0. on a Postgres server, wait until no transaction in this database that
 *     began before the erasure is still open (pg_stat_activity's backend_xmin),
 *     no transaction anywhere on the server holds an older transaction id
 *     (backend_xid, prepared transactions: a snapshot taken here while one runs
 *     starts at it), nor a replication slot holds such a horizon: while one
 *     is, the old version is "recently dead" and VACUUM (FULL) copies it into
 *     the new files (an autovacuum ANALYZE or a report running at that moment
 *     was enough; so was a write transaction in another database, once a
 *     session here took a snapshot during it). The wait is bounded; past it the table is not rewritten
 *     (the rewrite could not drop those versions, and would queue behind the
 *     older transactions' locks, stalling every reader of the table) and the
 *     erasure says which sessions (pid, type, age; never their queries) kept
 *     the old versions;
 *  1. `VACUUM (FULL)` rewrites the table into new files without dead versions
 *     (owner connection, outside any transaction); when ANALYZE has sampled
 *     the table (autovacuum does on a server), pg_statistic holds old values
 *     too (a bytea histogram is whole values): the statistics are rebuilt
 *     from the live rows (ANALYZE) and pg_statistic rewritten, after the
 *     same wait as in 0 for transactions older than that ANALYZE (on a busy
 *     server there nearly always is one, milliseconds old, and the rewrite
 *     would copy the old statistics row along with it);
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
  /** No statistics row sampled from the old versions is left in pg_statistic's files (true when there was none). */
  statisticsErased: boolean;
  /** No WAL segment written before the erasure is left in pg_wal. */
  walPurged: boolean;
  /** What could not be guaranteed, one line each (empty when all three hold). */
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

export interface ErasureOptions {
  /**
   * How long, in all, to wait for transactions older than the erasure's steps to end (a Postgres server only);
   * default 60 s.
   */
  olderTransactionsTimeoutMs?: number;
  /** Runs after the table's rewrite, before its statistics are rebuilt (tests hold a transaction open there). */
  beforeStatistics?: () => Promise<void>;
}

const DEFAULT_OLDER_TRANSACTIONS_TIMEOUT_MS = 60_000;

/**
 * What could still see row versions deleted before `horizon` (a 32-bit xid as text), one line each:
 *  - a session in this database, or in none (those hold back every database's horizon), whose snapshot is older;
 *  - a transaction holding an older transaction id in *any* database: while it runs, every snapshot taken, here
 *    too, starts at it (a snapshot's xmin is the oldest running xid, whatever its database), so a session here
 *    could begin after this check and still see the deleted versions;
 *  - a prepared transaction with an older id (the same, and it has no session), a replication slot's xmin.
 */
async function olderThan(db: Database, horizon: string): Promise<string[]> {
  // age() orders xids across wraparound: an xid older than the horizon is further from the next xid.
  const sessions = rows<{ pid: number; type: string | null; seconds: number | null; elsewhere: boolean }>(await db.owner.execute(sql`
    select pid, backend_type as type, floor(extract(epoch from now() - coalesce(xact_start, backend_start)))::int as seconds,
           coalesce(datname <> current_database(), false) as elsewhere
      from pg_stat_activity
     where pid <> pg_backend_pid()
       and (((datname = current_database() or datid is null) and backend_xmin is not null and age(backend_xmin) > age(${horizon}::xid))
         or (backend_xid is not null and age(backend_xid) > age(${horizon}::xid)))
     order by pid`));
  const prepared = rows<{ n: number }>(await db.owner.execute(sql`
    select count(*)::int as n from pg_prepared_xacts where age(transaction) > age(${horizon}::xid)`))[0]?.n ?? 0;
  const slots = rows<{ name: string }>(await db.owner.execute(sql`
    select slot_name as name from pg_replication_slots where xmin is not null and age(xmin) > age(${horizon}::xid) order by slot_name`));
  return [
    ...sessions.map((s) => `session ${s.pid} (${s.type ?? 'unknown type'}${s.elsewhere ? ', in another database' : ''}${s.seconds === null ? '' : `, open ${s.seconds} s`})`),
    ...(prepared > 0 ? [`${prepared} prepared transaction${prepared === 1 ? '' : 's'}`] : []),
    ...slots.map((s) => `replication slot ${s.name}`),
  ];
}

/**
 * Waits (until `deadline`, a performance.now() time) until nothing in this database can still see row versions
 * deleted before now; what is left at the deadline.
 */
async function waitForOlderTransactions(db: Database, deadline: number): Promise<string[]> {
  const [row] = rows<{ horizon: string }>(await db.owner.execute(sql`
    select (pg_snapshot_xmax(pg_current_snapshot())::text::numeric % 4294967296)::text as horizon`));
  const horizon = row!.horizon;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    const holding = await olderThan(db, horizon);
    if (holding.length === 0 || performance.now() >= deadline) return holding;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, Math.max(0, deadline - performance.now()))));
  }
}

/** What still holds a snapshot from before now, as caveat text; empty on PGlite (one backend) or when nothing does. */
async function olderTransactions(db: Database, deadline: number): Promise<string[]> {
  if (db.kind !== 'postgres') return [];
  try {
    return await waitForOlderTransactions(db, deadline);
  } catch (error) {
    return [`the check itself (pg_stat_activity, pg_replication_slots) ${reason(error)}`];
  }
}

/**
 * ANALYZE (autovacuum's, on a Postgres server) keeps sample values of every column in pg_statistic: a bytea
 * column's histogram holds whole values, destroyed wrapped keys included, after the rows are gone. When the
 * table has such statistics they are rebuilt from the live rows (the old statistics row becomes a dead version),
 * then, once no transaction older than that ANALYZE is open, pg_statistic is rewritten without it. True when no
 * old statistics row is left.
 */
async function eraseColumnStatistics(db: Database, table: 'tenant_keys', deadline: number, caveats: string[]): Promise<boolean> {
  const [row] = rows<{ has: boolean }>(await db.owner.execute(sql`
    select exists (select 1 from pg_stats where schemaname = current_schema() and tablename = ${table}) as has`));
  if (!row?.has) return true;
  const trouble = `: pg_statistic may keep sample values of the old rows until the next ANALYZE of ${table} and a vacuum of pg_statistic`;
  try {
    await db.owner.execute(sql`ANALYZE ${sql.identifier(table)}`);
  } catch (error) {
    caveats.push(`rebuilding ${table}'s column statistics (ANALYZE) ${reason(error)}${trouble}`);
    return false;
  }
  const holding = await olderTransactions(db, deadline);
  if (holding.length > 0) {
    caveats.push(`transactions older than the rebuild of ${table}'s statistics were still open (${holding.join('; ')})${trouble}`);
    return false;
  }
  try {
    await db.owner.execute(sql`VACUUM (FULL) pg_statistic`);
    return true;
  } catch (error) {
    caveats.push(`rewriting pg_statistic (VACUUM (FULL)) ${reason(error)}${trouble}`);
    return false;
  }
}

/** Rewrites `table` without its dead row versions and retires the WAL that logged them. */
export async function eraseDeadRowVersions(db: Database, table: 'tenant_keys', options: ErasureOptions = {}): Promise<PhysicalErasure> {
  const caveats: string[] = [];
  let tableRewritten = false;
  let statisticsErased = false;
  const deadline = performance.now() + (options.olderTransactionsTimeoutMs ?? DEFAULT_OLDER_TRANSACTIONS_TIMEOUT_MS);
  const holding = await olderTransactions(db, deadline);
  if (holding.length > 0) {
    // A rewrite now would copy the versions they can see, and would queue behind their locks, stalling every reader of the table.
    caveats.push(`transactions older than the erasure were still open (${holding.join('; ')}): the old row versions they can still see stay in the ${table} files until a VACUUM (FULL) ${table} after those end`);
  } else {
    try {
      await db.owner.execute(sql`VACUUM (FULL) ${sql.identifier(table)}`);
      tableRewritten = true;
    } catch (error) {
      caveats.push(`VACUUM (FULL) ${table} ${reason(error)}: old row versions stay in the table's files until Postgres reuses the space`);
    }
    if (tableRewritten) {
      await options.beforeStatistics?.();
      statisticsErased = await eraseColumnStatistics(db, table, deadline, caveats);
    }
  }
  const walPurged = await purgeWal(db, caveats);
  return { tableRewritten, statisticsErased, walPurged, caveats };
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
