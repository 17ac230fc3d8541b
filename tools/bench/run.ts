/**
 * `smartalex bench` end to end: start the bench driver (a child process,
 * driver.ts, that runs the callers on its main thread and, in-process, the
 * provider simulators in a worker thread of its own), pick the target (a running server, or one started in this
 * process pointed at the driver's simulators), run the calls in the driver
 * (once, as a ramp, or as a soak), build the report, print the summary,
 * write --json/--html, compare with --baseline. Returns the exit code instead
 * of exiting, so tests can drive it.
 *
 * In-process, this process then holds the server alone: the probe's CPU,
 * RSS and event-loop lag are the server's, not the benchmark's (which the
 * report gives separately, as benchDriver).
 *
 * Exit codes: 0 fine; 1 the run failed (no call answered, bad target...);
 * 3 a tracked metric regressed against --baseline beyond --threshold.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { SimulatorProfile } from '../simulators/index.ts';
import { compareReports, comparisonText, readBaseline } from './baseline.ts';
import { renderHtml } from './html-report.ts';
import { startBenchDriver, type BenchDriver, type BenchDriverOptions, type DriverLoadResult } from './driver-client.ts';
import type { SimulatorKnobs } from './driver-protocol.ts';
import { WEBRTC_MAX_ATTEMPTS, type BenchTransport } from './caller-leg.ts';
import { startInProcess, type BenchAgentMode, type InProcessTarget } from './in-process.ts';
import type { LoadPlan } from './load.ts';
import { readPcapUdp, rtpSendJitterMs, startPcapCapture } from './pcap.ts';
import { ProgressBar, type ProgressSink } from './progress.ts';
import { buildReport } from './report.ts';
import { reportSchema, type BenchReport } from './report-schema.ts';
import type { ProbeResult, ServerProbe } from './server-probe.ts';
import { leastSquaresSlope } from './stats.ts';
import { summaryText } from './summary-table.ts';

export const EXIT_REGRESSION = 3;

export interface BenchOptions {
  /** The way in (default sip): SIP/RTP, a WebRTC peer, or a Twilio Media Streams client. Not SIP: in-process only. */
  transport?: BenchTransport;
  target?: string;
  number: string;
  calls: number;
  turns: number;
  bargeIn: boolean;
  profile: SimulatorProfile;
  sttMs?: number;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
  voiceThresholdDbfs: number;
  turnTimeoutMs: number;
  /** How long callers wait for the greeting before speaking anyway; default 1.5 s, the turn timeout for the in-process conversation agent (caller.ts). */
  greetingWaitMs?: number;
  bindAddress: string;
  json?: string;
  html?: string;
  /** Capture loopback UDP to this pcap file during the measured calls (tcpdump) and report the server's send jitter from it. */
  pcap?: string;
  baseline?: string;
  thresholdPercent: number;
  ramp: boolean;
  rampStep?: number;
  rampMax: number;
  durationS?: number;
  /** In-process: which agent to call (default conversation). `echo` also tightens the ramp's loss limit to zero (issue 3). */
  agentMode?: BenchAgentMode;
  /** In-process: run the server on a fresh database on this Postgres server instead of embedded PGlite. */
  databaseUrl?: string;
  /** The bench driver process (tests: timeouts, a substitute entry). */
  driver?: BenchDriverOptions;
  /**
   * Calls (one turn each) placed and discarded before anything is measured, so a freshly started
   * server (JIT, model, database caches, threads) is warm. Default: min(calls, 10); 0 turns it off.
   */
  warmupCalls?: number;
  /** Nice value for the bench driver's callers thread (see DriverLoadPlan.callerNiceness). */
  callerNiceness?: number;
}

export const DEFAULT_WARMUP_CALLS = 10;

export function warmupCallsFor(options: Pick<BenchOptions, 'calls' | 'warmupCalls'>): number {
  return Math.max(0, Math.floor(options.warmupCalls ?? Math.min(options.calls, DEFAULT_WARMUP_CALLS)));
}

export interface BenchIo {
  stdout: { write(text: string): unknown };
  stderr: ProgressSink;
}

export interface BenchOutcome {
  report: BenchReport;
  exitCode: number;
}

export interface RampLimits { jitterP99Ms: number; lossPercent: number; overheadP99Ms: number }
/** Ramp limits from issue 6: p99 pacing jitter, loss, overhead p99. */
export const RAMP_LIMITS: Readonly<RampLimits> = { jitterP99Ms: 5, lossPercent: 0.1, overheadP99Ms: 50 };
/** Issue 3's echo benchmark: p99 pacing jitter under 5 ms and no loss at all (no traces, so no overhead limit applies). */
export const ECHO_RAMP_LIMITS: Readonly<RampLimits> = { jitterP99Ms: 5, lossPercent: 0, overheadP99Ms: 50 };

export function rampLimitsFor(options: Pick<BenchOptions, 'agentMode'>): Readonly<RampLimits> {
  return options.agentMode === 'echo' ? ECHO_RAMP_LIMITS : RAMP_LIMITS;
}

/** The RTP port range of a server on its defaults (SMARTALEX_RTP_PORT_MIN/_MAX): what --pcap counts as the server's packets. */
const SERVER_RTP_PORTS = [10000, 20000] as const;
/** How long a window waits for the calls before it (warm-up, a ramp's previous step) to finish on the server. */
const SETTLE_TIMEOUT_MS = 30_000;

export async function runBench(options: BenchOptions, io: BenchIo = { stdout: process.stdout, stderr: process.stderr }): Promise<BenchOutcome> {
  if (options.target && options.databaseUrl) throw new Error('--database-url is for the in-process server; leave out --target');
  if (!options.target && options.bindAddress !== '127.0.0.1' && options.bindAddress !== '::1') {
    throw new Error('the in-process server listens on 127.0.0.1; leave --bind at 127.0.0.1 without --target');
  }
  const transport = options.transport ?? 'sip';
  if (transport !== 'sip' && options.target) throw new Error(`--transport ${transport} mints its call tokens with the in-process server's key: leave out --target`);
  if (transport !== 'sip' && options.durationS !== undefined) throw new Error(`--duration places calls without end; --transport ${transport} needs a token per call: use --calls`);
  const baseline = options.baseline ? readBaseline(options.baseline) : undefined;
  const startedAt = new Date();
  const driver = await startBenchDriver(options.driver);
  let inProcess: InProcessTarget | undefined;
  try {
    if (!options.target) {
      const knobs: SimulatorKnobs = {};
      if (options.sttMs !== undefined) knobs.sttFinalDelayMs = options.sttMs;
      if (options.llmTtftMs !== undefined) knobs.llmTtftMs = options.llmTtftMs;
      if (options.ttsTtfbMs !== undefined) knobs.ttsTtfbMs = options.ttsTtfbMs;
      const simulators = await driver.startSimulators(options.profile, knobs, 'bench-simulator-key');
      inProcess = await startInProcess({
        simulators,
        ...(options.agentMode ? { agentMode: options.agentMode } : {}),
        ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : {}),
      });
    }
    const target = options.target ?? inProcess!.target;
    // In-process echo: call the echo agent's number, whatever --number says.
    if (inProcess?.number !== undefined) options = { ...options, number: inProcess.number };
    // The in-process conversation agent always opens with the AI disclosure: callers wait for it, so a greeting a
    // busy machine made late is measured as set-up time instead of being talked over and taken for the reply.
    if (options.greetingWaitMs === undefined && inProcess?.agentMode === 'conversation') options = { ...options, greetingWaitMs: options.turnTimeoutMs };
    const probe = inProcess?.probe;
    if (options.durationS !== undefined && !probe) throw new Error('--duration samples the server\'s memory, so it needs the in-process server (leave out --target)');
    const config: BenchReport['config'] = {
      transport,
      mode: inProcess ? 'in-process' : 'target',
      target,
      number: options.number,
      calls: options.calls,
      turns: options.turns,
      bargeIn: options.bargeIn,
      profile: inProcess ? options.profile : null,
      simulatorLatency: inProcess ? { ...inProcess.latency } : null,
      voiceThresholdDbfs: options.voiceThresholdDbfs,
      turnTimeoutMs: options.turnTimeoutMs,
      ramp: options.ramp,
      soakDurationS: options.durationS ?? null,
      agent: inProcess ? inProcess.agentMode : null,
      database: inProcess ? inProcess.database : null,
      warmupCalls: warmupCallsFor(options),
      ...(options.callerNiceness !== undefined ? { callerNiceness: options.callerNiceness } : {}),
      ...(inProcess && process.env.SMARTALEX_MEDIA_THREAD_NICE ? { mediaThreadNiceness: Number(process.env.SMARTALEX_MEDIA_THREAD_NICE) } : {}),
    };
    const way = wayIn(transport, target, options.number, inProcess);
    await warmUp(options, driver, way, config.warmupCalls ?? 0, io);
    let report: BenchReport;
    if (options.ramp) report = await runRamp(options, driver, way, probe, config, startedAt, io);
    else if (options.durationS !== undefined) report = await runSoak(options, driver, way, probe!, config, startedAt, io);
    else {
      const capture = options.pcap ? await startPcapCapture(options.pcap) : undefined;
      let measured: Measured;
      try {
        measured = await measure(options, driver, way, options.calls, probe, io);
      } finally {
        await capture?.stop();
      }
      const pcapSendJitterMs = options.pcap ? rtpSendJitterMs(readPcapUdp(readFileSync(options.pcap)), (port) => port >= SERVER_RTP_PORTS[0] && port <= SERVER_RTP_PORTS[1]) : undefined;
      report = buildReport({
        config, load: measured.load, probe: measured.probe, driver: measured.load.driver, rssSamples: measured.rss, startedAt, finishedAt: new Date(),
        ...(pcapSendJitterMs ? { pcapSendJitterMs } : {}),
      });
    }
    reportSchema.parse(report);
    io.stdout.write(summaryText(report));
    if (options.json) writeFileSync(options.json, JSON.stringify(report, null, 2) + '\n');
    if (options.html) writeFileSync(options.html, renderHtml(report));
    let exitCode = report.calls.answered === 0 ? 1 : 0;
    if (exitCode === 1) io.stdout.write(`no call was answered (${Object.keys(report.calls.failures).join(', ') || 'no reason given'})\n`);
    if (baseline) {
      const comparison = compareReports(baseline, report, options.thresholdPercent);
      io.stdout.write('\n' + comparisonText(comparison, options.thresholdPercent));
      if (comparison.regressions.length > 0) exitCode = EXIT_REGRESSION;
    }
    return { report, exitCode };
  } finally {
    // The server first, while the simulators it talks to are still up; then the driver (which stops them).
    try {
      await inProcess?.close();
    } finally {
      await driver.close();
    }
  }
}

/** How the driver's calls reach the server: the transport, its addresses, and fresh credentials for each load. */
interface WayIn {
  plan(calls: number): Promise<Pick<LoadPlan, 'transport' | 'target' | 'httpBase' | 'credentials'>>;
}

function wayIn(transport: BenchTransport, target: string, number: string, inProcess: InProcessTarget | undefined): WayIn {
  return {
    plan: async (calls) => {
      if (transport === 'sip' || !inProcess) return { transport, target };
      // Minted just before each load: a stream token lives a minute, and each opens one call (a WebRTC
      // caller that starts its own set-up over takes a spare).
      const count = transport === 'webrtc' ? calls * WEBRTC_MAX_ATTEMPTS : calls;
      return { transport, target, httpBase: inProcess.httpBase, credentials: await inProcess.credentials(transport, number, count) };
    },
  };
}

/** Places the warm-up calls (one turn each) and throws their results away; nothing is probed. */
async function warmUp(options: BenchOptions, driver: BenchDriver, way: WayIn, calls: number, io: BenchIo): Promise<void> {
  if (calls <= 0) return;
  const bar = new ProgressBar(io.stderr, calls, 'warm-up calls');
  try {
    await driver.runLoad({
      ...(await way.plan(calls)), number: options.number, calls, turns: 1, bargeIn: false, voiceThresholdDbfs: options.voiceThresholdDbfs,
      turnTimeoutMs: options.turnTimeoutMs, bindAddress: options.bindAddress, ...greetingWait(options),
    }, { onProgress: (p) => bar.update(p.callsDone, '') });
  } finally {
    bar.done();
  }
}

interface Measured {
  load: DriverLoadResult;
  probe: ProbeResult | undefined;
  rss: number[];
}

async function measure(options: BenchOptions, driver: BenchDriver, way: WayIn, calls: number, probe: ServerProbe | undefined, io: BenchIo, until?: number, onRss?: (rssMB: number) => void): Promise<Measured> {
  const unsettled = await probe?.settle(SETTLE_TIMEOUT_MS);
  if (unsettled) io.stderr.write(`warning: ${unsettled} call(s) from before the measured window were still in progress after ${SETTLE_TIMEOUT_MS / 1000} s; their hang-up counts in it\n`);
  const totalTurns = calls * Math.max(1, options.turns);
  const reach = await way.plan(calls);
  const bar = new ProgressBar(io.stderr, until === undefined ? totalTurns : Math.round((until - performance.now()) / 1000), until === undefined ? 'turns' : 's');
  const began = performance.now();
  const rss: number[] = [];
  await probe?.start();
  let sampler = probe ? setInterval(() => { const v = probe.rssMB(); rss.push(v); onRss?.(v); }, 1000) : undefined;
  let ended: Promise<ProbeResult | undefined> | undefined;
  // The window ends when the driver's calls have ended and the server has closed them (their hang-up's writes
  // done), so each call's whole cost on the server falls in it and nothing of theirs in the next window; the
  // calls' results may cross the IPC channel meanwhile (a few ms of this process's CPU).
  const endWindow = (settle: boolean): Promise<ProbeResult | undefined> => {
    ended ??= (async () => {
      const left = settle ? await probe?.settle(SETTLE_TIMEOUT_MS) : 0;
      if (left) io.stderr.write(`warning: ${left} measured call(s) were still in progress on the server ${SETTLE_TIMEOUT_MS / 1000} s after their callers hung up; the window ends without them\n`);
      if (sampler) clearInterval(sampler);
      sampler = undefined;
      return probe?.stop();
    })();
    return ended;
  };
  try {
    // The callers run in the bench driver process: the server's event loop and CPU are its own.
    const load = await driver.runLoad({
      ...reach, number: options.number, calls, turns: options.turns, bargeIn: options.bargeIn, voiceThresholdDbfs: options.voiceThresholdDbfs,
      turnTimeoutMs: options.turnTimeoutMs, bindAddress: options.bindAddress, ...greetingWait(options), ...(until !== undefined ? { until } : {}),
      ...(options.callerNiceness !== undefined ? { callerNiceness: options.callerNiceness } : {}),
    }, {
      onProgress: (p) => {
        const done = until === undefined ? p.turnsDone : Math.round((performance.now() - began) / 1000);
        bar.update(done, `| calls ${p.callsDone}/${p.callsStarted} done | ${((performance.now() - began) / 1000).toFixed(0)} s`);
      },
      onFinished: () => { void endWindow(true).catch(() => undefined); },
    });
    return { load, probe: await endWindow(true), rss };
  } finally {
    await endWindow(false).catch(() => undefined);
    bar.done();
  }
}

function greetingWait(options: BenchOptions): { greetingWaitMs?: number } {
  return options.greetingWaitMs !== undefined ? { greetingWaitMs: options.greetingWaitMs } : {};
}

function lossPercent(report: BenchReport): number | null {
  const values = [report.rtp.serverToCaller.lossPercent, report.rtp.callerToServer.lossPercent].filter((v): v is number => v !== null);
  return values.length ? Math.max(...values) : null;
}

async function runRamp(options: BenchOptions, driver: BenchDriver, way: WayIn, probe: ServerProbe | undefined, config: BenchReport['config'], startedAt: Date, io: BenchIo): Promise<BenchReport> {
  const step = options.rampStep ?? options.calls;
  const limits = rampLimitsFor(options);
  const steps: NonNullable<BenchReport['ramp']>['steps'] = [];
  let best: BenchReport | undefined;
  let last: BenchReport | undefined;
  let stoppedBecause = `reached --ramp-max ${options.rampMax}`;
  for (let calls = options.calls; calls <= options.rampMax; calls += step) {
    const measured = await measure(options, driver, way, calls, probe, io);
    const report = buildReport({ config: { ...config, calls }, load: measured.load, probe: measured.probe, driver: measured.load.driver, rssSamples: measured.rss, startedAt, finishedAt: new Date() });
    last = report;
    const jitter = report.metrics.rxPacingJitterMs.stats?.p99 ?? null;
    const loss = lossPercent(report);
    const overhead = report.metrics.overheadMs.stats?.p99 ?? null;
    const reasons: string[] = [];
    if (jitter !== null && jitter > limits.jitterP99Ms) reasons.push(`p99 pacing jitter ${jitter.toFixed(1)} ms > ${limits.jitterP99Ms} ms`);
    if (jitter === null) reasons.push('no agent audio to measure pacing on');
    if (loss !== null && loss > limits.lossPercent) reasons.push(`loss ${loss.toFixed(3)}% > ${limits.lossPercent}%`);
    if (overhead !== null && overhead > limits.overheadP99Ms) reasons.push(`overheadMs p99 ${overhead.toFixed(1)} > ${limits.overheadP99Ms} ms`);
    if (report.calls.failed > 0) {
      const why = Object.entries(report.calls.failures).map(([k, v]) => `${k}: ${v}`).join(', ');
      reasons.push(`${report.calls.failed} call(s) failed${why ? ` (${why})` : ''}`);
    }
    const sustainable = reasons.length === 0;
    steps.push({ calls, rxPacingJitterP99Ms: jitter, lossPercent: loss, overheadP99Ms: overhead, failed: report.calls.failed, sustainable, reason: sustainable ? 'within limits' : reasons.join('; ') });
    io.stderr.write(`ramp: ${calls} calls: ${sustainable ? 'sustainable' : reasons.join('; ')}\n`);
    if (!sustainable) {
      stoppedBecause = `${calls} calls: ${reasons.join('; ')}`;
      break;
    }
    best = report;
  }
  const base = best ?? last!;
  const maxSustainableCalls = best?.config.calls ?? 0;
  return {
    ...base,
    config: { ...config, calls: base.config.calls },
    finishedAt: new Date().toISOString(),
    durationS: (Date.now() - startedAt.getTime()) / 1000,
    ramp: { limits: { ...limits }, steps, maxSustainableCalls, stoppedBecause },
  };
}

async function runSoak(options: BenchOptions, driver: BenchDriver, way: WayIn, probe: ServerProbe, config: BenchReport['config'], startedAt: Date, io: BenchIo): Promise<BenchReport> {
  const durationS = options.durationS!;
  const began = performance.now();
  const points: Array<{ tS: number; rssMB: number; heapUsedMB: number }> = [];
  const measured = await measure(options, driver, way, options.calls, probe, io, began + durationS * 1000, (rssMB) => {
    const round = (mb: number): number => Math.round(mb * 10) / 10;
    points.push({ tS: Math.round((performance.now() - began) / 100) / 10, rssMB: round(rssMB), heapUsedMB: round(probe.heapUsedMB()) });
  });
  const slope = leastSquaresSlope(points.map((p) => ({ x: p.tS / 60, y: p.rssMB })));
  // Warm-up (allocator arenas, caches, JIT) makes the first minutes climb: the second half shows a leak better.
  const secondHalf = points.filter((p) => p.tS >= durationS / 2);
  const secondHalfSlope = leastSquaresSlope(secondHalf.map((p) => ({ x: p.tS / 60, y: p.rssMB })));
  const heapSlope = leastSquaresSlope(secondHalf.map((p) => ({ x: p.tS / 60, y: p.heapUsedMB })));
  const report = buildReport({ config, load: measured.load, probe: measured.probe, driver: measured.load.driver, rssSamples: measured.rss, startedAt, finishedAt: new Date() });
  return { ...report, soak: {
    durationS, calls: options.calls, rss: points, slopeMBPerMin: slope ?? null,
    secondHalfSlopeMBPerMin: secondHalfSlope ?? null, heapSlopeMBPerMin: heapSlope ?? null,
  } };
}
