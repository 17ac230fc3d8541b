/**
 * Cuts streaming LLM text into sentences for TTS, so the first sentence can be
 * spoken while the model is still writing the rest. Hand-written: the npm
 * splitters (sbd, sentence-splitter) work on whole texts, not token streams.
 * A sentence ends at . ! ? (or a run of them, with closing quotes) followed by
 * whitespace; decimals ("3.5"), common abbreviations ("Dr.", "e.g.") and
 * initials do not end one. A clause longer than `maxChars` is cut at its last
 * comma or space so TTS never waits on a run-on sentence.
 */

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'mt', 'vs', 'etc', 'e.g', 'i.e', 'approx', 'no', 'inc', 'ltd', 'co']);

export class SentenceSplitter {
  private buffer = '';

  constructor(private readonly maxChars = 220) {}

  /** Adds streamed text; returns the sentences it completed. */
  push(text: string): string[] {
    this.buffer += text;
    const out: string[] = [];
    for (;;) {
      const end = this.findEnd();
      if (end < 0) break;
      const sentence = this.buffer.slice(0, end).trim();
      this.buffer = this.buffer.slice(end);
      if (sentence !== '') out.push(sentence);
    }
    while (this.buffer.length > this.maxChars) {
      const cut = Math.max(this.buffer.lastIndexOf(',', this.maxChars), this.buffer.lastIndexOf(' ', this.maxChars));
      const at = cut > 0 ? cut + 1 : this.maxChars;
      const piece = this.buffer.slice(0, at).trim();
      this.buffer = this.buffer.slice(at);
      if (piece !== '') out.push(piece);
    }
    return out;
  }

  /** The rest, at the end of the stream. */
  flush(): string[] {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest === '' ? [] : [rest];
  }

  /** Index just past the first sentence end followed by whitespace, or -1. */
  private findEnd(): number {
    const re = /[.!?]+["'”’)\]]*(?=\s)/g;
    for (let m = re.exec(this.buffer); m; m = re.exec(this.buffer)) {
      if (m[0].startsWith('.') && m[0].length === 1 && this.isAbbreviation(m.index)) continue;
      return m.index + m[0].length;
    }
    return -1;
  }

  private isAbbreviation(dot: number): boolean {
    const before = /([\p{L}.]+)$/u.exec(this.buffer.slice(0, dot))?.[1] ?? '';
    if (before === '') return false;
    if (/^\p{Lu}$/u.test(before)) return true; // an initial: "J. Smith"
    return ABBREVIATIONS.has(before.toLowerCase());
  }
}

/** Splits a whole text (a greeting, an apology) into sentences. */
export function splitSentences(text: string): string[] {
  const s = new SentenceSplitter();
  return [...s.push(text), ...s.flush()];
}
