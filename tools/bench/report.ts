/**
 * Turns what the calls and the server probe measured into the versioned
 * report (report-schema.ts): metrics with stats and raw samples, loss both
 * ways, the agent mode as observed on the wire, the machine it ran on.
 */
import { cpus, loadavg, totalmem } from 'node:os';
import { readFileSync } from 'node:fs';
import type { CallResult } from './caller.ts';
import type { LoadResult } from './load.ts';
import { METRIC_NAMES, REPORT_MINOR_VERSION, REPORT_SCHEMA_ID, REPORT_VERSION, type BenchReport, type MetricEntry, type MetricName } from './report-schema.ts';
import type { DbProbeResult } from './db-probe.ts';
import type { DriverUsage } from './driver-protocol.ts';
import { TRACE_FIELDS, type ProbeResult } from './server-probe.ts';
import { SampleSet, summarize } from './stats.ts';

type Config = BenchReport['config'];

const DESCRIPTIONS: Record<MetricName, { unit: MetricEntry['unit']; source: MetricEntry['source']; tracked: boolean; description: string }> = {
  e2eMs: { unit: 'ms', source: 'caller', tracked: true, description: 'First voiced agent RTP packet received minus the true end of the caller\'s speech' },
  bargeInStopMs: { unit: 'ms', source: 'caller', tracked: true, description: 'Caller starts speaking over the agent until the agent\'s audio stops' },
  setupInviteToOkMs: { unit: 'ms', source: 'caller', tracked: true, description: 'INVITE sent until 200 OK received (and ACKed)' },
  setupAckToFirstAudioMs: { unit: 'ms', source: 'caller', tracked: true, description: 'ACK sent until the first voiced agent packet (greeting)' },
  rxPacingJitterMs: { unit: 'ms', source: 'caller', tracked: true, description: 'Server-to-caller pacing: |arrival gap - RTP timestamp gap| between consecutive packets of a talkspurt' },
  txPacingJitterMs: { unit: 'ms', source: 'caller', tracked: false, description: 'The benchmark\'s own send pacing: |gap between its sends - 20 ms| (a busy load generator shows here)' },
  serverRxJitterMs: { unit: 'ms', source: 'server-rtcp', tracked: false, description: 'Caller-to-server interarrival jitter (RFC 3550) from the server\'s RTCP reports about our stream' },
  endpointingMs: { unit: 'ms', source: 'server-trace', tracked: false, description: 'Server trace: end of speech until the turn was declared over' },
  sttFinalMs: { unit: 'ms', source: 'server-trace', tracked: false, description: 'Server trace: waiting for the STT final result' },
  llmTtftMs: { unit: 'ms', source: 'server-trace', tracked: false, description: 'Server trace: LLM time to first token' },
  ttsTtfbMs: { unit: 'ms', source: 'server-trace', tracked: false, description: 'Server trace: TTS time to first byte' },
  overheadMs: { unit: 'ms', source: 'server-trace', tracked: true, description: 'Server trace: what the server adds, its own gaps on the critical path (turn decision to LLM, sentence to TTS, TTS bytes to queue, queue to first packet)' },
  eventLoopLagMs: { unit: 'ms', source: 'server-process', tracked: true, description: 'Event-loop delay of the server\'s main thread (monitorEventLoopDelay, 10 ms resolution)' },
  serverRssMB: { unit: 'MB', source: 'server-process', tracked: false, description: 'Resident memory of the server\'s process, sampled once a second during the run' },
  serverTxPacingJitterMs: { unit: 'ms', source: 'pcap', tracked: false, description: 'The server\'s own send pacing from a loopback capture\'s kernel timestamps (--pcap): |send gap - RTP timestamp gap|, without the callers\' scheduling' },
  serverJitterBufferMs: { unit: 'ms', source: 'server-process', tracked: false, description: 'The server\'s adaptive receive jitter buffer: each call\'s mean target depth over the call (one sample per call that started in the window; so far, for one still hanging up)' },
};

/** serverRssMB in-process: what the number includes. */
const SERVER_RSS_NOTE = 'in-process: the server\'s process alone, its own worker threads included (e.g. the embedded PGlite database, VAD inference); the callers and simulators run in the separate bench driver process';
const SERVER_NOTE = 'in-process: CPU, memory and event-loop lag are the server\'s process alone (its main thread plus its own worker threads, e.g. the embedded PGlite database and VAD inference); the callers and the provider simulators run in a separate bench driver process (benchDriver)';

export function metricEntry(name: MetricName, set: SampleSet | undefined, note?: string, override?: Partial<MetricEntry>): MetricEntry {
  const d = DESCRIPTIONS[name];
  const stats = set && set.count > 0 ? summarize(set.all) ?? null : null;
  const entry: MetricEntry = {
    unit: d.unit, source: d.source, description: d.description, tracked: d.tracked,
    stats, samples: set ? [...set.kept] : [], samplesTruncated: set?.truncated ?? false,
    ...override,
  };
  if (note !== undefined) entry.note = note;
  return entry;
}

export function machineInfo(): BenchReport['machine'] {
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    cpus: Math.max(1, list.length),
    totalMemMB: Math.round(totalmem() / (1024 * 1024)),
    platform: process.platform,
    arch: process.arch,
    nodeVersion: process.version,
    loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
  };
}

function toolVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** What answered, judged from the audio: echo of our own frames, replies after our turns, a greeting, or nothing. */
export function classifyAgent(results: readonly CallResult[]): { mode: BenchReport['agentMode']; evidence: string } {
  const answered = results.filter((r) => r.answered);
  const voiced = sum(answered, (r) => r.agentVoicedPackets);
  const echoed = sum(answered, (r) => r.agentEchoPackets);
  const turns = sum(answered, (r) => r.turns);
  const replied = sum(answered, (r) => r.turnsReplied);
  const greeted = answered.filter((r) => r.greetingHeard).length;
  const evidence = `${echoed} of ${voiced} voiced agent packets were copies of the caller's audio; ${replied} of ${turns} turns got a reply; a greeting was heard on ${greeted} of ${answered.length} answered calls`;
  let mode: BenchReport['agentMode'] = 'unknown';
  if (answered.length === 0) mode = 'unknown';
  else if (voiced === 0) mode = 'silent';
  else if (echoed / voiced > 0.5) mode = 'echo';
  else if (turns > 0 && replied / turns >= 0.5) mode = 'conversation';
  else if (greeted > 0) mode = 'greeting';
  return { mode, evidence };
}

function sum<T>(items: readonly T[], f: (item: T) => number): number {
  let total = 0;
  for (const item of items) total += f(item);
  return total;
}

export interface ReportInput {
  config: Config;
  load: LoadResult;
  probe: ProbeResult | undefined;
  /** What the bench driver process used during the calls. */
  driver?: DriverUsage;
  /** Server RSS samples (MB) taken during the run. */
  rssSamples: number[];
  /** Server send jitter samples from a --pcap capture (undefined: no capture). */
  pcapSendJitterMs?: number[];
  startedAt: Date;
  finishedAt: Date;
}

export function buildReport(input: ReportInput): BenchReport {
  const { load, probe } = input;
  const results = load.results;
  const s = load.samples;
  const metrics = {} as Record<MetricName, MetricEntry>;
  const agent = classifyAgent(results);
  metrics.e2eMs = metricEntry('e2eMs', s.e2eMs, agent.mode === 'echo' ? 'the agent echoes: e2e is the echo path delay, not a reply' : undefined);
  metrics.bargeInStopMs = metricEntry('bargeInStopMs', s.bargeInStopMs, input.config.bargeIn ? undefined : 'barge-in turns not requested (--barge-in)');
  metrics.setupInviteToOkMs = metricEntry('setupInviteToOkMs', s.setupInviteToOkMs);
  metrics.setupAckToFirstAudioMs = metricEntry('setupAckToFirstAudioMs', s.setupAckToFirstAudioMs, s.setupAckToFirstAudioMs.count === 0 ? 'the agent did not speak before the caller (no greeting)' : undefined);
  metrics.rxPacingJitterMs = metricEntry('rxPacingJitterMs', s.rxPacingJitterMs);
  metrics.txPacingJitterMs = metricEntry('txPacingJitterMs', s.txPacingJitterMs);
  metrics.serverRxJitterMs = metricEntry('serverRxJitterMs', s.serverRxJitterMs, s.serverRxJitterMs.count === 0 ? 'no RTCP report about our stream arrived from the server' : undefined);

  const traces = probe?.traces;
  for (const field of TRACE_FIELDS) {
    if (traces?.source === 'raw') {
      const set = new SampleSet();
      set.addAll(traces.samples[field]);
      metrics[field] = metricEntry(field, set, set.count === 0 ? `${traces.note}; none carried ${field}` : undefined);
    } else {
      metrics[field] = metricEntry(field, undefined, traces?.note ?? 'server traces need the in-process server (no --target)');
    }
  }
  metrics.eventLoopLagMs = metricEntry('eventLoopLagMs', undefined, probe ? 'the server\'s main thread (no callers or simulators on it); percentiles from perf_hooks.monitorEventLoopDelay; no raw samples' : 'server is remote: not measured',
    { stats: probe?.eventLoopLag ?? null });
  const rss = new SampleSet();
  rss.addAll(input.rssSamples);
  metrics.serverRssMB = metricEntry('serverRssMB', rss, probe ? SERVER_RSS_NOTE : 'server is remote: not measured');
  const pcapSet = new SampleSet();
  pcapSet.addAll(input.pcapSendJitterMs ?? []);
  metrics.serverTxPacingJitterMs = metricEntry('serverTxPacingJitterMs', input.pcapSendJitterMs ? pcapSet : undefined,
    input.pcapSendJitterMs ? 'RTP from the server\'s port range (10000-20000), kernel timestamps of a tcpdump capture on lo' : 'needs --pcap <file> (tcpdump)');
  const depth = new SampleSet();
  depth.addAll(probe?.jitterBufferMs ?? []);
  metrics.serverJitterBufferMs = metricEntry('serverJitterBufferMs', probe?.jitterBufferMs ? depth : undefined,
    probe?.jitterBufferMs ? `mean depth per call (peak over all calls ${Math.round(probe.jitterBufferPeakMs ?? 0)} ms)` : 'needs the in-process server');
  for (const name of METRIC_NAMES) if (!metrics[name]) metrics[name] = metricEntry(name, undefined, 'not measured');

  const rxPackets = sum(results, (r) => r.rxPackets);
  const rxExpected = sum(results, (r) => r.rxExpected);
  const txPackets = sum(results, (r) => r.txPackets);
  const reported = results.filter((r) => r.serverReport);
  const serverLost = sum(reported, (r) => Math.max(0, r.serverReport!.cumulativeLost));
  const reportedSent = sum(reported, (r) => r.txPackets);
  const callerToServer: BenchReport['rtp']['callerToServer'] = reported.length > 0
    ? { view: 'server-rtcp', packets: txPackets, expected: reportedSent, lost: serverLost, lossPercent: reportedSent > 0 ? (100 * serverLost) / reportedSent : 0 }
    : { view: 'caller-only', packets: txPackets, expected: null, lost: null, lossPercent: null };

  const answered = results.filter((r) => r.answered).length;
  const failures: Record<string, number> = {};
  for (const r of results) if (r.failure) failures[r.failure] = (failures[r.failure] ?? 0) + 1;
  const calls = results.length;
  const cpuMsPerCall = probe && calls > 0 ? probe.cpuMs / calls : null;

  return {
    schema: REPORT_SCHEMA_ID,
    version: REPORT_VERSION,
    minorVersion: REPORT_MINOR_VERSION,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    durationS: (input.finishedAt.getTime() - input.startedAt.getTime()) / 1000,
    tool: { name: 'smartalex bench', version: toolVersion() },
    machine: machineInfo(),
    config: input.config,
    agentMode: agent.mode,
    agentModeEvidence: agent.evidence,
    calls: {
      attempted: calls,
      answered,
      completed: results.filter((r) => r.completed).length,
      failed: results.filter((r) => r.failure !== undefined).length,
      failures,
      turns: sum(results, (r) => r.turns),
      turnsReplied: sum(results, (r) => r.turnsReplied),
      bargeIns: sum(results, (r) => r.bargeIns),
      bargeInsStopped: sum(results, (r) => r.bargeInsStopped),
    },
    metrics,
    rtp: {
      serverToCaller: { view: 'caller', packets: rxPackets, expected: rxExpected, lost: Math.max(0, rxExpected - rxPackets), lossPercent: rxExpected > 0 ? (100 * Math.max(0, rxExpected - rxPackets)) / rxExpected : null },
      callerToServer,
    },
    server: {
      inProcess: probe !== undefined,
      ...(probe ? { pid: probe.pid } : {}),
      traces: traces?.source ?? 'absent',
      tracesNote: traces?.note ?? 'server is remote: no traces',
      cpuMsPerCall,
      cpuPercentOfOneCore: probe && probe.wallMs > 0 ? (100 * probe.cpuMs) / probe.wallMs : null,
      rssPeakMB: probe?.rssPeakMB ?? null,
      rssPerCallMB: probe && calls > 0 ? Math.max(0, probe.rssPeakMB - probe.rssBeforeMB) / calls : null,
      note: probe ? SERVER_NOTE : 'server is remote: only wire measurements',
      ...(probe?.database ? { database: databaseSection(probe.database, calls) } : {}),
      ...(probe?.speculation ? {
        speculation: {
          ...probe.speculation,
          wastedPerCall: calls > 0 ? probe.speculation.wasted / calls : null,
          wastedPercent: probe.speculation.used + probe.speculation.wasted > 0 ? (100 * probe.speculation.wasted) / (probe.speculation.used + probe.speculation.wasted) : null,
        },
      } : {}),
    },
    ...(input.driver ? { benchDriver: driverSection(input.driver, calls) } : {}),
  };
}

function driverSection(d: DriverUsage, calls: number): NonNullable<BenchReport['benchDriver']> {
  return {
    pid: d.pid,
    runs: d.simulators ? 'callers+simulators' : 'callers',
    cpuMsPerCall: calls > 0 ? d.cpuMs / calls : null,
    cpuPercentOfOneCore: d.wallMs > 0 ? (100 * d.cpuMs) / d.wallMs : null,
    rssPeakMB: d.rssPeakMB,
    note: d.simulators
      ? 'the benchmark\'s own process, all its threads: the SIP/RTP callers (its main thread, alone) and the provider simulators (Deepgram, OpenAI; their own worker thread, included in CPU and RSS), not part of the server\'s numbers'
      : 'the benchmark\'s own process: the SIP/RTP callers',
  };
}

function databaseSection(d: DbProbeResult, calls: number): NonNullable<BenchReport['server']['database']> {
  const per = (n: number): number | null => (calls > 0 ? Math.round((n / calls) * 100) / 100 : null);
  return {
    backend: d.backend,
    statements: d.statements,
    transactions: d.transactions,
    statementsPerCall: per(d.statements),
    transactionsPerCall: per(d.transactions),
    statementMs: d.statementMs,
    maxStatementMs: d.maxStatementMs,
    byStatement: d.byStatement.map((b) => ({ ...b, perCall: per(b.count) })),
    stalls: d.stalls,
  };
}
