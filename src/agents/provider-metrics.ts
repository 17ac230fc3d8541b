/**
 * Per-provider latency on /metrics: smartalex_provider_latency_ms{stage,
 * provider}, one observation per answered turn and stage (STT: VAD stop to
 * the final, LLM: request to first token, TTS: request to first audio byte),
 * labelled with the provider the call's agent used. Failures per provider are
 * smartalex_provider_failures_total{stage,provider} (pipeline/tracing).
 * One histogram per registry.
 */
import { Histogram, type Registry } from 'prom-client';
import { LATENCY_BUCKETS_MS, type TurnTrace } from '../../pipeline/index.ts';

export interface ProviderNames {
  stt: string;
  llm: string;
  tts: string;
}

export type ProviderLatency = (providers: ProviderNames, trace: TurnTrace) => void;

const perRegistry = new WeakMap<Registry, ProviderLatency>();

const STAGES = [['stt', 'sttFinalMs'], ['llm', 'llmTtftMs'], ['tts', 'ttsTtfbMs']] as const;

export function providerLatencyMetrics(registry: Registry): ProviderLatency {
  const existing = perRegistry.get(registry);
  if (existing) return existing;
  const histogram = new Histogram({
    name: 'smartalex_provider_latency_ms',
    help: 'Provider latency per answered turn (ms): STT final after the VAD stop, LLM first token, TTS first byte; by stage and provider',
    labelNames: ['stage', 'provider'] as const,
    buckets: LATENCY_BUCKETS_MS,
    registers: [registry],
  });
  const observe: ProviderLatency = (providers, trace) => {
    for (const [stage, field] of STAGES) histogram.observe({ stage, provider: providers[stage] }, trace[field]);
  };
  perRegistry.set(registry, observe);
  return observe;
}
