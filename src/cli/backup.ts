/**
 * `smartalex backup --out FILE` and `smartalex restore --in FILE` (src/backup.ts): the database, sealed
 * like a recording under the master key, to a new 0600 file; and back into an empty database.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { loadMasterKey } from '../../storage/vault/index.ts';
import { restoreBackup, writeBackup } from '../backup.ts';
import type { Config } from '../config.ts';
import type { OperatorContext } from './operator.ts';

function masterKeyOf(config: Config) {
  return loadMasterKey({ dataDir: config.SMARTALEX_DATA_DIR, env: config.SMARTALEX_MASTER_KEY ? { SMARTALEX_MASTER_KEY: config.SMARTALEX_MASTER_KEY } : {} });
}

export function registerBackupCommands(program: Command, ctx: OperatorContext): void {
  const { io } = ctx;
  program
    .command('backup')
    .description('write the whole database, encrypted under the master key, to a new file (0600)')
    .requiredOption('--out <file>', 'the backup file to create (an existing file is refused)')
    .action(async (opts: { out: string }) => {
      await ctx.withDb(async (db, config) => {
        const path = resolve(io.cwd, opts.out);
        const summary = await writeBackup(db, await masterKeyOf(config), path);
        io.stdout.write(`backup ${summary.backupId}: ${summary.rows} rows, ${summary.bytes} bytes, to ${path}\n`);
      });
    });
  program
    .command('restore')
    .description('load a backup into this (empty, migrated) database; needs the master key it was made with')
    .requiredOption('--in <file>', 'the backup file')
    .action(async (opts: { in: string }) => {
      await ctx.withDb(async (db, config) => {
        const path = resolve(io.cwd, opts.in);
        const result = await restoreBackup(db, await masterKeyOf(config), path);
        io.stdout.write(`restored ${result.rows} rows into ${result.tables} tables from ${path}\n`);
      });
    });
}
