/**
 * The one cache of synthesized fixed phrases: the AI disclosure, greetings,
 * reprompts and goodbyes a conversation says on every call, the local
 * apology clip (FallbackVoice), and the greeting agent's greeting. Audio is
 * kept at the rate it is played at, so a call's first words leave without a
 * TTS round trip. Least recently used entries go first beyond the byte
 * budget. Replies the LLM writes are never cached.
 *
 * Two ways in: `set` stores audio a caller already streamed (the
 * conversation plays a phrase chunk by chunk the first time and stores the
 * whole), `load` synthesizes once for every caller asking at the same time
 * (a failed or empty synthesis is not kept, so the next call tries again).
 */
import type { TextToSpeech } from '../providers/types.ts';

export interface PhraseKey {
  provider: string;
  voice: string | undefined;
  sampleRate: number;
  text: string;
}

export class PhraseCache {
  private readonly entries = new Map<string, Int16Array>();
  /** Syntheses in flight, shared by everyone asking for the same phrase. */
  private readonly loading = new Map<string, Promise<Int16Array | undefined>>();
  private bytes = 0;

  constructor(private readonly maxBytes = 16 * 1024 * 1024) {}

  private static key(k: PhraseKey): string {
    return JSON.stringify([k.provider, k.voice ?? '', k.sampleRate, k.text]);
  }

  get(k: PhraseKey): Int16Array | undefined {
    const key = PhraseCache.key(k);
    const pcm = this.entries.get(key);
    if (pcm) {
      this.entries.delete(key); // most recently used goes last
      this.entries.set(key, pcm);
    }
    return pcm;
  }

  set(k: PhraseKey, pcm: Int16Array): void {
    if (pcm.byteLength === 0 || pcm.byteLength > this.maxBytes) return;
    const key = PhraseCache.key(k);
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.byteLength;
    }
    this.entries.set(key, pcm);
    this.bytes += pcm.byteLength;
    for (const [oldest, value] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= value.byteLength;
    }
  }

  /**
   * The phrase's audio: from the cache, else from `synthesize` (one synthesis
   * for concurrent askers). Undefined when it produced nothing; a rejection
   * is passed on. Neither is cached.
   */
  load(k: PhraseKey, synthesize: () => Promise<Int16Array | undefined>): Promise<Int16Array | undefined> {
    const hit = this.get(k);
    if (hit) return Promise.resolve(hit);
    const key = PhraseCache.key(k);
    const inFlight = this.loading.get(key);
    if (inFlight) return inFlight;
    const job = (async () => {
      try {
        const pcm = await synthesize();
        if (pcm && pcm.length > 0) {
          this.set(k, pcm);
          return pcm;
        }
        return undefined;
      } finally {
        this.loading.delete(key);
      }
    })();
    this.loading.set(key, job);
    return job;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Joins streamed chunks into one buffer. */
export function concatPcm(chunks: readonly Int16Array[]): Int16Array {
  const out = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** All of `text` from `tts` as one buffer at the TTS's own rate. */
export async function synthesizeWhole(tts: TextToSpeech, text: string, opts: { voice?: string; signal: AbortSignal }): Promise<Int16Array> {
  const chunks: Int16Array[] = [];
  for await (const pcm of tts.synthesize(text, opts)) chunks.push(pcm);
  return concatPcm(chunks);
}
