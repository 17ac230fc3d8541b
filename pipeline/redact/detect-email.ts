/**
 * Email addresses, written ("john.smith@gmail.com") or spoken ("john dot
 * smith at gmail dot com", "jane underscore doe eighty four at yahoo dot co
 * dot uk"). Found from the "@"/"at" outwards: a domain of labels joined by
 * dots that ends in a known top-level domain (any alphabetic one when the
 * address is written with "@"), and a local part of labels joined by dots,
 * underscores, dashes or pluses.
 */
import type { Token } from './tokens.ts';
import type { PiiSpan } from './types.ts';
import { EMAIL_TLDS } from './vocabulary.ts';

const SPOKEN_SEPARATORS = new Map([['dot', '.'], ['period', '.'], ['underscore', '_'], ['dash', '-'], ['hyphen', '-'], ['plus', '+']]);
const LOCAL_SYMBOLS = new Set(['.', '_', '-', '+']);
/** Words that end a spoken local part when they come before it ("my email is smith at ..."). */
const NOT_LOCAL_PART = new Set([
  'is', 'me', 'to', 'at', 'my', 'the', 'email', 'e', 'mail', 'address', 'its', "it's", "that's", 'thats', 'was', 'be',
  'send', 'sent', 'said', 'use', 'try', 'reach', 'contact', 'write', 'cc', 'copy', 'and', 'or', 'uh', 'um', 'er',
  'on', 'under', 'as', 'from', 'by', 'via', 'account', 'login', 'username', 'still', 'also', 'just', 'now', 'new',
  'old', 'work', 'personal', 'his', 'her', 'their', 'our', 'your', 'a', 'an', 'i', 'you', 'we', 'they', 'he', 'she',
  'please', 'yes', 'yeah', 'no', 'ok', 'okay', 'so', 'well', 'like', 'for', 'with', 'of', 'in', 'lowercase',
]);

const isLabel = (t: Token | undefined): boolean => t !== undefined && (t.kind === 'word' || (t.kind === 'number' && !t.ordinal));

function isDot(t: Token | undefined, written: boolean, next: Token | undefined): boolean {
  if (t === undefined) return false;
  if (t.kind === 'word') return t.lower === 'dot' || t.lower === 'period';
  // a written "." joins labels only without spaces ("gmail.com"), unless the address is written with "@"
  return t.kind === 'symbol' && t.lower === '.' && next !== undefined && (written || (!t.spaceBefore && !next.spaceBefore));
}

/** End index (exclusive) of the domain starting at j, or -1. */
function domainEnd(tokens: readonly Token[], j: number, written: boolean): number {
  if (!isLabel(tokens[j])) return -1;
  let k = j + 1;
  let end = -1;
  // labels may themselves hold a dash ("my-company dot com")
  for (;;) {
    const sep = tokens[k];
    if (sep?.kind === 'symbol' && sep.lower === '-' && isLabel(tokens[k + 1]) && !sep.spaceBefore) { k += 2; continue; }
    if (!isDot(sep, written, tokens[k + 1]) || !isLabel(tokens[k + 1])) break;
    const label = tokens[k + 1]!;
    if (label.kind === 'word' && (EMAIL_TLDS.has(label.lower) || (written && label.lower.length >= 2))) end = k + 2;
    k += 2;
  }
  return end;
}

/** Start index of the local part ending just before `at`, or -1. */
function localStart(tokens: readonly Token[], at: number, written: boolean): number {
  let k = at - 1;
  if (!isLabel(tokens[k])) return -1;
  if (written && tokens[at]!.spaceBefore) return -1;
  for (;;) {
    const cur = tokens[k]!;
    const prev = tokens[k - 1];
    if (prev === undefined) return k;
    if (written) {
      // "john.smith84@": everything glued to the address without a space
      if (cur.spaceBefore) return k;
      if (isLabel(prev) || (prev.kind === 'symbol' && LOCAL_SYMBOLS.has(prev.lower))) { k--; continue; }
      return k;
    }
    const sep = prev.kind === 'word' ? SPOKEN_SEPARATORS.get(prev.lower) : prev.kind === 'symbol' && LOCAL_SYMBOLS.has(prev.lower) && !prev.spaceBefore && !cur.spaceBefore ? prev.lower : undefined;
    if (sep !== undefined && isLabel(tokens[k - 2])) { k -= 2; continue; }
    // "mike eighty four at": a spoken number glued to the name before it
    if (cur.kind === 'number' && cur.spoken && prev.kind === 'word') { k--; continue; }
    // "j smith at": a spelled initial
    if (prev.kind === 'word' && prev.lower.length === 1 && prev.lower !== 'a' && prev.lower !== 'i') { k--; continue; }
    // "john smith at gmail dot com": the address may be "johnsmith@", so one more
    // word goes too unless it is plainly not a name (over-redacting a word beats leaking one)
    if (k === at - 1 && prev.kind === 'word' && prev.lower.length > 1 && !NOT_LOCAL_PART.has(prev.lower)) return k - 1;
    return k;
  }
}

export function detectEmails(tokens: readonly Token[], out: PiiSpan[]): void {
  for (let i = 1; i < tokens.length - 2; i++) {
    const t = tokens[i]!;
    const written = t.kind === 'symbol' && t.lower === '@';
    if (!written && !(t.kind === 'word' && t.lower === 'at')) continue;
    const end = domainEnd(tokens, i + 1, written);
    if (end < 0) continue;
    const start = localStart(tokens, i, written);
    if (start < 0) continue;
    out.push({ type: 'EMAIL', start: tokens[start]!.start, end: tokens[end - 1]!.end });
    i = end - 1;
  }
}
