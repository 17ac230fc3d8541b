/**
 * The `smartalex` command. Each subcommand loads and validates configuration
 * first; a bad setting ends the process with one line naming it (exit 2).
 */
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { createLogger } from '../log.ts';
import { registerAdminCommands } from './admin.ts';
import { registerCallCommand } from './call.ts';
import { registerComplianceCommands } from './compliance.ts';
import { registerProviderKeyCommands } from './provider-keys.ts';
import { registerRecordingCommands } from './recording.ts';
import { registerRedactCommand } from './redact.ts';
import { registerBenchCommand } from '../bench/command.ts';

export function buildProgram(): Command {
  const program = new Command('smartalex')
    .description('SmartAlex Media: real-time voice media server for AI voice agents')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('serve')
    .description('run the server (HTTP; SIP and media as configured)')
    .action(async () => {
      const config = configOrExit();
      const logger = createLogger(config.SMARTALEX_LOG_LEVEL);
      // Loaded here, not at the top: the server's module graph costs about a second that admin commands need not pay.
      const { startServer } = await import('../server.ts');
      const server = await startServer(config, logger).catch((error: unknown) => exitOnConfigError(error));
      const stop = async (signal: string): Promise<void> => {
        logger.info({ signal }, 'shutting down');
        await server.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });

  registerAdminCommands(program, configOrExit);
  registerCallCommand(program, configOrExit);
  registerRecordingCommands(program, configOrExit);
  registerProviderKeyCommands(program, configOrExit);
  registerComplianceCommands(program, configOrExit);
  registerRedactCommand(program);
  registerBenchCommand(program);
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

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'commander.helpDisplayed' || code === 'commander.help' || code === 'commander.version') process.exit(0);
    if (typeof code === 'string' && code.startsWith('commander.')) process.exit(1);
    process.stderr.write(`smartalex: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}

if (process.argv[1] && /(?:^|[/\\])(main\.ts|smartalex(\.js)?)$/.test(process.argv[1])) await main();
