/**
 * In-process mode: the server (startServer: embedded database in a temporary
 * data directory, demo provisioning on, SIP and HTTP on ephemeral loopback
 * ports) plus the provider simulators, with the server's provider base URLs
 * pointed at them. Everything is torn down by close().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAllSimulators, type AllSimulators, type SimulatorLatency, type SimulatorProfile } from '../../pipeline/simulators/index.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { startServer, type RunningServer } from '../server.ts';
import { startDeepgramFront, type DeepgramFront } from './deepgram-front.ts';
import { InProcessProbe, isTurnTraceFeed } from './server-probe.ts';

export interface InProcessOptions {
  profile: SimulatorProfile;
  sttMs?: number;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
}

export interface InProcessTarget {
  target: string;
  latency: SimulatorLatency;
  probe: InProcessProbe;
  close(): Promise<void>;
}

export class NoSipError extends Error {
  override name = 'NoSipError';
}

/** The UDP SIP port of a running server, whichever way the server exposes it. */
export function sipPortOf(server: RunningServer): number | undefined {
  const s = server as unknown as { sipPort?: unknown; sip?: { ports?: { udp?: unknown }; port?: unknown } };
  const candidates = [s.sipPort, s.sip?.ports?.udp, s.sip?.port];
  const port = candidates.find((c): c is number => typeof c === 'number' && c > 0);
  return port;
}

export async function startInProcess(options: InProcessOptions): Promise<InProcessTarget> {
  const overrides: { sttFinalDelayMs?: number; llmTtftMs?: number; ttsTtfbMs?: number } = {};
  if (options.sttMs !== undefined) overrides.sttFinalDelayMs = options.sttMs;
  if (options.llmTtftMs !== undefined) overrides.llmTtftMs = options.llmTtftMs;
  if (options.ttsTtfbMs !== undefined) overrides.ttsTtfbMs = options.ttsTtfbMs;
  const apiKey = 'bench-simulator-key';
  const sims: AllSimulators = await startAllSimulators(options.profile, { ...overrides, apiKey });
  const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-bench-'));
  let server: RunningServer | undefined;
  let front: DeepgramFront | undefined;
  try {
    front = await startDeepgramFront(sims.deepgramLive.url, sims.deepgramSpeak.url);
    const config = loadConfig({
      SMARTALEX_DATA_DIR: dataDir,
      SMARTALEX_HTTP_HOST: '127.0.0.1',
      SMARTALEX_HTTP_PORT: '0',
      SMARTALEX_SIP_HOST: '127.0.0.1',
      SMARTALEX_SIP_PORT: '0',
      SMARTALEX_SIP_TLS_PORT: '0',
      SMARTALEX_DEMO: 'true',
      SMARTALEX_LOG_LEVEL: process.env.SMARTALEX_LOG_LEVEL ?? 'warn',
      DEEPGRAM_BASE_URL: front.url,
      DEEPGRAM_API_KEY: apiKey,
      OPENAI_BASE_URL: sims.openai.baseUrl,
      OPENAI_API_KEY: apiKey,
    });
    // Logs go to stderr so stdout stays the summary table; the demo banner is not shown.
    const logger = createLogger(config.SMARTALEX_LOG_LEVEL, process.stderr);
    server = await startServer(config, logger, { write: () => undefined, isTTY: false });
    const port = sipPortOf(server);
    if (port === undefined) {
      throw new NoSipError('the in-process server does not answer SIP yet (startServer exposes no SIP port); run with --target sip:host:port');
    }
    const running = server;
    const runningFront = front;
    const feed = isTurnTraceFeed(server) ? server : undefined;
    const probe = new InProcessProbe({ metrics: server.metrics, ...(feed ? { feed } : {}) });
    return {
      target: `sip:127.0.0.1:${port}`,
      latency: sims.latency,
      probe,
      close: async () => {
        await running.close();
        await runningFront.close();
        await sims.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server?.close().catch(() => undefined);
    await front?.close().catch(() => undefined);
    await sims.close().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}
