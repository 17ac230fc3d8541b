/**
 * What the operator commands share: the audit actor they act as, the
 * `--tenant` argument check, and opening the configured database for the
 * length of one command.
 */
import { isUuid, type Database } from '../../storage/index.ts';
import type { Config } from '../config.ts';
import { openConfiguredDatabase } from '../database-setup.ts';

export type ConfigLoader = () => Config;

/** The audit log's actor for everything done from the command line. */
export const OPERATOR = 'operator:cli';

/** `--tenant` must be a tenant id; a name is refused with one clear line. */
export function tenantOption(value: string): string {
  if (!isUuid(value)) throw new Error(`--tenant must be a tenant id (UUID), got "${value}"`);
  return value;
}

/** Opens the configured database, runs `work`, and closes the database whatever happens. */
export async function withDb<T>(loadConfig: ConfigLoader, work: (db: Database, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = await openConfiguredDatabase(config);
  try {
    return await work(db, config);
  } finally {
    await db.close();
  }
}
