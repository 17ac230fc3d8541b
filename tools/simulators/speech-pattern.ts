/**
 * Deterministic stand-in for synthesized speech: one tone burst per word
 * (pitch varies with the word), short gaps between words, and a longer pause
 * after sentence punctuation. Duration scales with text length at roughly a
 * natural speaking rate (about 65 ms per character), so the TTS simulators
 * return audio whose length is plausible for the text.
 */

const MS_PER_CHAR = 65;
const MIN_WORD_MS = 120;
const WORD_GAP_MS = 60;
const SENTENCE_GAP_MS = 250;
const AMPLITUDE = 8000;

/** Duration in ms the pattern for `text` will have. */
export function speechPatternMs(text: string): number {
  let ms = 0;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    ms += Math.max(MIN_WORD_MS, word.length * MS_PER_CHAR) + (/[.!?]$/.test(word) ? SENTENCE_GAP_MS : WORD_GAP_MS);
  }
  return ms;
}

/** Where each word of `text` sounds in its pattern (ms from the start): the known word times of test audio. */
export function speechPatternWords(text: string): Array<{ word: string; startMs: number; endMs: number }> {
  const out: Array<{ word: string; startMs: number; endMs: number }> = [];
  let ms = 0;
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const wordMs = Math.max(MIN_WORD_MS, word.length * MS_PER_CHAR);
    out.push({ word, startMs: ms, endMs: ms + wordMs });
    ms += wordMs + (/[.!?]$/.test(word) ? SENTENCE_GAP_MS : WORD_GAP_MS);
  }
  return out;
}

/** Mono PCM16 at `sampleRate` for `text`. Empty text gives an empty buffer. */
export function synthesizeSpeechPattern(text: string, sampleRate: number): Int16Array {
  const words = text.split(/\s+/).filter(Boolean);
  const total = Math.round((speechPatternMs(text) * sampleRate) / 1000);
  const out = new Int16Array(total);
  let pos = 0;
  for (const word of words) {
    const wordSamples = Math.round((Math.max(MIN_WORD_MS, word.length * MS_PER_CHAR) * sampleRate) / 1000);
    let code = 0;
    for (let i = 0; i < word.length; i++) code = (code * 31 + word.charCodeAt(i)) >>> 0;
    const freq = 140 + (code % 160);
    const ramp = Math.max(1, Math.round(sampleRate * 0.01));
    for (let i = 0; i < wordSamples && pos + i < total; i++) {
      const envelope = Math.min(1, i / ramp, (wordSamples - i) / ramp);
      const t = i / sampleRate;
      const v = Math.sin(2 * Math.PI * freq * t) * 0.7 + Math.sin(2 * Math.PI * freq * 2.5 * t) * 0.3;
      out[pos + i] = Math.round(v * envelope * AMPLITUDE);
    }
    const gapMs = /[.!?]$/.test(word) ? SENTENCE_GAP_MS : WORD_GAP_MS;
    pos += wordSamples + Math.round((gapMs * sampleRate) / 1000);
  }
  return out;
}

/** The bytes of PCM16 samples as little-endian (the wire order of both providers). */
export function pcm16LeBytes(pcm: Int16Array): Buffer {
  const buf = Buffer.allocUnsafe(pcm.length * 2);
  for (let i = 0; i < pcm.length; i++) buf.writeInt16LE(pcm[i] ?? 0, i * 2);
  return buf;
}

/** A 44-byte WAV header for mono PCM16 of unknown length (sizes set to the maximum, as streaming servers do). */
export function streamingWavHeader(sampleRate: number): Buffer {
  const h = Buffer.alloc(44);
  h.write('RIFF', 0, 'ascii');
  h.writeUInt32LE(0xffffffff, 4);
  h.write('WAVE', 8, 'ascii');
  h.write('fmt ', 12, 'ascii');
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(sampleRate, 24);
  h.writeUInt32LE(sampleRate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36, 'ascii');
  h.writeUInt32LE(0xffffffff, 40);
  return h;
}
