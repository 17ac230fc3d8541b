/**
 * Turn-taking, barge-in, keypad and call-limit settings of one conversation, read from
 * an agent's `provider_settings` JSON (keys `vad`, `turn`, `bargeIn`, `call`, `keypad`);
 * anything missing takes the defaults below. Invalid values are rejected with
 * a one-line error naming the setting.
 */
import { z } from 'zod';
import { DEFAULT_KEYPAD_SETTINGS, type KeypadSettings } from './keypad-collector.ts';

export interface ConversationSettings {
  vad: { threshold: number; minSpeechMs: number };
  /**
   * End of turn: VAD silence (the hangover) combined with the STT's final; how long to wait for that final.
   * `finalizeAfterMs`: silence after which the STT is asked to finalize (and an answer may be prepared), while the hangover runs.
   */
  turn: { hangoverMs: number; sttFinalTimeoutMs: number; finalizeAfterMs: number };
  bargeIn: {
    enabled: boolean;
    /** Caller speech (VAD) over the agent for this long, with at least one recognised non-backchannel word, interrupts. */
    minSpeechMs: number;
    /** An STT result with this many words (not a backchannel) interrupts at once. */
    minWords: number;
    /** Caller speech this long interrupts even when the STT has recognised nothing yet. */
    maxUnrecognizedMs: number;
    /**
     * This much confidently voiced speech (VAD windows at or over the VAD
     * threshold, hangover excluded) interrupts before any word arrives: real
     * interim results come about once a second, too late to wait for; a
     * backchannel ("mm-hmm": about 0.45 s voiced after the VAD start) stays
     * under it. LiveKit agents interrupt on 0.5 s of VAD speech by default. 0 disables.
     */
    minVoicedMs: number;
  };
  call: {
    /** Say a reprompt after this much silence from both sides; 0 disables. */
    repromptAfterMs: number;
    /** After this many unanswered reprompts the agent says goodbye and hangs up. */
    maxReprompts: number;
    maxDurationMs: number;
    /** Upper bound on waiting for queued agent audio to play out before hanging up. */
    drainTimeoutMs: number;
  };
  /** Keypad (DTMF) input: keys are collected into runs, each run a caller turn. */
  keypad: KeypadSettings;
}

export const DEFAULT_CONVERSATION_SETTINGS: ConversationSettings = {
  vad: { threshold: 0.5, minSpeechMs: 100 },
  turn: { hangoverMs: 200, sttFinalTimeoutMs: 1500, finalizeAfterMs: 120 },
  bargeIn: { enabled: true, minSpeechMs: 300, minWords: 2, maxUnrecognizedMs: 1000, minVoicedMs: 600 },
  call: { repromptAfterMs: 8000, maxReprompts: 2, maxDurationMs: 30 * 60_000, drainTimeoutMs: 30_000 },
  keypad: DEFAULT_KEYPAD_SETTINGS,
};

const ms = z.number().int().min(0).max(24 * 3600_000);
const schema = z.object({
  vad: z.object({
    threshold: z.number().gt(0).lt(1).optional(),
    minSpeechMs: ms.optional(),
    /** Same as turn.hangoverMs (the VAD's minimum silence). */
    minSilenceMs: ms.optional(),
  }).partial().optional(),
  turn: z.object({ hangoverMs: ms.optional(), sttFinalTimeoutMs: ms.optional(), finalizeAfterMs: ms.optional() }).optional(),
  bargeIn: z.object({
    enabled: z.boolean().optional(),
    minSpeechMs: ms.optional(),
    minWords: z.number().int().min(1).max(20).optional(),
    maxUnrecognizedMs: ms.optional(),
    minVoicedMs: ms.optional(),
  }).optional(),
  call: z.object({
    repromptAfterS: z.number().min(0).max(3600).optional(),
    maxReprompts: z.number().int().min(0).max(20).optional(),
    maxDurationS: z.number().positive().max(24 * 3600).optional(),
  }).optional(),
  keypad: z.object({
    interDigitTimeoutMs: z.number().int().min(100).max(60_000).optional(),
    terminator: z.enum(['#', '*', '']).optional(),
    maxKeys: z.number().int().min(1).max(64).optional(),
  }).optional(),
});

export class ConversationSettingsError extends Error {
  override name = 'ConversationSettingsError';
}

/** Settings from an agent's provider_settings (unknown keys, e.g. `stt`/`llm`/`tts`, are ignored). */
export function conversationSettingsFrom(providerSettings: unknown): ConversationSettings {
  const source = typeof providerSettings === 'object' && providerSettings !== null ? providerSettings : {};
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConversationSettingsError(`provider_settings.${issue.path.join('.')}: ${issue.message}`);
  }
  const p = parsed.data;
  const d = DEFAULT_CONVERSATION_SETTINGS;
  return {
    vad: { threshold: p.vad?.threshold ?? d.vad.threshold, minSpeechMs: p.vad?.minSpeechMs ?? d.vad.minSpeechMs },
    turn: {
      hangoverMs: p.turn?.hangoverMs ?? p.vad?.minSilenceMs ?? d.turn.hangoverMs,
      sttFinalTimeoutMs: p.turn?.sttFinalTimeoutMs ?? d.turn.sttFinalTimeoutMs,
      finalizeAfterMs: p.turn?.finalizeAfterMs ?? d.turn.finalizeAfterMs,
    },
    bargeIn: { ...d.bargeIn, ...definedOnly(p.bargeIn ?? {}) },
    call: {
      repromptAfterMs: p.call?.repromptAfterS !== undefined ? Math.round(p.call.repromptAfterS * 1000) : d.call.repromptAfterMs,
      maxReprompts: p.call?.maxReprompts ?? d.call.maxReprompts,
      maxDurationMs: p.call?.maxDurationS !== undefined ? Math.round(p.call.maxDurationS * 1000) : d.call.maxDurationMs,
      drainTimeoutMs: d.call.drainTimeoutMs,
    },
    keypad: { ...d.keypad, ...definedOnly(p.keypad ?? {}) },
  };
}

/** Deep-merges partial overrides (tests, server defaults) over full settings. */
export function mergeSettings(base: ConversationSettings, over: DeepPartial<ConversationSettings> = {}): ConversationSettings {
  return {
    vad: { ...base.vad, ...definedOnly(over.vad ?? {}) },
    turn: { ...base.turn, ...definedOnly(over.turn ?? {}) },
    bargeIn: { ...base.bargeIn, ...definedOnly(over.bargeIn ?? {}) },
    call: { ...base.call, ...definedOnly(over.call ?? {}) },
    keypad: { ...base.keypad, ...definedOnly(over.keypad ?? {}) },
  };
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? Partial<T[K]> : T[K] };

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
