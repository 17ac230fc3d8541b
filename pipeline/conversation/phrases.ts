/**
 * The fixed things the agent says outside the model: the apology when a
 * provider fails, the silence reprompt, the goodbye after unanswered
 * reprompts, at the call-duration limit and when the server shuts down. `FallbackVoice` keeps the apology
 * synthesized once per process and sample rate by a local TTS (espeak-ng), so
 * a failing cloud TTS still ends in a spoken apology, never silence.
 */
import type { TextToSpeech } from '../providers/types.ts';

export const APOLOGY = "I'm sorry, I'm having technical difficulties and can't continue this call. Please call back later. Goodbye.";
export const REPROMPT = 'Are you still there?';
export const SILENCE_GOODBYE = "I haven't heard anything, so I'll end the call now. Goodbye.";
export const TIME_LIMIT_GOODBYE = "We've reached the time limit for this call. Thank you for calling. Goodbye.";
/** Said when the server is shutting down and the call outlived the drain deadline (a rolling restart). */
export const SHUTDOWN_GOODBYE = "I'm sorry, I have to end this call now. Please call back in a moment. Goodbye.";

export class FallbackVoice {
  private readonly clips = new Map<string, Promise<Int16Array | undefined>>();

  constructor(readonly tts: TextToSpeech) {}

  /** The clip for `text` at the TTS's own rate; undefined when the local TTS cannot speak. Never rejects. */
  clip(text: string): Promise<Int16Array | undefined> {
    let clip = this.clips.get(text);
    if (!clip) {
      clip = this.synthesize(text);
      this.clips.set(text, clip);
    }
    return clip;
  }

  private async synthesize(text: string): Promise<Int16Array | undefined> {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 10_000);
    try {
      const parts: Int16Array[] = [];
      let total = 0;
      for await (const pcm of this.tts.synthesize(text, { signal: ac.signal })) {
        parts.push(pcm);
        total += pcm.length;
      }
      if (total === 0) return undefined;
      const out = new Int16Array(total);
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    } catch {
      this.clips.delete(text); // try again next time; the caller falls back to hanging up
      return undefined;
    } finally {
      clearTimeout(timer);
    }
  }
}
