/**
 * Reads a transcript into tokens that keep their original character offsets,
 * turning spoken numbers into digits on the way: "four one one one" is four
 * number tokens, "twenty seven" one token "27", "double five" one token "55",
 * "nineteen eighty four" two tokens "19" "84", "one oh one" three tokens,
 * "fourteenth" an ordinal 14. Every detector works on these tokens, so a match
 * maps straight back to the original words it came from (token.start/end).
 * Hand-written because no package reads spoken digits in this shape and keeps
 * offsets; it is one linear pass with no regular expressions.
 */
import {
  REPEAT_WORDS, TEEN_ORDINALS, TEEN_WORDS, TENS_ORDINALS, TENS_WORDS, UNIT_ORDINALS, UNIT_WORDS,
  ZERO_LETTER_WORDS,
} from './vocabulary.ts';

export type TokenKind = 'word' | 'number' | 'symbol';

export interface Token {
  kind: TokenKind;
  /** Offsets in the original text (half-open). */
  start: number;
  end: number;
  /** Lower-cased original text (a spoken number keeps its words). */
  lower: string;
  /** For number tokens: the value as digits ("27", "0", "55"); '' otherwise. */
  digits: string;
  /** "14th", "fourteenth". Ordinals never join digit runs. */
  ordinal: boolean;
  /** The number was spoken as words. */
  spoken: boolean;
  /** Whitespace separates this token from the one before. */
  spaceBefore: boolean;
}

const enum CharClass { Space, Letter, Digit, Other }

function classify(c: number): CharClass {
  if (c >= 48 && c <= 57) return CharClass.Digit;
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return CharClass.Letter;
  if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11) return CharClass.Space;
  if (c < 128) return CharClass.Other;
  if (c === 0xa0 || c === 0x2028 || c === 0x2029 || (c >= 0x2000 && c <= 0x200a) || c === 0x3000 || c === 0x202f) return CharClass.Space;
  if (c === 0x2019) return CharClass.Other; // right single quote, handled as an apostrophe below
  return CharClass.Letter;
}

function isOrdinalSuffix(text: string, at: number): boolean {
  const a = text.charCodeAt(at) | 0x20;
  const b = text.charCodeAt(at + 1) | 0x20;
  const ok = (a === 115 && b === 116) || (a === 110 && b === 100) || (a === 114 && b === 100) || (a === 116 && b === 104);
  if (!ok) return false;
  const after = text.charCodeAt(at + 2);
  return Number.isNaN(after) || classify(after) !== CharClass.Letter;
}

/** Split into words, digit runs (with "14th" as an ordinal) and single symbols. */
export function rawTokens(text: string): Token[] {
  const out: Token[] = [];
  const n = text.length;
  let i = 0;
  let space = false;
  while (i < n) {
    const c = text.charCodeAt(i);
    const cls = classify(c);
    if (cls === CharClass.Space) { space = true; i++; continue; }
    const start = i;
    if (cls === CharClass.Letter) {
      i++;
      for (;;) {
        while (i < n && classify(text.charCodeAt(i)) === CharClass.Letter) i++;
        const q = text.charCodeAt(i);
        // an apostrophe inside a word ("it's", "o'clock")
        if ((q === 39 || q === 0x2019) && i + 1 < n && classify(text.charCodeAt(i + 1)) === CharClass.Letter) { i++; continue; }
        break;
      }
      out.push({ kind: 'word', start, end: i, lower: text.slice(start, i).toLowerCase().replace('\u2019', "'"), digits: '', ordinal: false, spoken: false, spaceBefore: space });
    } else if (cls === CharClass.Digit) {
      while (i < n && classify(text.charCodeAt(i)) === CharClass.Digit) i++;
      const digits = text.slice(start, i);
      let ordinal = false;
      if (i + 1 < n && isOrdinalSuffix(text, i)) { ordinal = true; i += 2; }
      out.push({ kind: 'number', start, end: i, lower: text.slice(start, i).toLowerCase(), digits, ordinal, spoken: false, spaceBefore: space });
    } else {
      i++;
      out.push({ kind: 'symbol', start, end: i, lower: text[start]!, digits: '', ordinal: false, spoken: false, spaceBefore: space });
    }
    space = false;
  }
  return out;
}

interface Parsed { value: number; ordinal: boolean; next: number }

const wordAt = (raw: readonly Token[], j: number): string | undefined => {
  const t = raw[j];
  return t !== undefined && t.kind === 'word' ? t.lower : undefined;
};

/** 1..99 (or an ordinal up to 99th) starting at raw[j]. */
function parseBelow100(raw: readonly Token[], j: number): Parsed | null {
  const w = wordAt(raw, j);
  if (w === undefined) return null;
  const unit = UNIT_WORDS.get(w);
  if (unit !== undefined && unit > 0) return { value: unit, ordinal: false, next: j + 1 };
  const unitOrd = UNIT_ORDINALS.get(w);
  if (unitOrd !== undefined) return { value: unitOrd, ordinal: true, next: j + 1 };
  const teen = TEEN_WORDS.get(w) ?? TEEN_ORDINALS.get(w);
  if (teen !== undefined) return { value: teen, ordinal: TEEN_ORDINALS.has(w), next: j + 1 };
  const tensOrd = TENS_ORDINALS.get(w);
  if (tensOrd !== undefined) return { value: tensOrd, ordinal: true, next: j + 1 };
  const tens = TENS_WORDS.get(w);
  if (tens === undefined) return null;
  // "twenty seven", "twenty-seven", "twenty first"
  let k = j + 1;
  if (raw[k]?.kind === 'symbol' && raw[k]!.lower === '-' && !raw[k]!.spaceBefore && raw[k + 1] !== undefined && !raw[k + 1]!.spaceBefore) k++;
  const nw = wordAt(raw, k);
  if (nw !== undefined) {
    const u = UNIT_WORDS.get(nw);
    if (u !== undefined && u > 0) return { value: tens + u, ordinal: false, next: k + 1 };
    const uo = UNIT_ORDINALS.get(nw);
    if (uo !== undefined) return { value: tens + uo, ordinal: true, next: k + 1 };
  }
  return { value: tens, ordinal: false, next: j + 1 };
}

/** A compound number: below100 [hundred [and] below100] [thousand [and] (below1000)]. */
function parseCompound(raw: readonly Token[], j: number): Parsed | null {
  const head = parseBelow100(raw, j);
  if (head === null) return null;
  let { value, next } = head;
  let ordinal = head.ordinal;
  if (ordinal) return head;
  // "one hundred five" is 105, but "eight hundred five five five" is 800 5 5 5:
  // a bare unit after the multiplier joins only when no digit follows it.
  const afterMultiplier = (k: number): Parsed | null => {
    let m = k;
    const and = wordAt(raw, m) === 'and';
    if (and) m++;
    const tail = parseBelow100(raw, m);
    if (tail === null) return null;
    if (!and && tail.value < 10 && !tail.ordinal && isNumericRaw(raw, tail.next)) return null;
    return tail;
  };
  if (wordAt(raw, next) === 'hundred' || wordAt(raw, next) === 'hundredth') {
    ordinal = wordAt(raw, next) === 'hundredth';
    value *= 100;
    next++;
    if (!ordinal) {
      const tail = afterMultiplier(next);
      if (tail !== null) { value += tail.value; ordinal = tail.ordinal; next = tail.next; }
    }
  }
  if (!ordinal && value < 1000 && (wordAt(raw, next) === 'thousand' || wordAt(raw, next) === 'thousandth')) {
    ordinal = wordAt(raw, next) === 'thousandth';
    value *= 1000;
    next++;
    if (!ordinal) {
      let m = next;
      if (wordAt(raw, m) === 'and') m++;
      // "two thousand five" stays 2005 even before more digits: "thousand" is said in years, rarely in phone numbers
      const rest = parseBelow100(raw, m);
      if (rest !== null) {
        let add = rest.value;
        let restNext = rest.next;
        let restOrd = rest.ordinal;
        if (!restOrd && add < 10 && wordAt(raw, restNext) === 'hundred') {
          add *= 100;
          restNext++;
          const tail = afterMultiplier(restNext);
          if (tail !== null) { add += tail.value; restOrd = tail.ordinal; restNext = tail.next; }
        }
        value += add;
        ordinal = restOrd;
        next = restNext;
      }
    }
  }
  return { value, ordinal, next };
}

function isNumericRaw(raw: readonly Token[], j: number): boolean {
  const t = raw[j];
  if (t === undefined) return false;
  if (t.kind === 'number') return !t.ordinal;
  if (t.kind !== 'word') return false;
  const w = t.lower;
  if (UNIT_WORDS.has(w) || TEEN_WORDS.has(w) || TENS_WORDS.has(w)) return true;
  if (REPEAT_WORDS.has(w)) return isNumericRaw(raw, j + 1);
  if (ZERO_LETTER_WORDS.has(w)) {
    // "oh four", "oh oh seven", "oh, four": look past further zeros and pauses
    let k = j + 1;
    while (k < raw.length && k < j + 8 && (ZERO_LETTER_WORDS.has(raw[k]!.lower) || raw[k]!.lower === ',')) k++;
    const n = raw[k];
    return n !== undefined && n.kind !== 'symbol' && (n.kind === 'number' || UNIT_WORDS.has(n.lower) || TEEN_WORDS.has(n.lower) || TENS_WORDS.has(n.lower) || REPEAT_WORDS.has(n.lower));
  }
  return false;
}

function numberToken(raw: readonly Token[], from: number, to: number, text: string, digits: string, ordinal: boolean): Token {
  const first = raw[from]!;
  const last = raw[to - 1]!;
  return {
    kind: 'number', start: first.start, end: last.end,
    lower: to - from === 1 ? first.lower : text.slice(first.start, last.end).toLowerCase(),
    digits, ordinal, spoken: true, spaceBefore: first.spaceBefore,
  };
}

/** Tokens with spoken numbers folded into number tokens. */
export function tokenize(text: string): Token[] {
  const raw = rawTokens(text);
  const out: Token[] = [];
  let j = 0;
  while (j < raw.length) {
    const t = raw[j]!;
    if (t.kind !== 'word') { out.push(t); j++; continue; }
    const w = t.lower;
    const repeat = REPEAT_WORDS.get(w);
    if (repeat !== undefined) {
      const nw = wordAt(raw, j + 1);
      const unit = nw === undefined ? undefined : (UNIT_WORDS.get(nw) ?? (ZERO_LETTER_WORDS.has(nw) ? 0 : undefined));
      if (unit !== undefined) {
        out.push(numberToken(raw, j, j + 2, text, String(unit).repeat(repeat), false));
        j += 2;
        continue;
      }
    }
    if (w === 'zero') { out.push(numberToken(raw, j, j + 1, text, '0', false)); j++; continue; }
    if (ZERO_LETTER_WORDS.has(w)) {
      let prev = out[out.length - 1];
      if (prev?.lower === ',') prev = out[out.length - 2];
      const prevNumeric = prev !== undefined && prev.kind === 'number' && !prev.ordinal;
      if (prevNumeric || isNumericRaw(raw, j + 1)) {
        out.push(numberToken(raw, j, j + 1, text, '0', false));
        j++;
        continue;
      }
    }
    const parsed = parseCompound(raw, j);
    if (parsed !== null) {
      out.push(numberToken(raw, j, parsed.next, text, String(parsed.value), parsed.ordinal));
      j = parsed.next;
      continue;
    }
    out.push(t);
    j++;
  }
  return out;
}
