/**
 * Dates announced by context: a card expiry after "expires"/"exp"/"valid
 * thru" ("04/27", "oh four twenty seven", "april twenty twenty seven") and a
 * date of birth after "born"/"date of birth"/"DOB"/"birthday" ("03/14/1984",
 * "March 14th, 1984", "the fourteenth of march nineteen eighty four", "oh three
 * fourteen eighty four"). Dates without such context are left alone: "see you
 * on March 3rd" is not personal data.
 */
import { PhraseSet } from './context.ts';
import type { Token } from './tokens.ts';
import type { EntityType, PiiSpan } from './types.ts';
import { DOB_CONTEXT, EXPIRY_CONTEXT, FILLER_WORDS, LEAD_IN_WORDS, MONTHS } from './vocabulary.ts';

const expiryContext = new PhraseSet(EXPIRY_CONTEXT);
const dobContext = new PhraseSet(DOB_CONTEXT);

const isNum = (t: Token | undefined): t is Token => t !== undefined && t.kind === 'number';
const isPlainNum = (t: Token | undefined): t is Token => isNum(t) && !t.ordinal;
const isSym = (t: Token | undefined, chars: string): boolean => t !== undefined && t.kind === 'symbol' && chars.includes(t.lower);
const isWord = (t: Token | undefined, w: string): boolean => t !== undefined && t.kind === 'word' && t.lower === w;

/** A year starting at j: "1984", "19 84", "20 0 5" ("twenty oh five"), or (when allowed) "84". Returns the index after it. */
function parseYear(tokens: readonly Token[], j: number, allowTwoDigit: boolean): number {
  let k = j;
  if (isSym(tokens[k], "'\u2019")) k++;
  const t = tokens[k];
  if (!isPlainNum(t)) return -1;
  const d = t.digits;
  if (d.length === 4 && (d.startsWith('19') || d.startsWith('20'))) return k + 1;
  if ((d === '19' || d === '20') && t.spoken) {
    const n = tokens[k + 1];
    if (isPlainNum(n) && n.spoken && n.digits.length === 2) return k + 2;
    if (isPlainNum(n) && n.digits === '0' && isPlainNum(tokens[k + 2]) && tokens[k + 2]!.digits.length === 1) return k + 3;
  }
  if (allowTwoDigit && d.length === 2) return k + 1;
  if (allowTwoDigit && d === '0' && isPlainNum(tokens[k + 1]) && tokens[k + 1]!.digits.length === 1) return k + 2; // "oh five"
  return -1;
}

function dayValue(t: Token | undefined): boolean {
  if (!isNum(t) || t.digits.length > 2) return false;
  const v = Number(t.digits);
  return v >= 1 && v <= 31;
}

function monthAt(tokens: readonly Token[], j: number): number {
  const t = tokens[j];
  if (t === undefined || t.kind !== 'word' || !MONTHS.has(t.lower)) return -1;
  return isSym(tokens[j + 1], '.') ? j + 2 : j + 1;
}

const skipWords = (tokens: readonly Token[], j: number, words: string[]): number => {
  let k = j;
  while (k < tokens.length && ((tokens[k]!.kind === 'word' && words.includes(tokens[k]!.lower)) || isSym(tokens[k], ','))) k++;
  return k;
};

/** "April 2027", "april twenty seven", "april of twenty twenty seven" (year required). */
function monthYear(tokens: readonly Token[], j: number): number {
  const m = monthAt(tokens, j);
  if (m < 0) return -1;
  return parseYear(tokens, skipWords(tokens, m, ['of']), true);
}

/** "March 14th, 1984", "March the fourteenth", "14 March 1984", "the fourth of July nineteen seventy six". */
function namedDate(tokens: readonly Token[], j: number): number {
  const m = monthAt(tokens, j);
  if (m >= 0) {
    const d = skipWords(tokens, m, ['the']);
    if (!dayValue(tokens[d])) return parseYear(tokens, skipWords(tokens, m, ['of']), false);
    const y = parseYear(tokens, skipWords(tokens, d + 1, ['of']), true);
    return y > 0 ? y : d + 1;
  }
  const d = skipWords(tokens, j, ['the']);
  if (!dayValue(tokens[d])) return -1;
  const m2 = monthAt(tokens, skipWords(tokens, d + 1, ['of']));
  if (m2 < 0) return -1;
  const y = parseYear(tokens, skipWords(tokens, m2, ['of']), true);
  return y > 0 ? y : m2;
}

/** Number groups joined by "/", "-" or "." from j: returns the group tokens (up to `max`). */
function slashGroups(tokens: readonly Token[], j: number, max: number): number[] {
  const groups: number[] = [];
  let k = j;
  while (groups.length < max && isPlainNum(tokens[k])) {
    groups.push(k);
    if (isSym(tokens[k + 1], '/-.') && isPlainNum(tokens[k + 2]) && !tokens[k + 1]!.spaceBefore && !tokens[k + 2]!.spaceBefore) k += 2;
    else break;
  }
  return groups;
}

/** Consecutive number tokens separated only by spaces or commas. */
function spokenGroups(tokens: readonly Token[], j: number, max: number): number[] {
  const groups: number[] = [];
  let k = j;
  while (groups.length < max && isPlainNum(tokens[k])) {
    groups.push(k);
    let n = k + 1;
    while (isSym(tokens[n], ',') || (tokens[n]?.kind === 'word' && FILLER_WORDS.has(tokens[n]!.lower))) n++;
    k = n;
  }
  return groups;
}

const month = (s: string): boolean => { const v = Number(s); return s.length > 0 && v >= 1 && v <= 12; };
const day = (s: string): boolean => { const v = Number(s); return s.length > 0 && v >= 1 && v <= 31; };
const year4 = (s: string): boolean => s.length === 4 && (s.startsWith('19') || s.startsWith('20'));

/** A date of birth as a digit string, split every way a speaker might run it together. */
function birthDigits(d: string): boolean {
  const splits: Array<[number, number]> = [];
  if (d.length === 8) splits.push([2, 2], [4, 2]);
  else if (d.length === 7) splits.push([1, 2], [2, 1]);
  else if (d.length === 6) splits.push([2, 2], [1, 1]);
  else if (d.length === 5) splits.push([1, 2], [2, 1]);
  else if (d.length === 4) splits.push([1, 1]);
  for (const [a, b] of splits) {
    const p = d.slice(0, a);
    const q = d.slice(a, a + b);
    const y = d.slice(a + b);
    if (d.length === 8 && a === 4) {
      if (year4(p) && month(d.slice(4, 6)) && day(d.slice(6))) return true;
      continue;
    }
    if (y.length === 3) continue;
    if (y.length === 4 && !year4(y)) continue;
    if ((month(p) && day(q)) || (day(p) && month(q))) return true;
  }
  return false;
}

function dateOfBirth(tokens: readonly Token[], j: number): number {
  const named = namedDate(tokens, j);
  if (named > 0) return named;
  const slashed = slashGroups(tokens, j, 3);
  if (slashed.length === 3) {
    const [a, b, c] = slashed.map((k) => tokens[k]!.digits) as [string, string, string];
    const ok = (year4(a) && month(b) && day(c)) || ((month(a) && day(b)) || (day(a) && month(b))) && (c.length === 2 || year4(c));
    return ok ? slashed[2]! + 1 : -1;
  }
  const spoken = spokenGroups(tokens, j, 5);
  let digits = '';
  let best = -1;
  for (const k of spoken) {
    digits += tokens[k]!.digits;
    if (digits.length >= 4 && birthDigits(digits)) best = k + 1;
  }
  if (best > 0) return best;
  return parseYear(tokens, j, false); // "born in 1984"
}

function expiry(tokens: readonly Token[], j: number): number {
  const named = monthYear(tokens, j);
  if (named > 0) return named;
  const slashed = slashGroups(tokens, j, 2);
  if (slashed.length === 2) {
    const [a, b] = slashed.map((k) => tokens[k]!.digits) as [string, string];
    return month(a) && (b.length === 2 || year4(b)) ? slashed[1]! + 1 : -1;
  }
  const spoken = spokenGroups(tokens, j, 4);
  let digits = '';
  let best = -1;
  for (const k of spoken) {
    digits += tokens[k]!.digits;
    const ok = (digits.length === 3 && month(digits.slice(0, 1)))
      || (digits.length === 4 && month(digits.slice(0, 2)))
      || (digits.length === 6 && month(digits.slice(0, 2)) && digits.startsWith('20', 2));
    if (ok) best = k + 1;
    if (digits.length >= 4 && best > 0) break;
  }
  return best;
}

function skipLeadIn(tokens: readonly Token[], j: number): number {
  let k = j;
  for (let n = 0; k < tokens.length && n < 5; n++, k++) {
    const t = tokens[k]!;
    if (t.kind === 'symbol' ? !':,-#.'.includes(t.lower) : t.kind === 'number' || !(LEAD_IN_WORDS.has(t.lower) || FILLER_WORDS.has(t.lower) || t.lower === 'was')) break;
  }
  return k;
}

function scan(tokens: readonly Token[], phrases: PhraseSet, type: EntityType, parse: (tokens: readonly Token[], j: number) => number, out: PiiSpan[]): void {
  for (let i = 0; i < tokens.length; i++) {
    const len = phrases.matchAt(tokens, i);
    if (len === 0) continue;
    const j = skipLeadIn(tokens, i + len);
    const end = parse(tokens, j);
    if (end > j) {
      let first = j;
      if (isWord(tokens[first], 'the')) first++;
      out.push({ type, start: tokens[first]!.start, end: tokens[end - 1]!.end });
      i = end - 1;
    }
  }
}

export function detectDates(tokens: readonly Token[], out: PiiSpan[]): void {
  scan(tokens, expiryContext, 'CARD_EXPIRY', expiry, out);
  scan(tokens, dobContext, 'DOB', dateOfBirth, out);
}
