/**
 * Groups number tokens into digit runs: "4111 1111-1111, 1111", "(555)
 * 234-5678", "4111/1111/1111/1111", "four one one one uh one one one one" are each one run. Cards,
 * phone numbers, SSNs and the digits after them are recognised per run, by
 * digit count, grouping and check digits, never by the text between groups.
 */
import type { Token } from './tokens.ts';
import { FILLER_WORDS } from './vocabulary.ts';

export interface DigitRun {
  /** Token indexes of the number tokens, in order. */
  parts: number[];
  /** All digits of the run, concatenated. */
  digits: string;
  /** ends[k] = digit count after parts[k]. */
  ends: number[];
  /** seps[k] describes what lies between parts[k] and parts[k+1]: '' adjacent, ' ' whitespace, else the symbols ("-", ")", ","). */
  seps: string[];
  /** Token index where the span starts (a leading "+", "plus" or "(" is included). */
  lead: number;
  /** Written or spoken with a leading "+"/"plus". */
  plus: boolean;
}

const SEPARATOR_SYMBOLS = new Set(['-', ',', '(', ')', '.', '/', '_']);
/** Symbols that join digits only written tight, inside one number ("555.234.5678", "4111/1111", "4111_1111"). */
const TIGHT_SYMBOLS = new Set(['.', '/', '_']);
const SEPARATOR_WORDS = new Set(['dash', 'hyphen']);

function isRunNumber(t: Token | undefined): boolean {
  return t !== undefined && t.kind === 'number' && !t.ordinal;
}

/** Every maximal digit run in the tokens, left to right. */
export function digitRuns(tokens: readonly Token[]): DigitRun[] {
  const runs: DigitRun[] = [];
  let i = 0;
  while (i < tokens.length) {
    if (!isRunNumber(tokens[i])) { i++; continue; }
    const parts = [i];
    const seps: string[] = [];
    let last = i;
    for (;;) {
      let j = last + 1;
      let sep = '';
      let space = false;
      let skipped = 0;
      while (j < tokens.length && skipped < 3) {
        const t = tokens[j]!;
        if (t.spaceBefore) space = true;
        if (t.kind === 'symbol' && SEPARATOR_SYMBOLS.has(t.lower)) {
          // a full stop, slash or underscore joins digits only inside a written number ("555.234.5678")
          if (TIGHT_SYMBOLS.has(t.lower) && (t.spaceBefore || tokens[j + 1]?.spaceBefore !== false)) break;
          sep += t.lower;
        } else if (t.kind === 'word' && (SEPARATOR_WORDS.has(t.lower) || FILLER_WORDS.has(t.lower))) {
          if (SEPARATOR_WORDS.has(t.lower)) sep += '-';
        } else break;
        j++;
        skipped++;
      }
      const next = tokens[j];
      if (!isRunNumber(next)) break;
      if (next!.spaceBefore) space = true;
      seps.push(sep !== '' ? sep : space ? ' ' : '');
      parts.push(j);
      last = j;
    }
    runs.push(makeRun(tokens, parts, seps));
    i = last + 1;
  }
  return runs;
}

function makeRun(tokens: readonly Token[], parts: number[], seps: string[]): DigitRun {
  let digits = '';
  const ends: number[] = [];
  for (const p of parts) { digits += tokens[p]!.digits; ends.push(digits.length); }
  const first = parts[0]!;
  let lead = first;
  let plus = false;
  const before = tokens[first - 1];
  if (before !== undefined) {
    if (before.kind === 'symbol' && before.lower === '+' && !tokens[first]!.spaceBefore) { lead = first - 1; plus = true; }
    else if (before.kind === 'word' && before.lower === 'plus') { lead = first - 1; plus = true; }
    else if (before.kind === 'symbol' && before.lower === '(' && seps.some((s) => s.includes(')'))) lead = first - 1;
  }
  return { parts, digits, ends, seps, lead, plus };
}

/** The run made of parts[from..to) of `run` (a leading "+"/"(" stays with the first part only). */
export function subRun(tokens: readonly Token[], run: DigitRun, from: number, to: number): DigitRun {
  const sub = makeRun(tokens, run.parts.slice(from, to), run.seps.slice(from, Math.max(from, to - 1)));
  if (from === 0) { sub.lead = run.lead; sub.plus = run.plus; }
  else { sub.lead = sub.parts[0]!; sub.plus = false; }
  return sub;
}

/** Index k such that the first k parts hold exactly `count` digits, or -1. */
export function partsForDigits(run: DigitRun, count: number): number {
  for (let k = 0; k < run.ends.length; k++) {
    if (run.ends[k] === count) return k + 1;
    if (run.ends[k]! > count) return -1;
  }
  return -1;
}

/** Digit lengths of the parts, e.g. [3, 2, 4]. */
export function groupLengths(tokens: readonly Token[], run: DigitRun): number[] {
  return run.parts.map((p) => tokens[p]!.digits.length);
}

/** Original-text span of a run. */
export function runSpan(tokens: readonly Token[], run: DigitRun): { start: number; end: number } {
  return { start: tokens[run.lead]!.start, end: tokens[run.parts[run.parts.length - 1]!]!.end };
}
