/**
 * PCI-safe recordings: the per-agent switch and the shape of one decision.
 *
 * An agent's `provider_settings.pii_audio_redaction` (no new column) turns
 * audio redaction on or off for its recordings: `true` (the default when
 * absent), `false`, or `{ enabled?, holdMs?, padMs? }`. When on, the recorder
 * holds `holdMs` of audio in memory before sealing it, and every redaction
 * decision (a caller turn's PII words, keypad digits, agent speech repeating
 * PII) silences its span, widened by `padMs` on both sides, in both legs.
 * The recording's metadata (a `recording_redactions` call event) lists the
 * silenced spans as type, start and end (ms from the start of the recording),
 * never their content.
 */
import { z } from 'zod';
import type { RedactedType } from '../../pipeline/redact/index.ts';

export interface AudioRedactionSettings {
  enabled: boolean;
  /** Audio held in memory before it is sealed, so decisions reach it first. */
  holdMs: number;
  /** Added before and after every silenced span (word timings are not sample-exact). */
  padMs: number;
}

export const DEFAULT_AUDIO_REDACTION: AudioRedactionSettings = { enabled: true, holdMs: 3000, padMs: 120 };

/** One decision: silence [startMs, endMs) of the call clock (the frames' timeMs) in both legs. */
export interface AudioRedactionSpan {
  /** What was said or typed there (the transcript's tag); never the content. */
  type: RedactedType;
  /** Whose words they were; both legs are silenced whatever the source. */
  source: 'caller' | 'agent' | 'keypad';
  startMs: number;
  endMs: number;
}

/** A silenced span as the recording's metadata lists it: ms from the start of the recording. */
export interface MutedSpan {
  type: RedactedType;
  source: AudioRedactionSpan['source'];
  startMs: number;
  endMs: number;
}

const schema = z.union([
  z.boolean(),
  z.object({
    enabled: z.boolean().optional(),
    holdMs: z.number().int().min(0).max(30_000).optional(),
    padMs: z.number().int().min(0).max(2000).optional(),
  }),
]);

export class AudioRedactionSettingsError extends Error {
  override name = 'AudioRedactionSettingsError';
}

/** The switch from an agent's provider_settings; absent means on with the defaults. */
export function audioRedactionFrom(providerSettings: unknown): AudioRedactionSettings {
  const raw = typeof providerSettings === 'object' && providerSettings !== null
    ? (providerSettings as Record<string, unknown>).pii_audio_redaction
    : undefined;
  if (raw === undefined) return DEFAULT_AUDIO_REDACTION;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AudioRedactionSettingsError(`provider_settings.pii_audio_redaction${issue.path.length ? '.' + issue.path.join('.') : ''}: ${issue.message}`);
  }
  const v = parsed.data;
  if (typeof v === 'boolean') return { ...DEFAULT_AUDIO_REDACTION, enabled: v };
  return {
    enabled: v.enabled ?? DEFAULT_AUDIO_REDACTION.enabled,
    holdMs: v.holdMs ?? DEFAULT_AUDIO_REDACTION.holdMs,
    padMs: v.padMs ?? DEFAULT_AUDIO_REDACTION.padMs,
  };
}
