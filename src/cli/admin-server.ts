/**
 * The server's end of the admin socket (src/cli/admin-protocol.ts): runs a
 * `smartalex` command sent by the CLI with the server's own database handle
 * and recording vault, streaming its output back. The server owns the
 * embedded database (storage/data-dir-lock.ts), so this is how commands reach
 * it while it runs. Logged: the command's name and exit code, never its
 * arguments (they can hold phone numbers) or its standard input (secrets).
 */
import { unlinkSync } from 'node:fs';
import { chmod } from 'node:fs/promises';
import { createServer, type Socket } from 'node:net';
import { Command, CommanderError } from 'commander';
import type { Database } from '../../storage/index.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { RecordingVaultSetup } from '../recordings/index.ts';
import { adminSocketPath, onMessages, privateAdminDir, send, type ClientMessage } from './admin-protocol.ts';
import { commandPath, registerOperatorCommands } from './operator-commands.ts';
import type { OperatorIo } from './operator.ts';

export interface AdminServerOptions {
  config: Config;
  db: Database;
  vault: RecordingVaultSetup;
  logger: Logger;
}

export interface AdminServer {
  readonly path: string;
  /** Stops taking commands; waits for the ones running (up to `graceMs`), then cuts their connections. */
  close(graceMs?: number): Promise<void>;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { config, logger } = options;
  privateAdminDir(config.SMARTALEX_DATA_DIR);
  const path = adminSocketPath(config.SMARTALEX_DATA_DIR);
  // This process holds the data directory's lock, so a socket file here is a dead server's.
  try { unlinkSync(path); } catch { /* none */ }
  const running = new Map<Socket, Promise<void>>();
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    let started = false;
    let stdinWaiter: ((data: Buffer) => void) | undefined;
    onMessages<ClientMessage>(socket, (message) => {
      if (message.type === 'run' && !started && Array.isArray(message.argv) && typeof message.cwd === 'string') {
        started = true;
        let exitCode = 0;
        const io: OperatorIo = {
          stdout: { write: (text: string) => send(socket, { type: 'out', fd: 1, data: String(text) }) },
          stderr: { write: (text: string) => send(socket, { type: 'out', fd: 2, data: String(text) }) },
          readStdin: (prompt) => new Promise<Buffer>((resolve) => {
            stdinWaiter = resolve;
            send(socket, { type: 'stdin', ...(prompt ? { prompt } : {}) });
          }),
          cwd: message.cwd,
          setExitCode: (code) => { exitCode = code; },
        };
        const run = runCommand(options, message.argv.map(String), io).then((code) => {
          send(socket, { type: 'exit', code: exitCode || code });
          socket.end();
        }).finally(() => running.delete(socket));
        running.set(socket, run);
      } else if (message.type === 'stdin' && stdinWaiter) {
        stdinWaiter(Buffer.from(String(message.data), 'base64'));
        stdinWaiter = undefined;
      }
    });
    socket.on('close', () => stdinWaiter?.(Buffer.alloc(0)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  await chmod(path, 0o600);
  logger.info('admin socket listening: smartalex commands run in this server');
  return {
    path,
    close: async (graceMs = 10_000) => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled(running.values()), new Promise((r) => { timer = setTimeout(r, graceMs); })]);
      clearTimeout(timer);
      for (const socket of running.keys()) socket.destroy();
      await closed;
    },
  };
}

/** Runs one command line against the server's database; resolves with its exit code. */
async function runCommand(options: AdminServerOptions, argv: string[], io: OperatorIo): Promise<number> {
  const { config, db, vault, logger } = options;
  let name = '(none)';
  const program = new Command('smartalex')
    .exitOverride()
    .configureOutput({ writeOut: (text) => void io.stdout.write(text), writeErr: (text) => void io.stderr.write(text) })
    .hook('preAction', (_program, action) => { name = commandPath(action); });
  registerOperatorCommands(program, {
    loadConfig: () => config,
    withDb: (work) => work(db, config),
    vault: async () => vault,
    io,
  });
  let code = 0;
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) code = error.exitCode;
    else {
      io.stderr.write(`smartalex: ${error instanceof Error ? error.message : String(error)}\n`);
      code = 1;
    }
  }
  logger.info({ command: name, code }, 'operator command run for the CLI');
  return code;
}
