/**
 * IBANs, written ("GB82 WEST 1234 5698 7654 32", compact or grouped, in any
 * case: "gb82 west 1234 5698 7654 32") or spoken
 * letter by letter and digit by digit ("g b eight two w e s t one two ...").
 * Starts at a country code with an IBAN length, collects letters and digits
 * until that length is reached exactly at a token boundary, and keeps the
 * candidate only if its mod-97 check passes.
 */
import { ibanValid } from './checksums.ts';
import type { Token } from './tokens.ts';
import type { PiiSpan } from './types.ts';
import { IBAN_LENGTHS } from './vocabulary.ts';

const isUpper = (text: string, t: Token): boolean => { const s = text.slice(t.start, t.end); return s === s.toUpperCase(); };

/**
 * Country code starting at tokens[i]: a two-letter word written in capitals or
 * glued to its digits ("GB82", "gb82"; never the word "is" or "be"), or two
 * spelled letters ("g b"). Returns [code, next index].
 */
function countryAt(text: string, tokens: readonly Token[], i: number): [string, number] | null {
  const t = tokens[i]!;
  if (t.kind !== 'word') return null;
  if (t.lower.length === 2) {
    if (!isUpper(text, t) && tokens[i + 1]?.spaceBefore !== false) return null;
    const code = t.lower.toUpperCase();
    return IBAN_LENGTHS.has(code) ? [code, i + 1] : null;
  }
  const u = tokens[i + 1];
  if (t.lower.length === 1 && u !== undefined && u.kind === 'word' && u.lower.length === 1) {
    const code = (t.lower + u.lower).toUpperCase();
    return IBAN_LENGTHS.has(code) ? [code, i + 2] : null;
  }
  return null;
}

/**
 * Letters or digits of one IBAN piece: digits, a spelled letter, or letters written in capitals or glued to
 * digits. In a written IBAN ("gb82 west 1234 ...") a group of up to four letters counts in any case.
 */
function alnumPiece(text: string, tokens: readonly Token[], k: number, writtenGroups: boolean): string | null {
  const t = tokens[k]!;
  if (t.kind === 'number') return t.ordinal ? null : t.digits;
  if (t.kind !== 'word' || !/^[a-z]+$/.test(t.lower)) return null;
  if (t.lower.length === 1 || isUpper(text, t) || !t.spaceBefore || tokens[k + 1]?.spaceBefore === false) return t.lower.toUpperCase();
  if (writtenGroups && t.lower.length <= 4) return t.lower.toUpperCase();
  return null;
}

export function detectIbans(text: string, tokens: readonly Token[], out: PiiSpan[]): void {
  for (let i = 0; i < tokens.length - 1; i++) {
    const country = countryAt(text, tokens, i);
    if (country === null) continue;
    const [code, afterCode] = country;
    const first = tokens[afterCode];
    if (first === undefined || first.kind !== 'number' || first.ordinal) continue;
    const length = IBAN_LENGTHS.get(code)!;
    // "gb82": a written IBAN, whose letter groups may be lower case
    const writtenGroups = afterCode === i + 1 && !first.spoken && !first.spaceBefore;
    let compact = code;
    let k = afterCode;
    while (k < tokens.length && compact.length < length) {
      const t = tokens[k]!;
      if (t.kind === 'symbol' && (t.lower === '-' || t.lower === ',') && k > afterCode) { k++; continue; } // grouping or a spoken pause
      const piece = alnumPiece(text, tokens, k, writtenGroups);
      if (piece === null) break;
      compact += piece;
      k++;
    }
    if (compact.length !== length || !/^[A-Z]{2}\d{2}/.test(compact) || !ibanValid(compact)) continue;
    out.push({ type: 'IBAN', start: tokens[i]!.start, end: tokens[k - 1]!.end });
    i = k - 1;
  }
}
