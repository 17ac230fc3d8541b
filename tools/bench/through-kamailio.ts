/**
 * `smartalex bench --through-kamailio --database-url postgres://...`: what the proxy costs and what two
 * nodes carry (issue 16). Starts a scratch database on the Postgres server (one tenant, an echo agent on
 * number 1000 admitting 127.0.0.1), two media nodes (`smartalex serve` processes on 127.0.0.2 and
 * 127.0.0.3, one SIP port), and Kamailio with deploy/kamailio/kamailio.cfg on 127.0.0.1 in front of them;
 * then runs the same benchmark twice, straight at node A and through Kamailio, and reports call set-up
 * (INVITE to 200 OK, as the caller sees it) for both and the difference, the calls each node took, each
 * node's CPU per call and resident memory, Kamailio's CPU per call, and the pacing (caller-side p99 jitter,
 * loss) against the echo benchmark's limits. With --ramp both runs ramp, giving the largest number of calls
 * within those limits on one node and on two behind Kamailio.
 *
 * Everything runs on this machine: the nodes, Kamailio, Postgres and the callers share its cores, so
 * "calls per node" here is a floor, not a node's capacity on hardware of its own.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'drizzle-orm';
import { addNumber, createAgent, createTenant, migrate, openDatabase, rows, type Database } from '../../storage/index.ts';
import type { BenchDriverOptions } from './driver-client.ts';
import { freeSipPort, startKamailio, type Kamailio } from './kamailio-proxy.ts';
import { startNodeProcess, type NodeProcess } from './node-process.ts';
import { processCpuMs, processRssMB, processTreeCpuMs } from './proc-stat.ts';
import { machineInfo } from './report.ts';
import type { BenchReport } from './report-schema.ts';
import { ECHO_RAMP_LIMITS, runBench, type BenchIo, type BenchOptions } from './run.ts';
import { createScratchDatabase, type ScratchDatabase } from './scratch-database.ts';
import { DEFAULT_VOICE_THRESHOLD_DBFS } from './voice.ts';

const NUMBER = '1000';
const NODE_HOSTS = { 'node-a': '127.0.0.2', 'node-b': '127.0.0.3' } as const;
/** High enough that no limit decides a measurement: the nodes' ceiling and the bench tenant's own limit. */
const BENCH_MAX_CALLS_PER_TENANT = 10_000;

export interface ThroughKamailioOptions {
  /** A Postgres server login allowed to CREATE DATABASE (the nodes share a scratch database on it). */
  databaseUrl: string;
  calls: number;
  turns: number;
  turnTimeoutMs?: number;
  warmupCalls?: number;
  ramp?: { step: number; max: number };
  json?: string;
  /** The bench driver process (tests: timeouts). */
  driver?: BenchDriverOptions;
}

export interface PathResult {
  target: string;
  calls: number;
  answered: number;
  failed: number;
  /** INVITE sent until 200 OK received, as the caller saw it. */
  setupInviteToOkMs: { p50: number; p99: number; count: number } | null;
  rxPacingJitterP99Ms: number | null;
  lossPercent: number | null;
  /** Within the echo benchmark's limits (caller-side p99 pacing jitter, no loss, no failed call). */
  withinPacingLimits: boolean;
  /** --ramp: the largest number of calls within those limits. */
  maxSustainableCalls?: number;
  /** How the nodes ended this run's calls (warm-up included), read as the run ended ("in progress": not yet ended). */
  endReasons: Record<string, number>;
}

export interface NodeFigures { id: string; calls: number; cpuMsPerCall: number | null; rssMB: number | null }

export interface KamailioBenchReport {
  schema: 'smartalex-bench-kamailio';
  version: 1;
  startedAt: string;
  machine: BenchReport['machine'];
  calls: number;
  turns: number;
  limits: { jitterP99Ms: number; lossPercent: number };
  direct: PathResult;
  throughKamailio: PathResult;
  /** Through Kamailio minus direct, per percentile of call set-up. */
  proxyAddsMs: { p50: number | null; p99: number | null };
  /** Calls each node took during the run through Kamailio (warm-up calls included). */
  nodes: NodeFigures[];
  /** The node called directly during the direct run. */
  directNode: NodeFigures;
  kamailio: { cpuMsPerCall: number | null };
}

const round = (n: number | null | undefined, digits = 1): number | null => (n === null || n === undefined ? null : Math.round(n * 10 ** digits) / 10 ** digits);

function pathResult(report: BenchReport, target: string, ended: Record<string, number>): PathResult {
  const setup = report.metrics.setupInviteToOkMs.stats;
  const jitter = report.metrics.rxPacingJitterMs.stats?.p99 ?? null;
  const losses = [report.rtp.serverToCaller.lossPercent, report.rtp.callerToServer.lossPercent].filter((v): v is number => v !== null);
  const loss = losses.length ? Math.max(...losses) : null;
  return {
    target, calls: report.config.calls, answered: report.calls.answered, failed: report.calls.failed,
    setupInviteToOkMs: setup ? { p50: round(setup.p50)!, p99: round(setup.p99)!, count: setup.count } : null,
    rxPacingJitterP99Ms: round(jitter, 2), lossPercent: round(loss, 3),
    withinPacingLimits: report.calls.failed === 0 && jitter !== null && jitter <= ECHO_RAMP_LIMITS.jitterP99Ms && (loss ?? 0) <= ECHO_RAMP_LIMITS.lossPercent,
    ...(report.ramp ? { maxSustainableCalls: report.ramp.maxSustainableCalls } : {}),
    endReasons: ended,
  };
}

/**
 * How the calls started since `since` ended, per end reason, once the nodes have ended them all (or after
 * `timeoutMs`, the rest as "in progress"): a node finishes a call (its last writes, the recording's seal)
 * after the caller's BYE, and that work belongs to the run, not to the next one's CPU reading.
 */
async function endReasons(db: Database, since: Date, timeoutMs = 30_000): Promise<Record<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await db.owner.execute(sql`select coalesce(end_reason, 'in progress') as reason, count(*)::int as n from calls where started_at >= ${since.toISOString()}::timestamptz group by 1 order by 1`);
    const reasons = Object.fromEntries(rows<{ reason: string; n: number }>(result).map((r) => [r.reason, r.n]));
    if (!reasons['in progress'] || Date.now() > deadline) return reasons;
    await sleep(100);
  }
}

/** Calls started so far per node id. */
async function callsPerNode(db: Database): Promise<Record<string, number>> {
  const result = await db.owner.execute(sql`select node_id, count(*)::int as n from calls group by node_id`);
  return Object.fromEntries(rows<{ node_id: string; n: number }>(result).map((r) => [r.node_id, r.n]));
}

/** CPU readings of the given processes now (pid -> ms). */
function cpuNow(pids: Record<string, number>, tree = false): Record<string, number | null> {
  return Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, tree ? processTreeCpuMs(pid) : processCpuMs(pid)]));
}

function perCall(after: number | null | undefined, before: number | null | undefined, calls: number): number | null {
  return after === null || after === undefined || before === null || before === undefined || calls === 0 ? null : round((after - before) / calls);
}

export function kamailioSummaryText(r: KamailioBenchReport): string {
  const ms = (v: number | null | undefined): string => (v === null || v === undefined ? 'n/a' : `${v} ms`);
  const path = (name: string, p: PathResult): string =>
    `  ${name.padEnd(16)} set-up p50 ${ms(p.setupInviteToOkMs?.p50)}, p99 ${ms(p.setupInviteToOkMs?.p99)} | answered ${p.answered}/${p.calls}, failed ${p.failed}`
    + ` | p99 pacing jitter ${ms(p.rxPacingJitterP99Ms)}, loss ${p.lossPercent ?? 'n/a'}% | ${p.withinPacingLimits ? 'within' : 'outside'} the limits`
    + (p.maxSustainableCalls !== undefined ? ` | ramp: ${p.maxSustainableCalls} calls within the limits` : '')
    + ` | ended: ${Object.entries(p.endReasons).map(([reason, n]) => `${reason} ${n}`).join(', ')}`;
  return [
    `Through Kamailio (${r.calls} calls x ${r.turns} turns, echo agent; limits: p99 pacing jitter <= ${r.limits.jitterP99Ms} ms, loss <= ${r.limits.lossPercent}%)`,
    path('direct (node-a)', r.direct),
    path('through Kamailio', r.throughKamailio),
    `  the proxy adds to call set-up: p50 ${ms(r.proxyAddsMs.p50)}, p99 ${ms(r.proxyAddsMs.p99)}`,
    `  calls per node through Kamailio: ${r.nodes.map((n) => `${n.id} ${n.calls} (CPU ${ms(n.cpuMsPerCall)}/call, RSS ${round(n.rssMB, 0) ?? 'n/a'} MB)`).join(', ')}`,
    `  node-a called directly: CPU ${ms(r.directNode.cpuMsPerCall)}/call; Kamailio: CPU ${ms(r.kamailio.cpuMsPerCall)}/call`,
    `  machine: ${r.machine.cpus} x ${r.machine.cpuModel}, load average ${r.machine.loadAverage.join(' ')}`,
    '',
  ].join('\n');
}

async function seed(url: string): Promise<void> {
  const db = await openDatabase({ url, dataDir: '', appRole: 'smartalex_app' });
  try {
    await migrate(db);
    const tenant = await createTenant(db, { name: 'bench-kamailio', maxConcurrentCalls: BENCH_MAX_CALLS_PER_TENANT });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    // Kamailio and the direct caller are both on 127.0.0.1.
    await addNumber(db, tenant.id, { number: NUMBER, agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  } finally {
    await db.close();
  }
}

export async function runThroughKamailio(options: ThroughKamailioOptions, io: BenchIo = { stdout: process.stdout, stderr: process.stderr }): Promise<{ report: KamailioBenchReport; exitCode: number }> {
  const startedAt = new Date();
  const dirs: string[] = [];
  const nodes: NodeProcess[] = [];
  let scratch: ScratchDatabase | undefined;
  let kamailio: Kamailio | undefined;
  let db: Database | undefined;
  try {
    scratch = await createScratchDatabase(options.databaseUrl);
    await seed(scratch.url);
    db = await openDatabase({ url: scratch.url, dataDir: '', appRole: 'smartalex_app' });
    const masterKey = randomBytes(32).toString('hex');
    const sipPort = await freeSipPort(Object.values(NODE_HOSTS));
    for (const [i, [id, host]] of Object.entries(NODE_HOSTS).entries()) {
      const dir = mkdtempSync(join(tmpdir(), `smartalex-bench-${id}-`));
      dirs.push(dir);
      io.stderr.write(`starting ${id} on ${host}:${sipPort}\n`);
      nodes.push(await startNodeProcess(id, {
        DATABASE_URL: scratch.url, SMARTALEX_MASTER_KEY: masterKey, SMARTALEX_DATA_DIR: dir,
        SMARTALEX_SIP_HOST: host, SMARTALEX_SIP_PORT: String(sipPort), SMARTALEX_MAX_CALLS_PER_TENANT: String(BENCH_MAX_CALLS_PER_TENANT),
        // Kamailio (127.0.0.1) forwards every call, and the direct run's caller sends from there too, as a carrier's
        // trunk would: trusted, or the flood guard bans it at 20 messages a second (calls then fail with 408).
        SMARTALEX_SIP_TRUSTED_SOURCES: '127.0.0.1',
        SMARTALEX_RTP_PORT_MIN: String(20000 + i * 5000), SMARTALEX_RTP_PORT_MAX: String(24999 + i * 5000),
      }));
    }
    // The bench's callers (127.0.0.1) are the carrier: trusted, as a carrier's trunk is in production (pike would
    // otherwise ban it past PIKE_DENSITY requests in 2 s, and calls would fail with 408).
    kamailio = await startKamailio(nodes.map((n) => `sip:${NODE_HOSTS[n.id as keyof typeof NODE_HOSTS]}:${sipPort}`), { TRUSTED_SOURCES: '"127.0.0.1/32"' });
    const bench = (target: string): Promise<{ report: BenchReport }> => runBench({
      target, number: NUMBER, calls: options.calls, turns: options.turns, bargeIn: false, profile: 'instant',
      voiceThresholdDbfs: DEFAULT_VOICE_THRESHOLD_DBFS, turnTimeoutMs: options.turnTimeoutMs ?? 10_000, bindAddress: '127.0.0.1',
      thresholdPercent: 10, agentMode: 'echo', ramp: options.ramp !== undefined, rampMax: options.ramp?.max ?? options.calls,
      ...(options.ramp ? { rampStep: options.ramp.step } : {}),
      ...(options.warmupCalls !== undefined ? { warmupCalls: options.warmupCalls } : {}),
      ...(options.driver ? { driver: options.driver } : {}),
    } satisfies BenchOptions, { stdout: { write: () => true }, stderr: io.stderr });

    const pids = Object.fromEntries(nodes.map((n) => [n.id, n.pid]));
    const directTarget = `sip:${NODE_HOSTS['node-a']}:${sipPort}`;
    io.stderr.write(`direct: ${directTarget}\n`);
    let countsBefore = await callsPerNode(db);
    let cpuBefore = cpuNow(pids);
    const directStarted = new Date();
    const direct = await bench(directTarget);
    const directEnded = await endReasons(db, directStarted);
    let countsAfter = await callsPerNode(db);
    let cpuAfter = cpuNow(pids);
    const directCalls = (countsAfter['node-a'] ?? 0) - (countsBefore['node-a'] ?? 0);
    const directNode: NodeFigures = { id: 'node-a', calls: directCalls, cpuMsPerCall: perCall(cpuAfter['node-a'], cpuBefore['node-a'], directCalls), rssMB: round(processRssMB(pids['node-a']!)) };

    const proxyTarget = `sip:127.0.0.1:${kamailio.port}`;
    io.stderr.write(`through Kamailio: ${proxyTarget}\n`);
    countsBefore = countsAfter;
    cpuBefore = cpuNow(pids);
    const kamailioBefore = processTreeCpuMs(kamailio.child.pid!);
    const proxiedStarted = new Date();
    const proxied = await bench(proxyTarget);
    const proxiedEnded = await endReasons(db, proxiedStarted);
    const kamailioAfter = processTreeCpuMs(kamailio.child.pid!);
    countsAfter = await callsPerNode(db);
    cpuAfter = cpuNow(pids);
    const nodeFigures = nodes.map((n): NodeFigures => {
      const calls = (countsAfter[n.id] ?? 0) - (countsBefore[n.id] ?? 0);
      return { id: n.id, calls, cpuMsPerCall: perCall(cpuAfter[n.id], cpuBefore[n.id], calls), rssMB: round(processRssMB(n.pid)) };
    });
    const proxiedCalls = nodeFigures.reduce((sum, n) => sum + n.calls, 0);

    const d = pathResult(direct.report, directTarget, directEnded);
    const k = pathResult(proxied.report, proxyTarget, proxiedEnded);
    const diff = (a: number | undefined, b: number | undefined): number | null => (a === undefined || b === undefined ? null : round(a - b));
    const report: KamailioBenchReport = {
      schema: 'smartalex-bench-kamailio', version: 1, startedAt: startedAt.toISOString(), machine: machineInfo(),
      calls: options.calls, turns: options.turns, limits: { jitterP99Ms: ECHO_RAMP_LIMITS.jitterP99Ms, lossPercent: ECHO_RAMP_LIMITS.lossPercent },
      direct: d, throughKamailio: k,
      proxyAddsMs: { p50: diff(k.setupInviteToOkMs?.p50, d.setupInviteToOkMs?.p50), p99: diff(k.setupInviteToOkMs?.p99, d.setupInviteToOkMs?.p99) },
      nodes: nodeFigures, directNode, kamailio: { cpuMsPerCall: perCall(kamailioAfter, kamailioBefore, proxiedCalls) },
    };
    io.stdout.write(kamailioSummaryText(report));
    if (options.json) writeFileSync(options.json, JSON.stringify(report, null, 2) + '\n');
    return { report, exitCode: d.answered > 0 && k.answered > 0 ? 0 : 1 };
  } finally {
    await kamailio?.stop().catch(() => undefined);
    for (const node of nodes) await node.stop().catch(() => undefined);
    await db?.close().catch(() => undefined);
    await scratch?.drop().catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
