/**
 * What the benchmark learns from inside the server when it runs in-process:
 * per-turn latency traces, CPU (process.cpuUsage deltas), resident memory
 * and event-loop lag (perf_hooks.monitorEventLoopDelay).
 *
 * Traces come from, in order of preference:
 * 1. a raw trace feed: the running server exposes
 *    `onTurnTrace(listener: (trace: TurnTrace) => void): () => void`;
 *    every turn's numbers, exact percentiles;
 * 2. the server's prom-client Registry: histograms named smartalex_turn_*
 *    (endpointing, stt_final, llm_ttft, tts_ttfb, overhead; `_ms` or
 *    `_seconds`), read before and after the run, percentiles interpolated
 *    within buckets like Prometheus' histogram_quantile (approximate);
 * 3. neither: the trace metrics stay empty and the report says why.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { Registry } from 'prom-client';
import type { Summary } from './stats.ts';

export const TRACE_FIELDS = ['endpointingMs', 'sttFinalMs', 'llmTtftMs', 'ttsTtfbMs', 'overheadMs'] as const;
export type TraceField = (typeof TRACE_FIELDS)[number];
export type TurnTrace = Partial<Record<TraceField, number>>;

/** The hook a server can offer for raw per-turn traces. */
export interface TurnTraceFeed {
  onTurnTrace(listener: (trace: TurnTrace) => void): () => void;
}

export interface TraceResult {
  source: 'raw' | 'histogram' | 'absent';
  note: string;
  /** Raw samples per field (source raw). */
  samples: Record<TraceField, number[]>;
  /** Interpolated summaries per field (source histogram). */
  summaries: Partial<Record<TraceField, Summary>>;
}

export interface ProbeResult {
  traces: TraceResult;
  cpuMs: number;
  wallMs: number;
  rssBeforeMB: number;
  rssPeakMB: number;
  eventLoopLag: Summary | undefined;
}

/** The server side of a benchmark run. */
export interface ServerProbe {
  readonly inProcess: boolean;
  /** Marks the start of the measured window. */
  start(): Promise<void>;
  /** Resident memory now, in MB. */
  rssMB(): number;
  /** Ends the window and returns what was seen in it. */
  stop(): Promise<ProbeResult>;
}

const HISTOGRAM_NAMES: Record<TraceField, RegExp> = {
  endpointingMs: /^smartalex_turn_endpointing(_ms|_milliseconds|_seconds)?$/,
  sttFinalMs: /^smartalex_turn_stt_final(_ms|_milliseconds|_seconds)?$/,
  llmTtftMs: /^smartalex_turn_llm_ttft(_ms|_milliseconds|_seconds)?$/,
  ttsTtfbMs: /^smartalex_turn_tts_ttfb(_ms|_milliseconds|_seconds)?$/,
  overheadMs: /^smartalex_turn_overhead(_ms|_milliseconds|_seconds)?$/,
};

interface HistogramSnapshot {
  /** Upper bounds (ms) and cumulative counts, summed over label sets; +Inf last. */
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

const MB = 1024 * 1024;
const LAG_RESOLUTION_MS = 10;

function emptySamples(): Record<TraceField, number[]> {
  return { endpointingMs: [], sttFinalMs: [], llmTtftMs: [], ttsTtfbMs: [], overheadMs: [] };
}

export function isTurnTraceFeed(value: unknown): value is TurnTraceFeed {
  return typeof value === 'object' && value !== null && typeof (value as { onTurnTrace?: unknown }).onTurnTrace === 'function';
}

export class InProcessProbe implements ServerProbe {
  readonly inProcess = true;
  private lag: IntervalHistogram | undefined;
  private cpuStart: NodeJS.CpuUsage | undefined;
  private wallStart = 0;
  private rssBefore = 0;
  private rssPeak = 0;
  private rssTimer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private raw = emptySamples();
  private rawCount = 0;
  private histogramsBefore: Partial<Record<TraceField, HistogramSnapshot>> = {};

  constructor(private readonly source: { metrics?: Registry; feed?: TurnTraceFeed } = {}) {}

  async start(): Promise<void> {
    this.raw = emptySamples();
    this.rawCount = 0;
    this.unsubscribe = this.source.feed?.onTurnTrace((trace) => {
      this.rawCount++;
      for (const f of TRACE_FIELDS) {
        const v = trace[f];
        if (typeof v === 'number' && Number.isFinite(v)) this.raw[f].push(v);
      }
    });
    this.histogramsBefore = this.source.metrics ? await readTraceHistograms(this.source.metrics) : {};
    this.lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.lag.enable();
    this.rssBefore = process.memoryUsage.rss() / MB;
    this.rssPeak = this.rssBefore;
    this.rssTimer = setInterval(() => { this.rssMB(); }, 1000);
    this.rssTimer.unref();
    this.cpuStart = process.cpuUsage();
    this.wallStart = performance.now();
  }

  rssMB(): number {
    const rss = process.memoryUsage.rss() / MB;
    if (rss > this.rssPeak) this.rssPeak = rss;
    return rss;
  }

  async stop(): Promise<ProbeResult> {
    const cpu = process.cpuUsage(this.cpuStart);
    const wallMs = performance.now() - this.wallStart;
    this.rssMB();
    if (this.rssTimer) clearInterval(this.rssTimer);
    this.unsubscribe?.();
    const lag = this.lag;
    lag?.disable();
    // The histogram records each sampling interval whole (resolution included): the lag is what exceeds it.
    const ms = (ns: number): number => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
    const eventLoopLag: Summary | undefined = lag && lag.count > 0 ? {
      count: lag.count, mean: ms(lag.mean), min: ms(lag.min), p50: ms(lag.percentile(50)), p95: ms(lag.percentile(95)),
      p99: ms(lag.percentile(99)), max: ms(lag.max),
    } : undefined;
    return {
      traces: await this.traces(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
      rssBeforeMB: this.rssBefore,
      rssPeakMB: this.rssPeak,
      eventLoopLag,
    };
  }

  private async traces(): Promise<TraceResult> {
    if (this.source.feed) {
      return { source: 'raw', note: `${this.rawCount} per-turn traces from the server's trace feed`, samples: this.raw, summaries: {} };
    }
    if (this.source.metrics) {
      const after = await readTraceHistograms(this.source.metrics);
      const summaries: Partial<Record<TraceField, Summary>> = {};
      for (const f of TRACE_FIELDS) {
        const a = after[f];
        if (!a) continue;
        const s = summarizeHistogramDelta(this.histogramsBefore[f], a);
        if (s) summaries[f] = s;
      }
      if (Object.keys(after).length > 0) {
        return {
          source: 'histogram', samples: emptySamples(), summaries,
          note: 'from the server\'s Prometheus histograms: percentiles interpolated within buckets (approximate), no raw samples',
        };
      }
      return { source: 'absent', samples: emptySamples(), summaries: {}, note: 'the server exports no smartalex_turn_* histograms yet (conversation pipeline not wired)' };
    }
    return { source: 'absent', samples: emptySamples(), summaries: {}, note: 'no server probe: traces need the in-process server' };
  }
}

/** Reads the smartalex_turn_* histograms (summed over labels), in ms. */
export async function readTraceHistograms(registry: Registry): Promise<Partial<Record<TraceField, HistogramSnapshot>>> {
  const out: Partial<Record<TraceField, HistogramSnapshot>> = {};
  const all = await registry.getMetricsAsJSON();
  for (const metric of all) {
    if (String(metric.type) !== 'histogram') continue;
    const field = TRACE_FIELDS.find((f) => HISTOGRAM_NAMES[f].test(metric.name));
    if (!field) continue;
    const scale = metric.name.endsWith('_seconds') ? 1000 : 1;
    const byLe = new Map<number, number>();
    let sum = 0;
    let count = 0;
    for (const v of metric.values as Array<{ value: number; labels: Record<string, string | number>; metricName?: string }>) {
      const name = v.metricName ?? '';
      if (name.endsWith('_bucket')) {
        const le = v.labels.le === '+Inf' ? Infinity : Number(v.labels.le) * scale;
        byLe.set(le, (byLe.get(le) ?? 0) + v.value);
      } else if (name.endsWith('_sum')) sum += v.value * scale;
      else if (name.endsWith('_count')) count += v.value;
    }
    const buckets = [...byLe.entries()].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c }));
    out[field] = { buckets, sum, count };
  }
  return out;
}

/** Summary of the observations made between two snapshots of one histogram. */
export function summarizeHistogramDelta(before: HistogramSnapshot | undefined, after: HistogramSnapshot): Summary | undefined {
  const count = after.count - (before?.count ?? 0);
  if (count <= 0) return undefined;
  const prior = new Map((before?.buckets ?? []).map((b) => [b.le, b.count]));
  const buckets = after.buckets.map((b) => ({ le: b.le, count: b.count - (prior.get(b.le) ?? 0) }));
  const finite = buckets.filter((b) => Number.isFinite(b.le));
  const quantile = (q: number): number => {
    const rank = q * count;
    let lower = 0;
    let prev = 0;
    for (const b of buckets) {
      if (b.count >= rank) {
        if (!Number.isFinite(b.le)) return finite[finite.length - 1]?.le ?? lower;
        const inBucket = b.count - prev;
        return inBucket <= 0 ? b.le : lower + ((b.le - lower) * (rank - prev)) / inBucket;
      }
      lower = Number.isFinite(b.le) ? b.le : lower;
      prev = b.count;
    }
    return lower;
  };
  const firstNonEmpty = buckets.findIndex((b) => b.count > 0);
  const lastEdge = buckets.find((b) => b.count >= count);
  return {
    count,
    mean: (after.sum - (before?.sum ?? 0)) / count,
    min: firstNonEmpty <= 0 ? 0 : buckets[firstNonEmpty - 1]!.le,
    p50: quantile(0.5),
    p95: quantile(0.95),
    p99: quantile(0.99),
    max: lastEdge && Number.isFinite(lastEdge.le) ? lastEdge.le : finite[finite.length - 1]?.le ?? 0,
  };
}
