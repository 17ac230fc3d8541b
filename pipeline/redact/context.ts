/**
 * Looks for context phrases ("security code", "date of birth") among the
 * tokens around a position. Phrases are matched word by word on the lower-cased
 * original words, so a spoken "three digit code" still reads as words here.
 */
import type { Token } from './tokens.ts';
import type { Phrase } from './vocabulary.ts';

/** "birthday's" -> "birthday", "social's" -> "social". */
function withoutClitic(word: string): string {
  return word.endsWith("'s") ? word.slice(0, -2) : word;
}

/** Index of phrases by their first word, for scanning every token cheaply. */
export class PhraseSet {
  readonly #byFirst = new Map<string, Phrase[]>();

  constructor(phrases: readonly Phrase[]) {
    for (const p of phrases) {
      const first = p[0];
      if (first === undefined) continue;
      const list = this.#byFirst.get(first) ?? [];
      list.push(p);
      list.sort((a, b) => b.length - a.length);
      this.#byFirst.set(first, list);
    }
  }

  /** Length in tokens of the longest phrase starting at tokens[i], or 0. Symbols between words are not allowed. */
  matchAt(tokens: readonly Token[], i: number): number {
    const t = tokens[i];
    if (t === undefined || t.kind === 'symbol') return 0;
    const candidates = this.#byFirst.get(t.lower) ?? this.#byFirst.get(withoutClitic(t.lower));
    if (candidates === undefined) return 0;
    for (const p of candidates) {
      let ok = true;
      for (let k = 1; k < p.length; k++) {
        const u = tokens[i + k];
        if (u === undefined || (u.lower !== p[k] && withoutClitic(u.lower) !== p[k])) { ok = false; break; }
      }
      if (ok) return p.length;
    }
    return 0;
  }

  /** True when a phrase starts within the `window` tokens before `index` (symbols count). */
  before(tokens: readonly Token[], index: number, window: number): boolean {
    for (let i = index - 1; i >= 0 && i >= index - window; i--) {
      if (this.matchAt(tokens, i) > 0) return true;
    }
    return false;
  }
}
