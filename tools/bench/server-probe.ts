/**
 * What the benchmark learns from inside the server when it runs in-process:
 * per-turn latency traces, CPU (process.cpuUsage deltas), resident memory,
 * event-loop lag (perf_hooks.monitorEventLoopDelay) and the database's work
 * (db-probe.ts).
 *
 * CPU and RSS are process-wide, and lag is this process's main thread: they
 * are the server's own because the callers and the provider simulators run
 * in the bench driver, a separate process (driver.ts). They include the
 * server's own worker threads (e.g. the embedded PGlite database, VAD
 * inference); a Postgres server (--database-url) is outside them.
 *
 * Traces come from the running server's raw feed,
 * `RunningServer.onTurnTrace(listener) => unsubscribe` (src/server.ts): every
 * finished turn's numbers, so percentiles are exact. Without a feed (no
 * in-process server) the trace metrics stay empty and the report says why.
 */
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { jitterBufferDepthMs } from '../../media/rtp/jitter-buffer.ts';
import type { RtpSessionStats } from '../../media/rtp/session.ts';
import type { DbProbe, DbProbeResult } from './db-probe.ts';
import type { Summary } from './stats.ts';

export const TRACE_FIELDS = ['endpointingMs', 'sttFinalMs', 'llmTtftMs', 'ttsTtfbMs', 'overheadMs'] as const;
export type TraceField = (typeof TRACE_FIELDS)[number];
export type TurnTrace = Partial<Record<TraceField, number>>;

/** A call as the server's CallManager reports it: its RTP stream's stats (final once it ended). */
/** A call as the server's events give it; `rtp` only on a SIP call (a media stream or WebRTC call has no RTP leg). */
export interface EndedCall { callId: string; rtp?: { stats: RtpSessionStats } }
/** The server's call events (CallManager). */
export interface CallEndFeed {
  on(event: 'call-started' | 'call-ended', listener: (call: EndedCall) => void): unknown;
  off(event: 'call-started' | 'call-ended', listener: (call: EndedCall) => void): unknown;
}

/** The hook a server can offer for raw per-turn traces. */
export interface TurnTraceFeed {
  onTurnTrace(listener: (trace: TurnTrace) => void): () => void;
}

export interface TraceResult {
  source: 'raw' | 'absent';
  note: string;
  /** Raw samples per field (source raw). */
  samples: Record<TraceField, number[]>;
}

export interface ProbeResult {
  /** The measured process: the server's. */
  pid: number;
  traces: TraceResult;
  cpuMs: number;
  wallMs: number;
  rssBeforeMB: number;
  rssPeakMB: number;
  eventLoopLag: Summary | undefined;
  /** The in-process server's database work in the window, when probed. */
  database?: DbProbeResult;
  /** Answers started before the caller's turn was over (preemptive generation), used or wasted, in the window. */
  speculation?: SpeculationTally;
  /** Mean receive jitter-buffer depth of each call that ended in the window (ms), and the peak over them. */
  jitterBufferMs?: number[];
  jitterBufferPeakMs?: number;
}

export interface SpeculationTally { used: number; wasted: number }

/** The server side of a benchmark run. */
export interface ServerProbe {
  readonly inProcess: boolean;
  /**
   * Waits, at most `timeoutMs`, until the server has no call in progress, so the calls before a window (the
   * warm-up's, a ramp's previous step's) finish their hang-up (the agent's last words, the call record's final
   * writes) outside it. Resolves with the calls still in progress: 0 when the server settled.
   */
  settle(timeoutMs: number): Promise<number>;
  /** Marks the start of the measured window. */
  start(): Promise<void>;
  /** Resident memory now, in MB. */
  rssMB(): number;
  /** The main thread's V8 heap in use now, in MB. */
  heapUsedMB(): number;
  /** Ends the window and returns what was seen in it. */
  stop(): Promise<ProbeResult>;
}

const MB = 1024 * 1024;
const LAG_RESOLUTION_MS = 10;
const SETTLE_POLL_MS = 20;

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

  private speculationBefore: SpeculationTally | undefined;
  private depths: number[] = [];
  private depthPeak = 0;
  /** Calls that started in the window and have not ended: at stop() their stats so far are taken. */
  private readonly live = new Set<EndedCall>();
  private readonly onCallStarted = (call: EndedCall): void => { this.live.add(call); };
  private readonly onCallEnded = (call: EndedCall): void => {
    if (this.live.delete(call)) this.takeDepth(call);
  };

  /**
   * `speculation`: reads the server's running totals (smartalex_speculative_replies_total). `busy`: the server's
   * calls in progress and recordings still being sealed (what `settle` waits for).
   */
  constructor(private readonly source: {
    feed?: TurnTraceFeed; db?: DbProbe; speculation?: () => Promise<SpeculationTally>; calls?: CallEndFeed; busy?: () => number;
  } = {}) {}

  async settle(timeoutMs: number): Promise<number> {
    const busy = this.source.busy;
    if (!busy) return 0;
    const deadline = performance.now() + timeoutMs;
    while (busy() > 0 && performance.now() < deadline) await delay(SETTLE_POLL_MS);
    return busy();
  }

  async start(): Promise<void> {
    this.speculationBefore = await this.source.speculation?.();
    this.raw = emptySamples();
    this.rawCount = 0;
    this.unsubscribe = this.source.feed?.onTurnTrace((trace) => {
      this.rawCount++;
      for (const f of TRACE_FIELDS) {
        const v = trace[f];
        if (typeof v === 'number' && Number.isFinite(v)) this.raw[f].push(v);
      }
    });
    this.source.db?.start();
    this.depths = [];
    this.depthPeak = 0;
    this.live.clear();
    this.source.calls?.on('call-started', this.onCallStarted);
    this.source.calls?.on('call-ended', this.onCallEnded);
    this.lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
    this.lag.enable();
    this.rssBefore = process.memoryUsage.rss() / MB;
    this.rssPeak = this.rssBefore;
    this.rssTimer = setInterval(() => { this.rssMB(); }, 1000);
    this.rssTimer.unref();
    this.cpuStart = process.cpuUsage();
    this.wallStart = performance.now();
  }

  heapUsedMB(): number {
    return process.memoryUsage().heapUsed / MB;
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
    this.source.calls?.off('call-started', this.onCallStarted);
    this.source.calls?.off('call-ended', this.onCallEnded);
    for (const call of this.live) this.takeDepth(call); // still hanging up: its stats so far
    this.live.clear();
    const lag = this.lag;
    lag?.disable();
    // The histogram records each sampling interval whole (resolution included): the lag is what exceeds it.
    const ms = (ns: number): number => Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS);
    const eventLoopLag: Summary | undefined = lag && lag.count > 0 ? {
      count: lag.count, mean: ms(lag.mean), min: ms(lag.min), p50: ms(lag.percentile(50)), p95: ms(lag.percentile(95)),
      p99: ms(lag.percentile(99)), max: ms(lag.max),
    } : undefined;
    const database = this.source.db?.stop();
    const before = this.speculationBefore;
    const after = before ? await this.source.speculation?.() : undefined;
    const speculation = before && after ? { used: after.used - before.used, wasted: after.wasted - before.wasted } : undefined;
    return {
      ...(database ? { database } : {}),
      ...(speculation ? { speculation } : {}),
      ...(this.source.calls ? { jitterBufferMs: this.depths, jitterBufferPeakMs: this.depthPeak } : {}),
      pid: process.pid,
      traces: this.traces(),
      cpuMs: (cpu.user + cpu.system) / 1000,
      wallMs,
      rssBeforeMB: this.rssBefore,
      rssPeakMB: this.rssPeak,
      eventLoopLag,
    };
  }

  private takeDepth(call: EndedCall): void {
    if (!call.rtp) return;
    const d = jitterBufferDepthMs(call.rtp.stats.jitterBuffer);
    this.depths.push(d.meanMs);
    if (d.peakMs > this.depthPeak) this.depthPeak = d.peakMs;
  }

  private traces(): TraceResult {
    if (this.source.feed) {
      return { source: 'raw', note: `${this.rawCount} per-turn traces from the server's trace feed (RunningServer.onTurnTrace)`, samples: this.raw };
    }
    return { source: 'absent', samples: emptySamples(), note: 'no trace feed: traces need the in-process server' };
  }
}
