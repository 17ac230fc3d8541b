/**
 * Prometheus histograms of turn latency (prom-client), registered on the
 * server's Registry and exported at GET /metrics: smartalex_turn_e2e_ms,
 * smartalex_turn_overhead_ms, smartalex_turn_endpointing_ms,
 * smartalex_turn_stt_final_ms, smartalex_turn_llm_ttft_ms,
 * smartalex_turn_tts_ttfb_ms, a counter of provider failures by stage, and
 * smartalex_speculative_replies_total{outcome=used|wasted} (preemptive answers).
 * One set per Registry: asking twice returns the same set.
 */
import { Counter, Histogram, type Registry } from 'prom-client';
import type { TurnTrace } from './turn-trace.ts';

export const LATENCY_BUCKETS_MS = [5, 10, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000];

export interface LatencyMetrics {
  observe(trace: TurnTrace): void;
  failure(stage: string, provider: string): void;
  /** An answer started before the turn was over: used as the reply, or wasted (the caller went on; the provider still bills it). */
  speculation?(outcome: 'used' | 'wasted'): void;
}

const perRegistry = new WeakMap<Registry, LatencyMetrics>();

const FIELDS = [
  ['e2eMs', 'smartalex_turn_e2e_ms', 'End of caller speech to the first agent audio sent, per turn (ms)'],
  ['overheadMs', 'smartalex_turn_overhead_ms', 'Turn latency added by this server: e2e minus provider time, hangover included (ms)'],
  ['endpointingMs', 'smartalex_turn_endpointing_ms', 'End of speech to the VAD deciding the caller stopped (ms)'],
  ['sttFinalMs', 'smartalex_turn_stt_final_ms', 'VAD stop to the STT final that closed the turn (ms)'],
  ['llmTtftMs', 'smartalex_turn_llm_ttft_ms', 'LLM request to first token (ms)'],
  ['ttsTtfbMs', 'smartalex_turn_tts_ttfb_ms', 'TTS request to first audio byte (ms)'],
] as const;

export function latencyMetrics(registry: Registry): LatencyMetrics {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const histograms = FIELDS.map(([field, name, help]) => ({
    field,
    histogram: new Histogram({ name, help, buckets: LATENCY_BUCKETS_MS, registers: [registry] }),
  }));
  const failures = new Counter({
    name: 'smartalex_provider_failures_total',
    help: 'Provider failures that ended a call, by pipeline stage and provider',
    labelNames: ['stage', 'provider'] as const,
    registers: [registry],
  });
  const speculative = new Counter({
    name: 'smartalex_speculative_replies_total',
    help: 'Answers started on the STT final before the VAD hangover ended, by outcome (used, or wasted because the caller went on)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const metrics: LatencyMetrics = {
    observe(trace) {
      for (const { field, histogram } of histograms) histogram.observe(trace[field]);
    },
    failure(stage, provider) {
      failures.inc({ stage, provider });
    },
    speculation(outcome) {
      speculative.inc({ outcome });
    },
  };
  perRegistry.set(registry, metrics);
  return metrics;
}
