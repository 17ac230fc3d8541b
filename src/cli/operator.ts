/**
 * What the operator commands share: the audit actor they act as, the
 * `--tenant` argument check, and the context a command runs in. A command
 * runs in one of two places with the same code:
 *  - here, in the `smartalex` process (localContext): it opens the configured
 *    database for the length of the command (taking the data directory's
 *    lock when it is embedded PGlite) and talks to this process's stdio;
 *  - inside a running server, sent there over its admin socket
 *    (src/cli/admin-socket.ts): it uses the server's own database handle and
 *    recording vault, and its output and standard input travel over the socket.
 */
import { isUuid, type Database } from '../../storage/index.ts';
import type { Config } from '../config.ts';
import { openConfiguredDatabase } from '../database-setup.ts';
import { openRecordingVault, type RecordingVaultSetup } from '../recordings/index.ts';

export type ConfigLoader = () => Config;

/** The audit log's actor for everything done from the command line. */
export const OPERATOR = 'operator:cli';

/** `--tenant` must be a tenant id; a name is refused with one clear line. */
export function tenantOption(value: string): string {
  if (!isUuid(value)) throw new Error(`--tenant must be a tenant id (UUID), got "${value}"`);
  return value;
}

/** A command's standard streams and working directory (the operator's, wherever the command runs). */
export interface OperatorIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** All of standard input (secrets come this way); `prompt` is shown first when it is a terminal. */
  readStdin(prompt?: string): Promise<Buffer>;
  /** The operator's working directory: relative paths in arguments are resolved against it. */
  readonly cwd: string;
  /** The command's exit code when it ends without throwing (default 0). */
  setExitCode(code: number): void;
}

export interface OperatorContext {
  loadConfig: ConfigLoader;
  /** Runs `work` with the database: opened and closed around it here, the server's own inside the server. */
  withDb<T>(work: (db: Database, config: Config) => Promise<T>): Promise<T>;
  /** The recording vault over `db` (the server's own inside the server, so key caches and per-tenant key locks are shared). */
  vault(db: Database, config: Config): Promise<RecordingVaultSetup>;
  io: OperatorIo;
}

/** Standard input, whole; the caller zeroes what it no longer needs. */
export async function readProcessStdin(prompt?: string): Promise<Buffer> {
  if (prompt && process.stdin.isTTY) process.stderr.write(`${prompt}\n`);
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  return all;
}

/** The context of a command run in this process; `command` (e.g. "smartalex number list") names it in the data directory's lock. */
export function localContext(loadConfig: ConfigLoader, command: () => string): OperatorContext {
  return {
    loadConfig,
    withDb: async (work) => {
      const config = loadConfig();
      const db = await openConfiguredDatabase(config, { owner: `\`${command()}\`` });
      try {
        return await work(db, config);
      } finally {
        await db.close();
      }
    },
    vault: (db, config) => openRecordingVault(config, db),
    io: {
      stdout: process.stdout,
      stderr: process.stderr,
      readStdin: readProcessStdin,
      cwd: process.cwd(),
      setExitCode: (code) => { process.exitCode = code; },
    },
  };
}

/** Standard input as text without its final line break (a password, a key); the buffer is zeroed. */
export async function readSecretLine(io: OperatorIo, prompt?: string): Promise<string> {
  const bytes = await io.readStdin(prompt);
  try {
    return bytes.toString('utf8').replace(/\r?\n$/, '');
  } finally {
    bytes.fill(0);
  }
}
