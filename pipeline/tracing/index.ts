/** Latency tracing: per-turn traces in DESIGN.md's vocabulary and their Prometheus histograms. */
export { TurnTimer, type TurnTrace } from './turn-trace.ts';
export { percentileSorted, summarize, type Summary } from './percentiles.ts';
export { latencyMetrics, LATENCY_BUCKETS_MS, type LatencyMetrics } from './metrics.ts';
