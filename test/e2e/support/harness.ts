/**
 * End-to-end harness: the real server (startServer) in-process on loopback,
 * SIP on an ephemeral port, a small RTP range, an on-disk PGlite in a temp
 * directory, one tenant with an echo agent on number 2000 (allowed from
 * 127.0.0.1/32 only), and SIPp runs with bounded time and traces in a temp dir.
 */
import { execFile, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../../src/config.ts';
import { createLogger, type Logger } from '../../../src/log.ts';
import { startServer, type RunningServer, type ServerOptions } from '../../../src/server.ts';
import { addNumber, createAgent, createTenant, type AgentInput, type Database } from '../../../storage/index.ts';

export const SIPP_DIR = fileURLToPath(new URL('../../../fixtures/sipp/', import.meta.url));

export interface TestServer {
  server: RunningServer;
  db: Database;
  tenantId: string;
  agentId: string;
  number: string;
  dir: string;
  close(): Promise<void>;
}

export async function startTestServer(options: {
  env?: Record<string, string>; server?: ServerOptions; agent?: Partial<AgentInput>; allowedCidrs?: string[];
  digest?: { username: string; realm: string; ha1Md5: string; ha1Sha256: string };
  /** The server's logger (default: silent, or SMARTALEX_TEST_LOG's level). */
  logger?: Logger;
} = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-e2e-'));
  const rtpBase = 20000 + 2 * Math.floor(Math.random() * 10000);
  const config = loadConfig({
    SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_HTTP_PORT: '0', SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_SIP_PORT: '0',
    SMARTALEX_RTP_PORT_MIN: String(rtpBase), SMARTALEX_RTP_PORT_MAX: String(rtpBase + 39),
    SMARTALEX_DATA_DIR: dir, SMARTALEX_DEMO: 'false', SMARTALEX_LOG_LEVEL: 'silent', ...options.env,
  });
  const logger = options.logger ?? createLogger(process.env.SMARTALEX_TEST_LOG ?? 'silent');
  const server = await startServer(config, logger, { write: () => undefined }, options.server);
  const tenant = await createTenant(server.db, { name: 'carrier-test' });
  const agent = await createAgent(server.db, tenant.id, { name: 'echo', mode: 'echo', ...options.agent });
  const number = '2000';
  await addNumber(server.db, tenant.id, {
    number, agentId: agent.id, allowedCidrs: options.allowedCidrs ?? ['127.0.0.1/32'], ...(options.digest ? { digest: options.digest } : {}),
  });
  return {
    server, db: server.db, tenantId: tenant.id, agentId: agent.id, number, dir,
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An even UDP port p with p..p+3 free right now (SIPp's media port must be given explicitly). */
export async function freeMediaPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const probe = createSocket('udp4');
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()));
    const base = probe.address().port & ~1;
    probe.close();
    const sockets = [];
    let ok = true;
    for (let i = 0; i < 4 && ok; i++) {
      const s = createSocket('udp4');
      ok = await new Promise<boolean>((r) => { s.once('error', () => r(false)); s.bind(base + i, '127.0.0.1', () => r(true)); });
      sockets.push(s);
    }
    for (const s of sockets) { try { s.close(); } catch { /* never bound */ } }
    if (ok && base + 3 < 65536) return base;
  }
  throw new Error('no free media port');
}

export interface SippResult { code: number | null; stdout: string; stderr: string; messages: string; errors: string }

/** SIPp's exit code when it cannot bind one of its sockets (EXIT_BIND_ERROR in SIPp's sources). */
const SIPP_EXIT_BIND_ERROR = 254;

/**
 * Did SIPp stop at start because a port was taken? Its ports are probed free, then bound by SIPp
 * itself: on a busy machine another process (a parallel test's server, any ephemeral bind) can take
 * one in between. SIPp exits before sending anything, so the run can be repeated on fresh ports.
 */
export function sippCouldNotBind(r: Pick<SippResult, 'code' | 'stdout' | 'stderr' | 'errors'>): boolean {
  return r.code === SIPP_EXIT_BIND_ERROR && /Unable to bind|Address already in use/.test(`${r.errors}\n${r.stdout}\n${r.stderr}`);
}

/**
 * Runs one SIPp scenario against the server (cwd fixtures/sipp), bounded by
 * -m, -timeout and -timeout_error; the message and error traces are returned.
 * A start that fails to bind its ports is retried on fresh ones (`sippCouldNotBind`).
 * `choosePort` picks SIPp's media port, then its SIP port, for each attempt (a test's hook).
 */
export async function runSipp(target: string, scenario: string, args: string[] = [], timeoutS = 20, choosePort: () => Promise<number> = freeMediaPort): Promise<SippResult> {
  for (let attempt = 1; ; attempt++) {
    const result = await runSippOnce(target, scenario, args, timeoutS, choosePort);
    if (attempt >= 5 || !sippCouldNotBind(result)) return result;
  }
}

async function runSippOnce(target: string, scenario: string, args: string[], timeoutS: number, choosePort: () => Promise<number>): Promise<SippResult> {
  const traceDir = mkdtempSync(join(tmpdir(), 'smartalex-sipp-'));
  const messageFile = join(traceDir, 'messages.log');
  const errorFile = join(traceDir, 'errors.log');
  const mp = await choosePort();
  const sipPort = await choosePort();
  const full = [
    target, '-sf', scenario, '-m', '1', '-timeout', `${timeoutS}s`, '-timeout_error', '-nostdin',
    '-i', '127.0.0.1', '-p', String(sipPort), '-mi', '127.0.0.1', '-mp', String(mp), '-trace_msg', '-message_file', messageFile,
    '-trace_err', '-error_file', errorFile, ...args,
  ];
  if (!args.includes('-s')) full.push('-s', '2000');
  return new Promise((resolve) => {
    // SIGKILL: whatever SIPp does with SIGTERM, the test never waits past this bound.
    execFile('sipp', full, { cwd: SIPP_DIR, timeout: (timeoutS + 10) * 1000, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const read = (p: string): string => { try { return readFileSync(p, 'utf8'); } catch { return ''; } };
      const result = { code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr, messages: read(messageFile), errors: read(errorFile) };
      rmSync(traceDir, { recursive: true, force: true });
      resolve(result);
    });
  });
}

/** How a SIPp process ended (`code` null when it was killed). */
export interface SippExit { code: number | null; stdout: string; stderr: string }

/** SIPp as a callee, listening on its ports; `done` resolves when it exits. */
export interface SippUas { sipPort: number; mediaPort: number; child: ChildProcess; done: Promise<SippExit> }

/**
 * Starts SIPp as a callee (a UAS scenario, cwd fixtures/sipp) on free loopback ports and resolves
 * once its SIP port and both media sockets (mp, mp + 2) are bound. A start that fails to bind is
 * repeated on fresh ports (`sippCouldNotBind`); any other early exit is left for `done` to report.
 */
export async function startSippUas(scenario: string, args: string[], options: { timeoutMs: number; listenTimeoutMs?: number; choosePort?: () => Promise<number> }): Promise<SippUas> {
  const choosePort = options.choosePort ?? freeMediaPort;
  for (let attempt = 1; ; attempt++) {
    const mediaPort = await choosePort();
    const sipPort = await choosePort();
    const full = ['-sf', scenario, '-nostdin', '-i', '127.0.0.1', '-p', String(sipPort), '-mi', '127.0.0.1', '-mp', String(mediaPort), ...args];
    let child!: ChildProcess;
    const done = new Promise<SippExit>((resolve) => {
      // SIGKILL: whatever SIPp does with SIGTERM, the test never waits past this bound.
      child = execFile('sipp', full, { cwd: SIPP_DIR, timeout: options.timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
      });
    });
    const listening = Promise.all([sipPort, mediaPort, mediaPort + 2].map((p) => udpPortBound(p, options.listenTimeoutMs ?? 15_000)))
      .then(() => 'listening' as const, (error: Error) => error);
    const first = await Promise.race([listening, done.then(() => 'exited' as const)]);
    if (first === 'listening') return { sipPort, mediaPort, child, done };
    if (first instanceof Error) { child.kill('SIGKILL'); throw first; }
    const exit = await done;
    if (attempt >= 5 || !sippCouldNotBind({ ...exit, errors: '' })) return { sipPort, mediaPort, child, done };
  }
}

export function describeSipp(r: SippResult): string {
  return `sipp exit ${r.code}\n${r.errors.slice(-3000)}\n${r.messages.slice(-4000)}\n${r.stderr.slice(-1000)}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


/** Is UDP `port` bound by any process? Reads /proc/net/udp (no bind probe, which could steal the port from the program starting). */
function udpPortInUse(port: number): boolean | undefined {
  let table: string;
  try { table = readFileSync('/proc/net/udp', 'utf8'); } catch { return undefined; }
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return table.split('\n').slice(1).some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex));
}

/**
 * Resolves once something (e.g. a SIPp UAS started just before) has bound UDP
 * `port`, polling /proc/net/udp, bounded by `timeoutMs` (rejects after it).
 * Without /proc it waits one second instead.
 */
export async function udpPortBound(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const inUse = udpPortInUse(port);
    if (inUse === undefined) return sleep(1000);
    if (inUse) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on UDP ${port} in time`);
    await sleep(50);
  }
}
