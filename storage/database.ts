/**
 * Opening the database: a Postgres server through postgres.js when a URL is
 * given, else embedded PGlite (real Postgres compiled to WASM) in the data
 * directory, run in a worker thread (storage/pglite-thread.ts). Two faces:
 *  - `owner`: runs migrations and role provisioning, nothing else;
 *  - `app`: what the application uses. Every application transaction switches
 *    to the runtime role (SET LOCAL ROLE), which owns no table and cannot bypass
 *    RLS, so isolation holds whichever login opened the connection.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import postgres from 'postgres';
import { lockDataDir, type DataDirLock } from './data-dir-lock.ts';
import { PGliteThread } from './pglite-thread.ts';
import * as schema from './schema.ts';

export type Schema = typeof schema;
export type Db = PgDatabase<PgQueryResultHKT, Schema>;
/** A transaction handle, as given to `withTenant` callbacks. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface DatabaseOptions {
  /** postgres:// URL of the owner login (migrations). Without it: PGlite in `dataDir`. */
  url?: string;
  /** Optional postgres:// URL of the runtime role's own login. */
  appUrl?: string;
  dataDir: string;
  appRole: string;
  /** PGlite only: keep the database in memory (tests). */
  inMemory?: boolean;
  /** PGlite on disk: who opens it (named to the next opener while this one owns the directory), e.g. "the server". */
  owner?: string;
}

/**
 * One connection held apart from the pool for as long as it is needed: what session-level state (an
 * advisory lock held by a leader) needs. On PGlite it is the one connection the process has.
 */
export interface DbSession {
  query<T>(text: string, params?: unknown[]): Promise<T[]>;
  release(): Promise<void>;
}

export interface Database {
  readonly kind: 'pglite' | 'postgres';
  readonly appRole: string;
  /** Owner connection: migrations and role provisioning only. */
  readonly owner: Db;
  /** Application connection: use through withTenant / directory helpers. */
  readonly app: Db;
  /**
   * An `app` transaction whose first statement is `setup` (tenant-scope.ts: role and tenant). On PGlite the setup
   * rides with BEGIN in the database thread's one message, so it costs no round trip; on a Postgres server it is
   * the transaction's first statement.
   */
  transactionWithSetup<T>(setup: SQL, work: (tx: Tx) => Promise<T>): Promise<T>;
  ping(): Promise<boolean>;
  /** A connection of the application's login of its own (see DbSession). */
  session(): Promise<DbSession>;
  close(): Promise<void>;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (!/^[a-z_][a-z0-9_]*$/.test(options.appRole)) throw new Error(`invalid app role name: ${options.appRole}`);
  if (options.url) return openPostgres(options.url, options.appUrl, options.appRole);
  return openPglite(options);
}

async function openPglite(options: DatabaseOptions): Promise<Database> {
  let dataDir: string | undefined;
  let lock: DataDirLock | undefined;
  if (!options.inMemory) {
    dataDir = join(options.dataDir, 'pglite');
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // One process owns the directory for as long as the database is open (storage/data-dir-lock.ts).
    lock = await lockDataDir(options.dataDir, options.owner ?? 'a smartalex process');
  }
  // In a worker thread: PGlite is synchronous WASM and would otherwise stall the media event loop.
  const client = new PGliteThread(dataDir ? { dataDir } : {});
  const close = async (): Promise<void> => {
    try {
      await client.close();
    } finally {
      await lock?.release(); // only once PGlite has shut down cleanly, or its thread is gone
    }
  };
  try {
    await client.waitReady;
  } catch (error) {
    await close();
    throw error;
  }
  const db = drizzlePglite({ client: client as unknown as PGlite, schema }) as unknown as Db;
  return {
    kind: 'pglite',
    appRole: options.appRole,
    owner: db,
    app: db,
    transactionWithSetup: (setup, work) => {
      const query = dialect.sqlToQuery(setup);
      const handoff = { sql: query.sql, params: query.params, taken: false };
      return client.withBeginSetup(handoff, () => db.transaction(async (tx) => {
        if (!handoff.taken) await tx.execute(setup); // the transaction did not come through the thread's hand-off
        return work(tx);
      }));
    },
    ping: () => ping(db),
    session: async () => ({
      query: async <T>(text: string, params?: unknown[]) => (await client.query<T>(text, params)).rows,
      release: async () => undefined,
    }),
    close,
  };
}

async function openPostgres(url: string, appUrl: string | undefined, appRole: string): Promise<Database> {
  const quiet = { onnotice: () => {} };
  const ownerClient = postgres(url, { max: 2, ...quiet });
  const appClient = appUrl ? postgres(appUrl, { max: 10, ...quiet }) : ownerClient;
  const owner = drizzlePostgres(ownerClient, { schema }) as unknown as Db;
  const app = appUrl ? (drizzlePostgres(appClient, { schema }) as unknown as Db) : owner;
  return {
    kind: 'postgres',
    appRole,
    owner,
    app,
    transactionWithSetup: (setup, work) => app.transaction(async (tx) => {
      await tx.execute(setup);
      return work(tx);
    }),
    ping: () => ping(app),
    session: async () => {
      const reserved = await appClient.reserve();
      return {
        query: async <T>(text: string, params?: unknown[]) => [...await reserved.unsafe(text, (params ?? []) as never[])] as T[],
        release: async () => reserved.release(),
      };
    },
    close: async () => {
      await ownerClient.end({ timeout: 5 });
      if (appClient !== ownerClient) await appClient.end({ timeout: 5 });
    },
  };
}

const dialect = new PgDialect();

async function ping(db: Db): Promise<boolean> {
  try {
    await db.execute(sql`select 1`);
    return true;
  } catch {
    return false;
  }
}
