/**
 * What a conversation leaves on its call record, in numbers and names only
 * (never call content): each agent turn's latency trace as stored with the
 * turn, the call's latency summary over its turns, and what failed.
 */
import { summarize, type TurnTrace } from '../../pipeline/tracing/index.ts';
import type { ProviderFailure } from '../../pipeline/index.ts';

/** A turn's trace as a flat numeric record (the flags as 0/1), for transcript_turns.latency. */
export function traceLatency(trace: TurnTrace): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [key, value] of Object.entries(trace)) {
    if (typeof value === 'number') out[key] = value;
    else if (typeof value === 'boolean') out[key] = value ? 1 : 0;
  }
  return out;
}

export interface StatSummary { p50: number; p95: number; max: number }

export interface CallLatencySummary {
  /** Caller turns the agent answered with a complete trace. */
  turns: number;
  e2eMs: StatSummary | null;
  overheadMs: StatSummary | null;
}

/** p50 / p95 / max (nearest rank) of e2e and overhead over the call's turns, for calls.latency. */
export function latencySummary(traces: readonly TurnTrace[]): CallLatencySummary {
  const stat = (values: number[]): StatSummary | null => {
    if (values.length === 0) return null;
    const s = summarize(values);
    return s ? { p50: s.p50, p95: s.p95, max: s.max } : null;
  };
  return { turns: traces.length, e2eMs: stat(traces.map((t) => t.e2eMs)), overheadMs: stat(traces.map((t) => t.overheadMs)) };
}

/** "<stage>:<provider>", e.g. "llm:openai", for calls.failure. */
export function failureLabel(failure: Pick<ProviderFailure, 'stage' | 'provider'>): string {
  const clean = (s: string): string => s.replace(/[^\w.-]/g, '').slice(0, 40) || 'unknown';
  return `${clean(failure.stage)}:${clean(failure.provider)}`;
}
