/** Opens the configured database and brings its schema up to date. */
import { migrate, openDatabase, type Database } from '../storage/index.ts';
import type { Config } from './config.ts';

/** `owner` names the opener to the next one while it owns an embedded data directory (storage/data-dir-lock.ts). */
export async function openConfiguredDatabase(config: Config, options: { migrate?: boolean; owner?: string } = {}): Promise<Database> {
  const db = await openDatabase({
    ...(options.owner ? { owner: options.owner } : {}),
    ...(config.DATABASE_URL ? { url: config.DATABASE_URL } : {}),
    ...(config.SMARTALEX_APP_DATABASE_URL ? { appUrl: config.SMARTALEX_APP_DATABASE_URL } : {}),
    dataDir: config.SMARTALEX_DATA_DIR,
    appRole: config.SMARTALEX_DB_APP_ROLE,
  });
  if (options.migrate !== false) {
    try {
      await migrate(db);
    } catch (error) {
      await db.close();
      throw error;
    }
  }
  return db;
}
