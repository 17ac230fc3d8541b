/**
 * Which STT, LLM and TTS an agent's calls use. Server-wide keys (config) or
 * the tenant's own keys choose the cloud providers (Deepgram live STT and
 * Aura TTS, OpenAI chat and speech); an agent's `provider_settings`
 * (`{ stt: { provider, model, language }, llm: { provider, model,
 * temperature }, tts: { provider, voice, model } }`) picks among what is
 * available. Without keys the offline providers stand in: pocketsphinx STT
 * when installed, eSpeak NG TTS (the WebAssembly build from npm by default,
 * the Debian espeak-ng program when chosen with `tts.provider: "espeak"` and
 * installed), the scripted LLM.
 *
 * Base URLs come only from the server configuration: an agent setting cannot
 * point the server's API key at another host.
 *
 * Decisions only, no provider code: the operator commands and the API check
 * an agent's settings through this module without loading the providers'
 * SDKs (providers.ts builds the instances for a call).
 */
import { z } from 'zod';
import type { Config } from '../config.ts';
import type { OfflineAvailability } from '../../pipeline/offline/index.ts';

export type ProviderConfig = Pick<Config, 'DEEPGRAM_API_KEY' | 'DEEPGRAM_BASE_URL' | 'OPENAI_API_KEY' | 'OPENAI_BASE_URL' | 'SMARTALEX_LLM_MODEL'>;

/** A tenant's own provider keys (resolved and unsealed by the caller; never logged). */
export interface TenantProviderKeys { deepgramApiKey?: string; openaiApiKey?: string }

export interface ProviderEnvironment {
  config: ProviderConfig;
  offline: OfflineAvailability;
  tenantKeys?: TenantProviderKeys | undefined;
}

const stage = <T extends string>(providers: readonly [T, ...T[]]) =>
  z.object({
    provider: z.enum(providers).optional(),
    model: z.string().min(1).max(100).optional(),
    voice: z.string().min(1).max(100).optional(),
    language: z.string().min(2).max(20).optional(),
    temperature: z.number().min(0).max(2).optional(),
  }).optional();

const settingsSchema = z.object({
  stt: stage(['deepgram', 'pocketsphinx']),
  llm: stage(['openai', 'scripted']),
  tts: stage(['deepgram', 'openai', 'espeak-wasm', 'espeak']),
});

export type SttChoice = { kind: 'deepgram'; model: string; language?: string } | { kind: 'pocketsphinx' } | { kind: 'none' };
export type LlmChoice = { kind: 'openai'; model: string; temperature?: number } | { kind: 'scripted' };
export type TtsChoice = { kind: 'deepgram'; model: string } | { kind: 'openai'; voice: string; model: string } | { kind: 'espeak'; voice: string } | { kind: 'espeak-wasm'; voice: string } | { kind: 'none' };

export interface ProviderChoice {
  stt: SttChoice;
  llm: LlmChoice;
  tts: TtsChoice;
  /** What is missing or degraded, one short line each (never a secret). */
  missing: string[];
}

export class ProviderSettingsError extends Error {
  override name = 'ProviderSettingsError';
}

/** The API keys a call uses: the tenant's own, else the server-wide ones. */
export function providerKeys(env: ProviderEnvironment): { deepgram?: string; openai?: string } {
  const deepgram = env.tenantKeys?.deepgramApiKey ?? env.config.DEEPGRAM_API_KEY;
  const openai = env.tenantKeys?.openaiApiKey ?? env.config.OPENAI_API_KEY;
  return { ...(deepgram ? { deepgram } : {}), ...(openai ? { openai } : {}) };
}

/** The stt / llm / tts part of an agent's provider_settings, checked; ProviderSettingsError names the bad setting. */
export function parseProviderSettings(providerSettings: unknown): z.output<typeof settingsSchema> {
  const raw = typeof providerSettings === 'object' && providerSettings !== null ? providerSettings : {};
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ProviderSettingsError(`provider_settings.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

export function chooseProviders(agent: { providerSettings: unknown }, env: ProviderEnvironment): ProviderChoice {
  const s = parseProviderSettings(agent.providerSettings);
  const k = providerKeys(env);
  const missing: string[] = [];
  const psphinx = env.offline.pocketsphinx.available;
  const espeak = env.offline.espeakNg.available;
  const espeakWasm = env.offline.espeakWasm.available;

  let stt: SttChoice;
  const wantStt = s.stt?.provider ?? (k.deepgram ? 'deepgram' : 'pocketsphinx');
  if (wantStt === 'deepgram' && k.deepgram) {
    stt = { kind: 'deepgram', model: s.stt?.model ?? 'nova-3', ...(s.stt?.language ? { language: s.stt.language } : {}) };
  } else {
    if (wantStt === 'deepgram') missing.push('STT deepgram requested but DEEPGRAM_API_KEY is not set');
    else if (!k.deepgram) missing.push('no DEEPGRAM_API_KEY: offline STT (pocketsphinx, rough on 8 kHz phone audio)');
    stt = psphinx ? { kind: 'pocketsphinx' } : { kind: 'none' };
    if (!psphinx) missing.push(`no STT: ${env.offline.pocketsphinx.reason ?? 'pocketsphinx unavailable'}; callers will not be understood (the agent offers the keypad instead)`);
  }

  let llm: LlmChoice;
  const wantLlm = s.llm?.provider ?? (k.openai ? 'openai' : 'scripted');
  if (wantLlm === 'openai' && k.openai) {
    llm = { kind: 'openai', model: s.llm?.model ?? env.config.SMARTALEX_LLM_MODEL, ...(s.llm?.temperature !== undefined ? { temperature: s.llm.temperature } : {}) };
  } else {
    if (wantLlm === 'openai') missing.push('LLM openai requested but OPENAI_API_KEY is not set');
    else if (!k.openai) missing.push('no OPENAI_API_KEY: scripted agent instead of an LLM');
    llm = { kind: 'scripted' };
  }

  let tts: TtsChoice;
  const wantTts = s.tts?.provider ?? (k.deepgram ? 'deepgram' : k.openai ? 'openai' : 'espeak-wasm');
  if (wantTts === 'deepgram' && k.deepgram) tts = { kind: 'deepgram', model: s.tts?.voice ?? s.tts?.model ?? 'aura-2-thalia-en' };
  else if (wantTts === 'openai' && k.openai) tts = { kind: 'openai', voice: s.tts?.voice ?? 'alloy', model: s.tts?.model ?? 'gpt-4o-mini-tts' };
  else {
    if (wantTts !== 'espeak' && wantTts !== 'espeak-wasm') missing.push(`TTS ${wantTts} requested but its API key is not set`);
    // eSpeak NG either way (same voices): the program when asked for and installed, else the WebAssembly build.
    const voice = (wantTts === 'espeak' || wantTts === 'espeak-wasm') && s.tts?.voice ? s.tts.voice : 'en-us';
    if (wantTts === 'espeak' && espeak) tts = { kind: 'espeak', voice };
    else if (espeakWasm) {
      if (wantTts === 'espeak') missing.push(`TTS espeak requested but ${env.offline.espeakNg.reason ?? 'espeak-ng is unavailable'}; using eSpeak NG (WebAssembly)`);
      tts = { kind: 'espeak-wasm', voice };
    } else if (espeak) tts = { kind: 'espeak', voice };
    else {
      tts = { kind: 'none' };
      missing.push(`no TTS: ${env.offline.espeakWasm.reason ?? 'eSpeak NG (WebAssembly) unavailable'} and ${env.offline.espeakNg.reason ?? 'espeak-ng unavailable'}; conversation calls will be refused`);
    }
  }
  return { stt, llm, tts, missing };
}

/** One line for the start-up report: which providers this agent's calls use and what is missing. */
export function describeProviders(agent: { name: string; providerSettings: unknown }, env: ProviderEnvironment): string {
  let choice: ProviderChoice;
  try {
    choice = chooseProviders(agent, env);
  } catch (error) {
    return `agent "${agent.name}": invalid ${error instanceof Error ? error.message : 'provider settings'}`;
  }
  const stt = choice.stt.kind === 'deepgram' ? `deepgram ${choice.stt.model}` : choice.stt.kind;
  const llm = choice.llm.kind === 'openai' ? `openai ${choice.llm.model}` : 'scripted';
  const tts = choice.tts.kind === 'deepgram' ? `deepgram ${choice.tts.model}` : choice.tts.kind === 'openai' ? `openai ${choice.tts.model}/${choice.tts.voice}` : choice.tts.kind;
  const missing = choice.missing.length > 0 ? `; ${choice.missing.join('; ')}` : '';
  return `agent "${agent.name}": STT ${stt}, LLM ${llm}, TTS ${tts}${missing}`;
}
