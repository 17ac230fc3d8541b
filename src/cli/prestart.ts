/**
 * Work a `smartalex` command can start before its modules have loaded: the
 * embedded database's thread, which boots in parallel (storage/pglite-thread.ts,
 * prestartPGliteThread) while the main thread loads the command's module graph.
 * Decided from the command line and the environment alone (the configuration
 * is not loaded yet): a wrong guess only boots a thread nobody adopts, which
 * neither opens anything nor keeps the process alive.
 */
import { prestartPGliteThread } from '../../storage/pglite-thread.ts';

/** Top-level commands that never open the configured database (main.ts runs them without it). */
export const WITHOUT_DATABASE: ReadonlySet<string> = new Set(['redact', 'bench', 'bench-recorder', 'bench-codecs', 'bench-campaign', 'help']);

/** Will this command line likely open the embedded database? Not with DATABASE_URL, --help, or no command. */
export function opensEmbeddedDatabase(argv: readonly string[], env: NodeJS.ProcessEnv): boolean {
  const command = argv.find((arg) => !arg.startsWith('-'));
  if (!command || WITHOUT_DATABASE.has(command) || env.DATABASE_URL) return false;
  return !argv.includes('--help') && !argv.includes('-h');
}

/** Boots the embedded database's thread when the command will likely open it; whether it did. */
export function prestartForCommand(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): boolean {
  if (!opensEmbeddedDatabase(argv, env)) return false;
  prestartPGliteThread();
  return true;
}
