/**
 * Synthesized audio of the fixed phrases an agent says on every call (the AI
 * disclosure, its greeting, reprompts, goodbyes), kept at the call's sample
 * rate so a call's first words leave without a TTS round trip. Shared by all
 * calls of a server; least recently used entries go first beyond the byte
 * budget. Replies the LLM writes are never cached.
 */
export interface PhraseKey {
  provider: string;
  voice: string | undefined;
  sampleRate: number;
  text: string;
}

export class PhraseCache {
  private readonly entries = new Map<string, Int16Array>();
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
