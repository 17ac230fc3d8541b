/**
 * The fixed things the agent says outside the model: the apology when a
 * provider fails, the silence reprompt, the goodbye after unanswered
 * reprompts, at the call-duration limit and when the server shuts down. `FallbackVoice` keeps the apology
 * synthesized once (in the phrase cache) by a local TTS (espeak-ng), so a
 * failing cloud TTS still ends in a spoken apology, never silence.
 */
import type { TextToSpeech } from '../providers/types.ts';
import { PhraseCache, synthesizeWhole } from './phrase-cache.ts';

export const APOLOGY = "I'm sorry, I'm having technical difficulties and can't continue this call. Please call back later. Goodbye.";
export const REPROMPT = 'Are you still there?';
export const SILENCE_GOODBYE = "I haven't heard anything, so I'll end the call now. Goodbye.";
export const TIME_LIMIT_GOODBYE = "We've reached the time limit for this call. Thank you for calling. Goodbye.";
/** Said when the server is shutting down and the call outlived the drain deadline (a rolling restart). */
export const SHUTDOWN_GOODBYE = "I'm sorry, I have to end this call now. Please call back in a moment. Goodbye.";

export class FallbackVoice {
  private readonly clips: PhraseCache;

  /** `cache`: the server's phrase cache (default: one of its own). */
  constructor(readonly tts: TextToSpeech, cache?: PhraseCache) {
    this.clips = cache ?? new PhraseCache();
  }

  /** The clip for `text` at the TTS's own rate; undefined when the local TTS cannot speak. Never rejects. */
  clip(text: string): Promise<Int16Array | undefined> {
    const key = { provider: `fallback:${this.tts.name}`, voice: undefined, sampleRate: this.tts.sampleRate, text };
    return this.clips.load(key, () => this.synthesize(text)).catch(() => undefined);
  }

  private async synthesize(text: string): Promise<Int16Array | undefined> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    try {
      return await synthesizeWhole(this.tts, text, { signal: ac.signal });
    } finally {
      clearTimeout(timer);
    }
  }
}
