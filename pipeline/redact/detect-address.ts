/**
 * Street addresses where the shape is clear: a house number (digits or
 * spoken, "one two three", "twelve thirty four"), one to five street-name
 * words (a direction such as "North" counts as one), a suffix (Street, St,
 * Avenue, Road, Lane...), and an optional unit ("apartment 4B", "suite 200").
 * Found backwards from the suffix so that "I walked 3 blocks down the road" is
 * not an address: function words and quantity nouns cannot be street names.
 * An abbreviated direction may carry a full stop ("123 N. Main St."). Also
 * post office boxes ("P.O. Box 4521", "p o box four five two one") and ZIP
 * codes: 5 or 5+4 digits announced by "zip (code)"/"postal code", or written
 * after a state ("Springfield, IL 62704", "Illinois 62704"). City names alone
 * and post-directionals ("NW") are not covered.
 */
import { PhraseSet } from './context.ts';
import { digitRuns, groupLengths, runSpan } from './runs.ts';
import type { Token } from './tokens.ts';
import type { PiiSpan } from './types.ts';
import { LEAD_IN_WORDS, NOT_STREET_NAME, STATE_CODES, STATE_NAMES, STREET_SUFFIXES, UNIT_DESIGNATORS, ZIP_CONTEXT } from './vocabulary.ts';

const MAX_NAME_WORDS = 5;
const ABBREVIATED = new Set(['st', 'ave', 'av', 'rd', 'ln', 'dr', 'blvd', 'ct', 'pl', 'ter', 'cir', 'pkwy', 'hwy', 'sq', 'trl']);

function isNameWord(t: Token | undefined): boolean {
  if (t === undefined) return false;
  if (t.kind === 'number') return t.ordinal; // "5th Avenue", "West 34th Street"
  return t.kind === 'word' && !NOT_STREET_NAME.has(t.lower) && !STREET_SUFFIXES.has(t.lower);
}

/** Start index of a house number ending at tokens[k] (spoken numbers may take several tokens), or -1. */
function houseNumberStart(tokens: readonly Token[], k: number): number {
  const last = tokens[k];
  if (last === undefined || last.kind !== 'number' || last.ordinal) return -1;
  let digits = last.digits.length;
  let j = k;
  if (last.spoken) {
    // "one two three", "twelve thirty four": up to four spoken pieces
    while (j > 0 && k - j < 3) {
      const t = tokens[j - 1]!;
      if (t.kind !== 'number' || t.ordinal || !t.spoken || !tokens[j]!.spaceBefore) break;
      if (digits + t.digits.length > 6) break;
      digits += t.digits.length;
      j--;
    }
  }
  return digits <= 6 ? j : -1;
}

/** End index (exclusive) after an optional unit: "apartment 4B", "apt. 5", "suite two hundred", "#12". */
function unitEnd(tokens: readonly Token[], j: number): number {
  let k = j;
  if (tokens[k]?.kind === 'symbol' && tokens[k]!.lower === ',') k++;
  const t = tokens[k];
  if (t === undefined) return j;
  if (t.kind === 'symbol' && t.lower === '#') k++;
  else if (t.kind === 'word' && UNIT_DESIGNATORS.has(t.lower)) {
    k++;
    if (tokens[k]?.kind === 'symbol' && tokens[k]!.lower === '.') k++;
    if (tokens[k]?.kind === 'word' && tokens[k]!.lower === 'number') k++;
  } else return j;
  const num = tokens[k];
  if (num === undefined || num.kind !== 'number') return j;
  k++;
  // "4B" or "four b"
  const letter = tokens[k];
  if (letter?.kind === 'word' && letter.lower.length === 1 && (!letter.spaceBefore || num.spoken)) k++;
  return k;
}

const DIRECTION_ABBREVIATIONS = new Set(['n', 's', 'e', 'w', 'ne', 'nw', 'se', 'sw']);
const zipContext = new PhraseSet(ZIP_CONTEXT);

/** "N." in "123 N. Main St.": the full stop after an abbreviated direction is part of the street name. */
function isDirectionStop(tokens: readonly Token[], k: number): boolean {
  const t = tokens[k];
  const before = tokens[k - 1];
  return t?.kind === 'symbol' && t.lower === '.' && !t.spaceBefore && before !== undefined && DIRECTION_ABBREVIATIONS.has(before.lower);
}

const lowerAt = (tokens: readonly Token[], k: number): string | undefined => tokens[k]?.lower;

/** "P.O. Box", "PO Box", "p o box", "post office box": the index after "box", or -1. */
function poBoxEnd(tokens: readonly Token[], i: number): number {
  const first = tokens[i]!.lower;
  let k = i;
  if (first === 'po') k++;
  else if (first === 'post' && lowerAt(tokens, k + 1) === 'office') k += 2;
  else if (first === 'p') {
    k++;
    if (lowerAt(tokens, k) === '.') k++;
    if (lowerAt(tokens, k) !== 'o') return -1;
    k++;
  } else return -1;
  if (lowerAt(tokens, k) === '.') k++;
  return lowerAt(tokens, k) === 'box' ? k + 1 : -1;
}

function detectPoBoxes(tokens: readonly Token[], out: PiiSpan[]): void {
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i]!.lower.charCodeAt(0) !== 112) continue; // 'p'
    let k = poBoxEnd(tokens, i);
    if (k < 0) continue;
    if (tokens[k]?.lower === 'number' || tokens[k]?.lower === '#') k++;
    let digits = 0;
    let end = k;
    while (tokens[end]?.kind === 'number' && !tokens[end]!.ordinal && digits + tokens[end]!.digits.length <= 8) digits += tokens[end++]!.digits.length;
    if (digits === 0) continue;
    out.push({ type: 'ADDRESS', start: tokens[i]!.start, end: tokens[end - 1]!.end });
    i = end - 1;
  }
}

/** A state before a written ZIP: "IL" in capitals or a state's name ("New York", "illinois"). Returns its first index or -1. */
function stateBefore(text: string, tokens: readonly Token[], lead: number): number {
  const t = tokens[lead - 1];
  if (t === undefined || t.kind !== 'word') return -1;
  if (t.lower.length === 2 && STATE_CODES.has(t.lower) && text.slice(t.start, t.end) === t.lower.toUpperCase()) return lead - 1;
  if (STATE_NAMES.has(t.lower)) return lead - 1;
  const two = tokens[lead - 2];
  if (two !== undefined && STATE_NAMES.has(`${two.lower} ${t.lower}`)) return lead - 2;
  return -1;
}

/** ZIP codes: 5 digits, or 5+4 ("62704-1234"), after "zip code ..." or a state. */
function detectZipCodes(text: string, tokens: readonly Token[], out: PiiSpan[]): void {
  for (const run of digitRuns(tokens)) {
    const n = run.digits.length;
    const groups = groupLengths(tokens, run);
    const zipShaped = n === 5 || (n === 9 && groups.length >= 2 && groups[groups.length - 1] === 4);
    if (!zipShaped) continue;
    let k = run.lead - 1;
    while (k >= 0 && (tokens[k]!.lower === ':' || tokens[k]!.lower === ',' || LEAD_IN_WORDS.has(tokens[k]!.lower)) && run.lead - k < 5) k--;
    let announced = false;
    // the phrase ends at k or runs into the lead-in words ("zip code is": "code" is a lead-in word too)
    for (let q = k; q >= 0 && q >= k - 2 && !announced; q--) announced = q + zipContext.matchAt(tokens, q) > k;
    const span = runSpan(tokens, run);
    const state = tokens[run.parts[0]!]!.spoken ? -1 : stateBefore(text, tokens, run.lead);
    // the state goes with its ZIP: "IL 62704" is one span
    if (state >= 0) out.push({ type: 'ADDRESS', start: tokens[state]!.start, end: span.end });
    else if (announced) out.push({ type: 'ADDRESS', ...span });
  }
}

export function detectAddresses(text: string, tokens: readonly Token[], out: PiiSpan[]): void {
  detectPoBoxes(tokens, out);
  detectZipCodes(text, tokens, out);
  for (let s = 2; s < tokens.length; s++) {
    const suffix = tokens[s]!;
    if (suffix.kind !== 'word' || !STREET_SUFFIXES.has(suffix.lower)) continue;
    let firstName = s;
    for (let names = 1; names <= MAX_NAME_WORDS; names++) {
      firstName--;
      if (isDirectionStop(tokens, firstName)) firstName--;
      if (firstName < 1 || !isNameWord(tokens[firstName])) break;
      const start = houseNumberStart(tokens, firstName - 1);
      if (start < 0) continue;
      let afterSuffix = s + 1;
      if (tokens[afterSuffix]?.kind === 'symbol' && tokens[afterSuffix]!.lower === '.' && ABBREVIATED.has(suffix.lower)) afterSuffix++;
      const end = unitEnd(tokens, afterSuffix);
      out.push({ type: 'ADDRESS', start: tokens[start]!.start, end: tokens[end - 1]!.end });
      s = end - 1;
      break;
    }
  }
}
