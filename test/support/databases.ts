/**
 * Database backends for tests: embedded PGlite (always) and a Postgres server
 * when SMARTALEX_TEST_DATABASE_URL (or DATABASE_URL) points at one. Each test
 * database on the server is created fresh and dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrate, openDatabase, type Database } from '../../storage/index.ts';
import { needExternal } from './external.ts';

export interface Backend {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated database. */
  open(options?: { appRole?: string }): Promise<Database & { ownerUrl?: string }>;
  /** Drops what open() created. */
  cleanup(): Promise<void>;
}

export const serverUrl = (): string | undefined => process.env.SMARTALEX_TEST_DATABASE_URL ?? process.env.DATABASE_URL;

/** True when a Postgres server answers at `url` (3 s connect timeout). */
export async function serverReachable(url: string): Promise<boolean> {
  const client = postgres(url, { max: 1, connect_timeout: 3, onnotice: () => {} });
  try {
    await client`select 1`;
    return true;
  } catch {
    return false;
  } finally {
    await client.end({ timeout: 1 });
  }
}

/**
 * The Postgres server this run tests against, or undefined. SMARTALEX_TEST_DATABASES=pglite chooses PGlite
 * only (CI's second Node.js run: the Postgres half ran on the first); otherwise a missing server is NOT RUN
 * (a failure under SMARTALEX_REQUIRE_EXTERNAL=1).
 */
export async function postgresUnderTest(why = 'the Postgres-server half of this suite'): Promise<string | undefined> {
  if (process.env.SMARTALEX_TEST_DATABASES === 'pglite') return undefined;
  const url = serverUrl();
  const reachable = url ? await serverReachable(url) : false;
  return needExternal(reachable, 'a Postgres server (SMARTALEX_TEST_DATABASE_URL)', why) ? url : undefined;
}

export async function backends(): Promise<Backend[]> {
  const list: Backend[] = [pgliteBackend()];
  const url = await postgresUnderTest();
  if (url) list.push(postgresBackend(url));
  return list;
}

function pgliteBackend(): Backend {
  const opened: Database[] = [];
  return {
    name: 'pglite',
    async open(options = {}) {
      const db = await openDatabase({ dataDir: '', inMemory: true, appRole: options.appRole ?? 'smartalex_app' });
      await migrate(db);
      opened.push(db);
      return db;
    },
    async cleanup() {
      for (const db of opened.splice(0)) await db.close();
    },
  };
}

function postgresBackend(adminUrl: string): Backend {
  const created: { name: string; db: Database }[] = [];
  return {
    name: 'postgres',
    async open(options = {}) {
      const name = `smartalex_test_${randomBytes(6).toString('hex')}`;
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      await admin.unsafe(`create database ${name}`);
      await admin.end();
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      const db = await openDatabase({ url: url.toString(), dataDir: '', appRole: options.appRole ?? 'smartalex_app' });
      await migrate(db);
      created.push({ name, db });
      return Object.assign(db, { ownerUrl: url.toString() });
    },
    async cleanup() {
      const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
      for (const { name, db } of created.splice(0)) {
        await db.close();
        await admin.unsafe(`drop database if exists ${name} with (force)`);
      }
      await admin.end();
    },
  };
}
