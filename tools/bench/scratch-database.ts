/**
 * A fresh, uniquely named database on a Postgres server for one in-process
 * benchmark run (`--database-url`), so the run starts from empty tables like
 * the embedded default does; dropped again at the end. The given URL must be
 * a login allowed to CREATE DATABASE (e.g. the postgres superuser).
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';

export interface ScratchDatabase {
  /** The given URL with the new database's name as its path. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createScratchDatabase(serverUrl: string): Promise<ScratchDatabase> {
  const name = `smartalex_bench_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const admin = postgres(serverUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let dropped = false;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      if (dropped) return;
      dropped = true;
      const again = postgres(serverUrl, { max: 1, onnotice: () => undefined });
      try {
        await again.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await again.end({ timeout: 5 });
      }
    },
  };
}
