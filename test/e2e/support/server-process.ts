/**
 * `smartalex serve` in its own process, as an operator runs it (bin/smartalex.js), on loopback with
 * ephemeral HTTP/SIP ports: for what only a real process shows (signals, exit codes, several nodes on
 * one database). Log lines (JSON, info level) are collected so a test can wait for one.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitForValue } from '../../support/poll.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/**
 * Only bounds a start that hangs: a first start creates the embedded database, which on a loaded 2-core
 * machine took over a minute (a demo first-run test gave up at 60 s under load).
 */
const START_WITHIN_MS = 180_000;

export interface ServerProcess {
  child: ChildProcess;
  httpPort: number;
  sipPort: number;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
  /** Parsed JSON log lines whose msg is `msg`. */
  logs(msg: string): Array<Record<string, unknown>>;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Sends the signal (unless it has exited) and waits for the exit, bounded by `timeoutMs` (then SIGKILL). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export async function startServerProcess(env: Record<string, string>, options: { startTimeoutMs?: number } = {}): Promise<ServerProcess> {
  const rtpBase = 20000 + 2 * Math.floor(Math.random() * 10000);
  const child = spawn(process.execPath, [join(root, 'bin/smartalex.js'), 'serve'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '',
      SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_HTTP_PORT: '0', SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_SIP_PORT: '0',
      SMARTALEX_RTP_PORT_MIN: String(rtpBase), SMARTALEX_RTP_PORT_MAX: String(rtpBase + 199),
      SMARTALEX_DEMO: 'false', SMARTALEX_LOG_LEVEL: 'info', ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logs = (msg: string): Array<Record<string, unknown>> => out.split('\n')
    .filter((l) => l.startsWith('{') && l.includes(`"msg":${JSON.stringify(msg)}`))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const started = await waitForValue('the server to start', () => {
    if (child.exitCode !== null) throw new Error(`serve exited (${child.exitCode}) before starting:\n${out.slice(-4000)}`);
    return logs('smartalex media server started')[0] as { httpPort: number; sipPorts: { udp: number } } | undefined;
  }, { timeoutMs: options.startTimeoutMs ?? START_WITHIN_MS, intervalMs: 50 }).catch((error: unknown) => {
    if (child.exitCode !== null) throw error; // its output is in the message already
    child.kill('SIGKILL');
    throw new Error(`${error instanceof Error ? error.message : String(error)}; it printed:\n${out.slice(-4000)}`);
  });
  return {
    child, httpPort: started.httpPort, sipPort: started.sipPorts.udp, output: () => out, logs, exited,
    async stop(signal = 'SIGTERM', timeoutMs = 60_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try { return await exited; } finally { clearTimeout(timer); }
    },
  };
}
