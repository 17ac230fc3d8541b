/**
 * Local simulators for the providers (Deepgram live STT, OpenAI chat + speech,
 * Deepgram Aura speak), and `startAllSimulators` which starts them with a
 * latency profile on two hosts, like the real services: Deepgram (STT and TTS
 * on one base URL, deepgram.ts) and OpenAI. The profile is `instant` (no
 * added latency, the kind behaviour) or `typical` (STT final 250 ms, LLM time
 * to first token 400 ms, TTS time to first byte 150 ms, and Deepgram's
 * realistic behaviours: interim results about once a second, no reply to a
 * Finalize with nothing buffered, words finalized before an empty
 * speech_final). Faults (dead sockets, close codes, 429s) are selected per
 * test or bench run through the overrides.
 */
import type { DeepgramLiveSimOptions, DeepgramLiveSimulator } from './deepgram-live.ts';
import type { DeepgramSpeakSimOptions, DeepgramSpeakSimulator } from './deepgram-speak.ts';
import { startDeepgramSimulator, type DeepgramSimulator } from './deepgram.ts';
import { startOpenAiSimulator, type OpenAiSimOptions, type OpenAiSimulator } from './openai-chat.ts';

export * from './deepgram-live.ts';
export * from './deepgram-speak.ts';
export * from './deepgram.ts';
export * from './openai-chat.ts';
export { synthesizeSpeechPattern, speechPatternMs, speechPatternWords } from './speech-pattern.ts';

export type SimulatorProfile = 'instant' | 'typical';

export interface SimulatorLatency {
  /** Deepgram: endpointing used when the client sends none. */
  endpointingMs: number;
  /** Deepgram: delay added before each final result. */
  sttFinalDelayMs: number;
  /** OpenAI chat: time to first token. */
  llmTtftMs: number;
  /** OpenAI chat: tokens per second after the first (0 = unpaced). */
  llmTokensPerSecond: number;
  /** OpenAI and Deepgram TTS: time to first byte. */
  ttsTtfbMs: number;
  /** OpenAI and Deepgram TTS: audio seconds generated per wall second (0 = unpaced). */
  ttsSpeed: number;
}

export const SIMULATOR_PROFILES: Readonly<Record<SimulatorProfile, Readonly<SimulatorLatency>>> = {
  instant: { endpointingMs: 10, sttFinalDelayMs: 0, llmTtftMs: 0, llmTokensPerSecond: 0, ttsTtfbMs: 0, ttsSpeed: 0 },
  typical: { endpointingMs: 300, sttFinalDelayMs: 250, llmTtftMs: 400, llmTokensPerSecond: 60, ttsTtfbMs: 150, ttsSpeed: 4 },
};

/** Deepgram live behaviours per profile (see deepgram-live.ts for what each models). */
export type DeepgramLiveBehaviour = Pick<DeepgramLiveSimOptions, 'interimIntervalMs' | 'finalizeWhenIdle' | 'splitSpeechFinal'>;

export const SIMULATOR_BEHAVIOURS: Readonly<Record<SimulatorProfile, Readonly<DeepgramLiveBehaviour>>> = {
  instant: { interimIntervalMs: 300, finalizeWhenIdle: 'empty', splitSpeechFinal: false },
  typical: { interimIntervalMs: 1000, finalizeWhenIdle: 'silent', splitSpeechFinal: true },
};

export interface AllSimulatorOverrides extends Partial<SimulatorLatency> {
  /** When set, every simulator accepts only this key. */
  apiKey?: string;
  deepgramLive?: Omit<DeepgramLiveSimOptions, 'port'>;
  openai?: Omit<OpenAiSimOptions, 'port'>;
  deepgramSpeak?: Omit<DeepgramSpeakSimOptions, 'port'>;
}

export interface AllSimulators {
  profile: SimulatorProfile;
  latency: SimulatorLatency;
  /** Deepgram STT (/v1/listen) and TTS (/v1/speak) on one base URL: what DEEPGRAM_BASE_URL points at. */
  deepgram: DeepgramSimulator;
  /** The STT side of `deepgram` (same URL), for its stats. */
  deepgramLive: DeepgramLiveSimulator;
  openai: OpenAiSimulator;
  /** The TTS side of `deepgram` (same URL), for its stats. */
  deepgramSpeak: DeepgramSpeakSimulator;
  close(): Promise<void>;
}

/** Starts the Deepgram and OpenAI simulators on ephemeral 127.0.0.1 ports with `profile`'s latency, each knob overridable. */
export async function startAllSimulators(profile: SimulatorProfile = 'instant', overrides: AllSimulatorOverrides = {}): Promise<AllSimulators> {
  const { deepgramLive, openai, deepgramSpeak, apiKey, ...knobs } = overrides;
  const latency: SimulatorLatency = { ...SIMULATOR_PROFILES[profile] };
  for (const [k, v] of Object.entries(knobs)) if (v !== undefined) (latency as unknown as Record<string, number>)[k] = v;
  const key = apiKey === undefined ? {} : { apiKey };
  const started = await Promise.allSettled([
    startDeepgramSimulator({
      live: { ...key, ...SIMULATOR_BEHAVIOURS[profile], endpointingMs: latency.endpointingMs, sttFinalDelayMs: latency.sttFinalDelayMs, ...deepgramLive },
      speak: { ...key, ttsTtfbMs: latency.ttsTtfbMs, ttsSpeed: latency.ttsSpeed, ...deepgramSpeak },
    }),
    startOpenAiSimulator({ ...key, llmTtftMs: latency.llmTtftMs, llmTokensPerSecond: latency.llmTokensPerSecond, ttsTtfbMs: latency.ttsTtfbMs, ttsSpeed: latency.ttsSpeed, ...openai }),
  ]);
  const [dg, oai] = started;
  if (dg.status !== 'fulfilled' || oai.status !== 'fulfilled') {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.close() : undefined)));
    const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    throw failed?.reason instanceof Error ? failed.reason : new Error('a simulator failed to start');
  }
  return {
    profile,
    latency,
    deepgram: dg.value,
    deepgramLive: dg.value.live,
    openai: oai.value,
    deepgramSpeak: dg.value.speak,
    close: async () => {
      await Promise.all([dg.value.close(), oai.value.close()]);
    },
  };
}
