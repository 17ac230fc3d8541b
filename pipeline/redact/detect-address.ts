/**
 * Street addresses where the shape is clear: a house number (digits or
 * spoken, "one two three", "twelve thirty four"), one to five street-name
 * words (a direction such as "North" counts as one), a suffix (Street, St,
 * Avenue, Road, Lane...), and an optional unit ("apartment 4B", "suite 200").
 * Found backwards from the suffix so that "I walked 3 blocks down the road" is
 * not an address: function words and quantity nouns cannot be street names.
 * City, state, ZIP and post-directionals ("NW") are not covered.
 */
import type { Token } from './tokens.ts';
import type { PiiSpan } from './types.ts';
import { NOT_STREET_NAME, STREET_SUFFIXES, UNIT_DESIGNATORS } from './vocabulary.ts';

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

export function detectAddresses(tokens: readonly Token[], out: PiiSpan[]): void {
  for (let s = 2; s < tokens.length; s++) {
    const suffix = tokens[s]!;
    if (suffix.kind !== 'word' || !STREET_SUFFIXES.has(suffix.lower)) continue;
    for (let names = 1; names <= MAX_NAME_WORDS; names++) {
      const firstName = s - names;
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
