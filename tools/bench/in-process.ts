/**
 * In-process mode: the server (startServer: SIP and HTTP on ephemeral
 * loopback ports, demo provisioning on) in this process, with its provider
 * base URLs pointed at the provider simulators, which run in the bench
 * driver, a separate process (driver.ts, started by run.ts before this; a
 * worker thread there, apart from the callers):
 * one Deepgram URL (STT and TTS on one host, as the real service) and one
 * OpenAI URL. The callers run in the driver too, so this process holds the
 * server alone and the probe (server-probe.ts) measures only the server.
 *
 * - Database: embedded PGlite in a temporary data directory, or with
 *   `databaseUrl` a fresh database created on that Postgres server for the
 *   run (dropped at close).
 * - Agent: the demo `conversation` agent (number 1000), or with agentMode
 *   `echo` an echo agent provisioned on its own number (ECHO_NUMBER), for the
 *   media-path benchmark of issue 3.
 * - The benchmark is the server's carrier here: its loopback source is a
 *   trusted source for the SIP flood guard and the per-tenant call limit is
 *   lifted, so a ramp measures the media path, not the admission limits.
 *
 * close() tears down the server and its database; the simulators are the
 * driver's to stop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SimulatorLatency } from '../simulators/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { startServer, type RunningServer } from '../../src/server.ts';
import { randomBytes } from 'node:crypto';
import { CALL_TOKEN_SECRET_PURPOSE, STREAM_SECRET_PURPOSE } from '../../src/recordings/vault-setup.ts';
import { mintStreamToken } from '../../src/streams/stream-token.ts';
import { mintCallToken } from '../../src/webrtc/call-token.ts';
import { addNumber, createAgent, listTenantIds, routeNumber, setTenantMaxConcurrentCalls } from '../../storage/index.ts';
import { loadMasterKey } from '../../storage/vault/index.ts';
import type { BenchTransport } from './caller-leg.ts';
import type { CallCredential } from './load.ts';
import { DbProbe } from './db-probe.ts';
import type { DriverSimulators } from './driver-client.ts';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.ts';
import { InProcessProbe, type SpeculationTally } from './server-probe.ts';
import type { Registry } from 'prom-client';

export type BenchAgentMode = 'conversation' | 'echo';
/** The number the echo agent answers in-process. */
export const ECHO_NUMBER = '2000';
/** High enough that the per-tenant limit never decides a ramp: the node's ceiling and the demo tenant's own limit. */
const BENCH_MAX_CALLS_PER_TENANT = 100_000;
/** The signalling rate limit's highest setting: every benchmark call comes from 127.0.0.1. */
const BENCH_WEBRTC_CONNECTIONS_PER_MINUTE = 10_000;

export interface InProcessOptions {
  /** The provider simulators, running in the bench driver (BenchDriver.startSimulators). */
  simulators: DriverSimulators;
  /** Default conversation. */
  agentMode?: BenchAgentMode;
  /** A Postgres server (owner login); a fresh database is created on it for the run. Default: embedded PGlite. */
  databaseUrl?: string;
}

export interface InProcessTarget {
  target: string;
  /** ws://127.0.0.1:port: the server's HTTP listener (WebRTC signalling, media streams). */
  httpBase: string;
  /** `count` fresh credentials for WebRTC (call tokens) or media-stream (Twilio stream tokens) calls to `number`; none for SIP. */
  credentials(transport: BenchTransport, number: string, count: number): Promise<CallCredential[]>;
  /** The number to call for the requested agent. */
  number: string | undefined;
  agentMode: BenchAgentMode;
  database: 'pglite' | 'postgres';
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

function pick(env: NodeJS.ProcessEnv, keys: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of keys) if (env[k] !== undefined) out[k] = env[k]!;
  return out;
}

export async function startInProcess(options: InProcessOptions): Promise<InProcessTarget> {
  const sims = options.simulators;
  const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-bench-'));
  let server: RunningServer | undefined;
  let scratch: ScratchDatabase | undefined;
  let dbProbe: DbProbe | undefined;
  const agentMode = options.agentMode ?? 'conversation';
  try {
    if (options.databaseUrl) scratch = await createScratchDatabase(options.databaseUrl);
    const config = loadConfig({
      SMARTALEX_DATA_DIR: dataDir,
      SMARTALEX_HTTP_HOST: '127.0.0.1',
      SMARTALEX_HTTP_PORT: '0',
      SMARTALEX_SIP_HOST: '127.0.0.1',
      SMARTALEX_SIP_PORT: '0',
      SMARTALEX_SIP_TLS_PORT: '0',
      SMARTALEX_DEMO: 'true',
      SMARTALEX_MAX_CALLS_PER_TENANT: String(BENCH_MAX_CALLS_PER_TENANT),
      SMARTALEX_WEBRTC_CONNECTIONS_PER_MINUTE: String(BENCH_WEBRTC_CONNECTIONS_PER_MINUTE),
      ...(scratch ? { DATABASE_URL: scratch.url } : {}),
      SMARTALEX_LOG_LEVEL: process.env.SMARTALEX_LOG_LEVEL ?? 'warn',
      // The media-plane settings an operator may want to compare (on/off, thread priority) come from the environment.
      ...pick(process.env, ['SMARTALEX_MEDIA_THREAD', 'SMARTALEX_MEDIA_THREAD_NICE']),
      DEEPGRAM_BASE_URL: sims.deepgramUrl,
      DEEPGRAM_API_KEY: sims.apiKey,
      OPENAI_BASE_URL: sims.openaiBaseUrl,
      OPENAI_API_KEY: sims.apiKey,
    });
    // Logs go to stderr so stdout stays the summary table; the demo banner is not shown.
    const logger = createLogger(config.SMARTALEX_LOG_LEVEL, process.stderr);
    server = await startServer(config, logger, { write: () => undefined, isTTY: false }, { calls: { guard: { trustedSources: ['127.0.0.1'] } } });
    const port = sipPortOf(server);
    if (port === undefined) {
      throw new NoSipError('the in-process server does not answer SIP yet (startServer exposes no SIP port); run with --target sip:host:port');
    }
    await liftDemoTenantCallLimit(server);
    const number = agentMode === 'echo' ? await provisionEchoAgent(server) : undefined;
    const running = server;
    const runningScratch = scratch;
    const probeDb = new DbProbe(server.db);
    dbProbe = probeDb;
    const metrics = server.metrics;
    const probe = new InProcessProbe({
      feed: server, db: probeDb, speculation: () => speculationTally(metrics), calls: server.calls,
      busy: () => running.calls.activeCalls() + running.recordings.openRecordings,
    });
    const master = await loadMasterKey({ dataDir, env: {} });
    const secrets = { callToken: master.deriveSecret(CALL_TOKEN_SECRET_PURPOSE), stream: master.deriveSecret(STREAM_SECRET_PURPOSE) };
    return {
      target: `sip:127.0.0.1:${port}`,
      httpBase: `ws://127.0.0.1:${server.httpPort}`,
      credentials: async (transport, called, count) => {
        if (transport === 'sip') return [];
        const route = await routeNumber(running.db, called);
        if (!route) throw new Error(`the in-process server has no number ${called}`);
        return Array.from({ length: count }, () => transport === 'webrtc'
          ? { token: mintCallToken(secrets.callToken, { tenantId: route.tenantId, agentId: route.agentId }).token }
          : mintTwilioStream(secrets.stream, route.tenantId, route.numberId));
      },
      number,
      agentMode,
      database: server.db.kind,
      latency: { ...sims.latency },
      probe,
      close: async () => {
        probeDb.dispose();
        await running.close();
        await runningScratch?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    dbProbe?.dispose();
    await server?.close().catch(() => undefined);
    await scratch?.drop().catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** A stream token for a new Twilio call to the number, and that call's id (a CallSid). */
function mintTwilioStream(secret: Buffer, tenantId: string, numberId: string): CallCredential {
  const callSid = `CA${randomBytes(16).toString('hex')}`;
  return { token: mintStreamToken(secret, { tenantId, numberId, callId: callSid, carrier: 'twilio' }), callSid };
}

/** An echo agent in the demo tenant, reachable at ECHO_NUMBER from loopback. */
/** Every bench call is the demo tenant's: its own limit (20 when provisioned) goes up to the bench's. */
async function liftDemoTenantCallLimit(server: RunningServer): Promise<void> {
  const [tenantId] = await listTenantIds(server.db);
  if (!tenantId) throw new Error('the in-process server has no tenant to place the bench calls for');
  await setTenantMaxConcurrentCalls(server.db, tenantId, BENCH_MAX_CALLS_PER_TENANT);
}

async function provisionEchoAgent(server: RunningServer): Promise<string> {
  const [tenantId] = await listTenantIds(server.db);
  if (!tenantId) throw new Error('the in-process server has no tenant to add the echo agent to');
  const agent = await createAgent(server.db, tenantId, { name: 'bench-echo', mode: 'echo' });
  await addNumber(server.db, tenantId, { number: ECHO_NUMBER, agentId: agent.id, allowedCidrs: ['127.0.0.1/32', '::1/128'] });
  return ECHO_NUMBER;
}

/** The server's running totals of preemptive answers, from its Prometheus counter. */
async function speculationTally(registry: Registry): Promise<SpeculationTally> {
  const metric = registry.getSingleMetric('smartalex_speculative_replies_total');
  const values = metric ? (await metric.get()).values : [];
  const count = (outcome: string): number => values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
  return { used: count('used'), wasted: count('wasted') };
}
