/**
 * The `smartalex` command. Each subcommand loads and validates configuration
 * first; a bad setting ends the process with one line naming it (exit 2).
 *
 * One process owns an embedded data directory (storage/data-dir-lock.ts).
 * While a server owns it, a command that needs the database is sent to the
 * server over its admin socket and runs there (src/cli/admin-client.ts);
 * otherwise it runs here, and is refused with one line when another command
 * holds the directory. With DATABASE_URL every process connects on its own.
 */
import { Command, InvalidArgumentError } from 'commander';
import { DataDirLockedError } from '../../storage/index.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { runInOwningServer } from './admin-client.ts';
import { SERVER_OWNER } from './admin-protocol.ts';
import { commandPath, registerOperatorCommands } from './operator-commands.ts';
import { localContext } from './operator.ts';
import { WITHOUT_DATABASE } from './prestart.ts';
import { registerRedactCommand } from './redact.ts';

/** Commands that never go to the server: `serve` itself, and those that never open the configured database. */
const RUN_HERE = new Set(['serve', ...WITHOUT_DATABASE]);

/** Thrown by the pre-action hook when the command already ran in the server: its exit code. */
class RanInServer extends Error {
  constructor(readonly code: number) {
    super('ran in the server');
  }
}

/** A command group that lives outside the server's tree (tools/cli.ts adds the bench this way). */
export type CommandExtension = (program: Command) => void;

export function buildProgram(extensions: readonly CommandExtension[] = []): Command {
  const program = new Command('smartalex')
    .description('SmartAlex Media: real-time voice media server for AI voice agents')
    .showHelpAfterError()
    .exitOverride();

  let running = 'smartalex';
  program.hook('preAction', async (_program, action) => {
    const path = commandPath(action);
    running = `smartalex ${path}`;
    if (RUN_HERE.has(path.split(' ')[0]!)) return;
    const config = configOrExit();
    if (config.DATABASE_URL) return;
    const code = await runInOwningServer(config.SMARTALEX_DATA_DIR, process.argv.slice(2));
    if (code !== undefined) throw new RanInServer(code);
  });

  program
    .command('serve')
    .description('run the server (HTTP; SIP and media as configured)')
    .action(async () => {
      const config = configOrExit();
      const logger = createLogger(config.SMARTALEX_LOG_LEVEL);
      // Loaded here, not at the top: the server's module graph costs about a second that admin commands need not pay.
      const { startServer } = await import('../server.ts');
      // A port already in use is a configuration error too (src/listen-errors.ts).
      const starting = startServer(config, logger);
      // The first signal, even one during start-up, closes everything once started, the embedded database
      // last and cleanly; later signals are ignored rather than killing the process halfway through the close
      // (which would leave the database to crash recovery). SIGTERM (a rolling restart, an orchestrator's stop)
      // drains first: no new calls, the calls in progress finish (up to SMARTALEX_DRAIN_TIMEOUT_S), exit 0.
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) {
          logger.warn({ signal }, 'already shutting down');
          return;
        }
        stopping = true;
        logger.info({ signal, drain: signal === 'SIGTERM' }, 'shutting down');
        void starting.then(async (server) => {
          if (signal === 'SIGTERM') {
            const report = await server.drain().catch((error: unknown) => {
              logger.error({ err: error }, 'drain failed; shutting down');
              return undefined;
            });
            if (report) logger.info({ ...report }, 'drained');
          }
          await server.close();
        }, () => undefined).finally(() => process.exit(0));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
      await starting.catch(exitOnConfigError);
    });

  registerOperatorCommands(program, localContext(configOrExit, () => running));
  registerRedactCommand(program);
  for (const extend of extensions) extend(program);
  return program;
}

export function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    return exitOnConfigError(error);
  }
}

/** A bad setting ends the process with one line naming it, exit 2; anything else is rethrown. */
export function exitOnConfigError(error: unknown): never {
  if (error instanceof ConfigError) {
    process.stderr.write(`smartalex: configuration error: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** What to do about a data directory another process owns. */
function lockedHint(error: unknown): string {
  if (!(error instanceof DataDirLockedError)) return '';
  if (error.holder?.owner === SERVER_OWNER) return '; stop that server first, or give this one another SMARTALEX_DATA_DIR (or DATABASE_URL)';
  return '; try again when it has finished';
}

export async function runCli(extensions: readonly CommandExtension[] = []): Promise<void> {
  const program = buildProgram(extensions);
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    if (error instanceof RanInServer) {
      process.exitCode = error.code;
      return;
    }
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version') process.exit(0);
    if (typeof code === 'string' && code.startsWith('commander.')) process.exit(1);
    process.stderr.write(`smartalex: ${error instanceof Error ? error.message : String(error)}${lockedHint(error)}\n`);
    process.exit(1);
  }
}

// Run directly (`npm start`): the server's own commands. bin/smartalex.js goes through tools/cli.ts, which adds the tools.
if (process.argv[1] && /(?:^|[/\\])main\.ts$/.test(process.argv[1])) await runCli();
