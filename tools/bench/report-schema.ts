/**
 * The benchmark's JSON report: one zod schema that is the contract. The
 * documented form is docs/bench-report.md; docs/bench-report.schema.json is
 * generated from this schema (`z.toJSONSchema`, see writeReportJsonSchema).
 * Bump REPORT_VERSION on any change that is not a pure addition of an
 * optional field.
 */
import { z } from 'zod';

export const REPORT_SCHEMA_ID = 'smartalex-bench-report';
export const REPORT_VERSION = 1;
/**
 * Additions within a version (optional fields only). Absent in reports
 * written before it existed, which read as minor 0.
 * 1: minorVersion, config.agent, config.database, server.database, ramp.limits.
 * 2: server.pid, benchDriver. In-process, the callers and the provider
 *    simulators moved to a separate process (the bench driver), so the
 *    server's CPU, RSS and event-loop lag are the server's alone; before
 *    minor 2 they included the callers (a worker thread) and the simulators.
 * 3: soak.rss[].heapUsedMB, soak.heapSlopeMBPerMin, soak.secondHalfSlopeMBPerMin.
 * 4: config.warmupCalls (calls placed and discarded before measuring), config.callerNiceness,
 *    config.mediaThreadNiceness.
 * 5: server.speculation (preemptive answers used and wasted).
 * 6: config.transport (the way in: sip, webrtc or ws; absent: sip, the only one before).
 */
export const REPORT_MINOR_VERSION = 6;

export const summarySchema = z.object({
  count: z.number().int().nonnegative(),
  mean: z.number(),
  min: z.number(),
  p50: z.number(),
  p95: z.number(),
  p99: z.number(),
  max: z.number(),
}).describe('Nearest-rank percentiles over all samples of the run');

export const METRIC_SOURCES = ['caller', 'server-rtcp', 'server-trace', 'server-histogram', 'server-process', 'pcap'] as const;

export const metricSchema = z.object({
  unit: z.enum(['ms', 'MB', 'percent']),
  source: z.enum(METRIC_SOURCES).describe('Where the numbers come from: measured on the wire by the caller, RTCP reports from the server, the server\'s raw per-turn traces, its Prometheus histograms (approximate), its process, or a loopback capture with kernel timestamps (--pcap)'),
  description: z.string(),
  /** Compared by --baseline. */
  tracked: z.boolean(),
  /** Null when nothing was measured (see note). */
  stats: summarySchema.nullable(),
  /** Raw samples (a uniform, repeatable subset when samplesTruncated). */
  samples: z.array(z.number()),
  samplesTruncated: z.boolean(),
  note: z.string().optional(),
});

export const METRIC_NAMES = [
  'e2eMs', 'bargeInStopMs', 'setupInviteToOkMs', 'setupAckToFirstAudioMs',
  'rxPacingJitterMs', 'txPacingJitterMs', 'serverRxJitterMs',
  'endpointingMs', 'sttFinalMs', 'llmTtftMs', 'ttsTtfbMs', 'overheadMs',
  'eventLoopLagMs', 'serverRssMB', 'serverJitterBufferMs', 'serverTxPacingJitterMs',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];

export const AGENT_MODES = ['echo', 'greeting', 'conversation', 'silent', 'unknown'] as const;

const directionSchema = z.object({
  view: z.enum(['caller', 'server-rtcp', 'caller-only']).describe('Who measured it: "server-rtcp" = the server\'s RTCP reports about our stream; "caller-only" = no server report arrived, only what the caller sent is known'),
  packets: z.number().int().nonnegative().describe('Packets sent (caller to server) or received (server to caller)'),
  expected: z.number().int().nonnegative().nullable(),
  lost: z.number().int().nullable(),
  lossPercent: z.number().nullable(),
});

export const reportSchema = z.object({
  schema: z.literal(REPORT_SCHEMA_ID),
  version: z.literal(REPORT_VERSION),
  minorVersion: z.number().int().nonnegative().optional().describe('Optional fields added within this version (absent: 0)'),
  startedAt: z.string().describe('ISO 8601'),
  finishedAt: z.string(),
  durationS: z.number().nonnegative(),
  tool: z.object({ name: z.string(), version: z.string() }),
  machine: z.object({
    cpuModel: z.string(),
    cpus: z.number().int().positive(),
    totalMemMB: z.number().nonnegative(),
    platform: z.string(),
    arch: z.string(),
    nodeVersion: z.string(),
    loadAverage: z.array(z.number()),
  }),
  config: z.object({
    transport: z.enum(['sip', 'webrtc', 'ws']).optional().describe('The way in (--transport, minor 6): SIP/RTP, a WebRTC peer (Opus, DTLS-SRTP), or a Twilio Media Streams client (base64 mu-law over a WebSocket); absent: sip'),
    mode: z.enum(['in-process', 'target']),
    target: z.string(),
    number: z.string(),
    calls: z.number().int().positive(),
    turns: z.number().int().nonnegative(),
    bargeIn: z.boolean(),
    profile: z.enum(['instant', 'typical']).nullable(),
    simulatorLatency: z.record(z.string(), z.number()).nullable(),
    voiceThresholdDbfs: z.number(),
    turnTimeoutMs: z.number().positive(),
    ramp: z.boolean(),
    soakDurationS: z.number().nullable(),
    warmupCalls: z.number().int().nonnegative().optional().describe('calls (one turn each) placed and discarded before the measured window (minor 4)'),
    callerNiceness: z.number().int().optional().describe('nice value of the bench driver\'s callers thread, when set (--caller-nice, minor 4)'),
    mediaThreadNiceness: z.number().int().optional().describe('in-process: the server\'s SMARTALEX_MEDIA_THREAD_NICE, when set (minor 4)'),
    agent: z.enum(['conversation', 'echo']).nullable().optional().describe('In-process: the agent the benchmark called (--agent-mode); null against a target'),
    database: z.enum(['pglite', 'postgres']).nullable().optional().describe('In-process: the server\'s database backend (embedded PGlite, or a Postgres server with --database-url); null against a target'),
  }),
  agentMode: z.enum(AGENT_MODES).describe('What answered, judged from the audio on the wire (not from configuration)'),
  agentModeEvidence: z.string(),
  calls: z.object({
    attempted: z.number().int().nonnegative(),
    answered: z.number().int().nonnegative(),
    completed: z.number().int().nonnegative(),
    failed: z.number().int().nonnegative(),
    failures: z.record(z.string(), z.number().int()),
    turns: z.number().int().nonnegative(),
    turnsReplied: z.number().int().nonnegative(),
    bargeIns: z.number().int().nonnegative(),
    bargeInsStopped: z.number().int().nonnegative(),
  }),
  metrics: z.record(z.enum(METRIC_NAMES), metricSchema),
  rtp: z.object({
    serverToCaller: directionSchema,
    callerToServer: directionSchema,
  }),
  server: z.object({
    inProcess: z.boolean(),
    pid: z.number().int().positive().optional().describe('In-process (since minor 2): the process measured, which holds the server alone (the bench driver is another process, benchDriver.pid)'),
    traces: z.enum(['raw', 'histogram', 'absent']),
    tracesNote: z.string(),
    cpuMsPerCall: z.number().nullable().describe('In-process: CPU (user+system) of the server\'s process during the calls divided by calls, its own worker threads included (e.g. embedded PGlite, VAD inference); since minor 2 without the benchmark\'s callers and simulators (before minor 2 they were included). Null for a remote server'),
    cpuPercentOfOneCore: z.number().nullable().describe('The same CPU over the wall time of the calls, in percent of one core (can exceed 100 with several threads busy)'),
    rssPeakMB: z.number().nullable().describe('Peak resident memory of the server\'s process during the calls (since minor 2 the server alone)'),
    rssPerCallMB: z.number().nullable().describe('(peak RSS during the calls - RSS before) / calls'),
    note: z.string(),
    database: z.object({
      backend: z.enum(['pglite', 'postgres']),
      statements: z.number().int().nonnegative().describe('SQL statements the server ran during the calls (BEGIN/COMMIT not counted)'),
      transactions: z.number().int().nonnegative(),
      statementsPerCall: z.number().nullable(),
      transactionsPerCall: z.number().nullable(),
      statementMs: z.number().nullable().describe('PGlite: sum of statement wall times (it runs on the server\'s thread); null for postgres (not timed)'),
      maxStatementMs: z.number().nullable(),
      byStatement: z.array(z.object({
        statement: z.string().describe('SQL text, whitespace collapsed, first 160 characters'),
        count: z.number().int().nonnegative(),
        perCall: z.number().nullable(),
        totalMs: z.number().nullable(),
        maxMs: z.number().nullable(),
      })).describe('Most frequent statements first (at most 40)'),
      stalls: z.object({
        thresholdMs: z.number(),
        count: z.number().int().nonnegative(),
        withDatabaseWork: z.number().int().nonnegative().describe('Stalls during which a statement was in flight or settled'),
        maxMs: z.number(),
      }).describe('Event-loop gaps over thresholdMs seen by a 5 ms timer, and how many coincided with database work'),
    }).optional(),
    speculation: z.object({
      used: z.number().int().nonnegative().describe('Answers started on the STT final during the VAD hangover that became the reply'),
      wasted: z.number().int().nonnegative().describe('Such answers thrown away because the caller went on: LLM (and TTS) requests the providers still bill'),
      wastedPerCall: z.number().nullable(),
      wastedPercent: z.number().nullable().describe('wasted / (used + wasted), percent'),
    }).optional().describe('Since minor 5, in-process: preemptive generation during the calls (smartalex_speculative_replies_total)'),
  }),
  benchDriver: z.object({
    pid: z.number().int().positive(),
    runs: z.enum(['callers', 'callers+simulators']).describe('What ran in the driver: the SIP/RTP callers, and in-process also the provider simulators'),
    cpuMsPerCall: z.number().nullable().describe('CPU (user+system) of the driver process during the calls divided by calls'),
    cpuPercentOfOneCore: z.number().nullable(),
    rssPeakMB: z.number(),
    note: z.string(),
  }).optional().describe('Since minor 2: the benchmark\'s own process (load generator, and in-process the provider simulators), separate from the server; what the benchmark itself used of the machine'),
  ramp: z.object({
    limits: z.object({ jitterP99Ms: z.number(), lossPercent: z.number(), overheadP99Ms: z.number() }).optional(),
    steps: z.array(z.object({
      calls: z.number().int().positive(),
      rxPacingJitterP99Ms: z.number().nullable(),
      lossPercent: z.number().nullable(),
      overheadP99Ms: z.number().nullable(),
      failed: z.number().int().nonnegative(),
      sustainable: z.boolean(),
      reason: z.string(),
    })),
    maxSustainableCalls: z.number().int().nonnegative(),
    stoppedBecause: z.string(),
  }).optional(),
  soak: z.object({
    durationS: z.number(),
    calls: z.number().int().positive(),
    rss: z.array(z.object({
      tS: z.number(),
      rssMB: z.number(),
      heapUsedMB: z.number().optional().describe('V8 heap in use on the server main thread (minor 3)'),
    })),
    slopeMBPerMin: z.number().nullable().describe('least-squares slope of rssMB over the whole soak'),
    secondHalfSlopeMBPerMin: z.number().nullable().optional().describe('the same over the second half only, after allocators and caches have warmed up (minor 3)'),
    heapSlopeMBPerMin: z.number().nullable().optional().describe('least-squares slope of heapUsedMB over the second half (minor 3): growth here is retained JavaScript objects, a leak'),
  }).optional(),
});

export type BenchReport = z.infer<typeof reportSchema>;
export type MetricEntry = z.infer<typeof metricSchema>;

/** The JSON Schema (draft 2020-12) of the report, as written to docs/bench-report.schema.json. */
export function reportJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(reportSchema, { target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $id: 'https://smartalex.example/schemas/bench-report-v1.json', title: 'SmartAlex bench report', ...schema };
}
