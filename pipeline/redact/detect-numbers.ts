/**
 * Digit-run entities: payment cards (13-19 digits, Luhn, a plausible issuer
 * prefix), the expiry and CVV spoken right after a card, CVVs announced by
 * "security code"/"cvv", US social security numbers and phone numbers (E.164,
 * North American, national forms with a trunk 0, "00" international prefix).
 * A bare number after a cue such as "order" or "tracking" stays as it is.
 */
import { PhraseSet } from './context.ts';
import { luhnValid } from './checksums.ts';
import type { PiiSpan } from './types.ts';
import { digitRuns, groupLengths, partsForDigits, runSpan, subRun, type DigitRun } from './runs.ts';
import type { Token } from './tokens.ts';
import { CARD_CONTEXT, CVV_CONTEXT, FILLER_WORDS, HARMLESS_NUMBER_CUES, LEAD_IN_WORDS, PHONE_CONTEXT, SSN_CONTEXT } from './vocabulary.ts';

const cardContext = new PhraseSet(CARD_CONTEXT);
const ssnContext = new PhraseSet(SSN_CONTEXT);
const phoneContext = new PhraseSet(PHONE_CONTEXT);
const cvvContext = new PhraseSet(CVV_CONTEXT);
const harmlessCues = new PhraseSet(HARMLESS_NUMBER_CUES);

const CONTEXT_WINDOW = 10;
const CUE_WINDOW = 4;

/** Card lengths an issuer prefix allows, most likely first. */
function cardLengths(d: string): number[] {
  const a = d[0];
  const ab = d.slice(0, 2);
  if (ab === '34' || ab === '37') return [15];
  if (ab === '36' || ab === '38' || ab === '30') return [14, 16];
  if (a === '4') return [16, 13, 19];
  if (a === '5' || a === '2') return [16];
  if (ab === '35' || a === '6') return [16, 19, 17, 18];
  return [];
}

function push(out: PiiSpan[], type: PiiSpan['type'], tokens: readonly Token[], run: DigitRun): void {
  const { start, end } = runSpan(tokens, run);
  out.push({ type, start, end });
}

/** MMYY, MYY or MMYYYY with a month and a year a card could expire in (2015-2049). */
function validExpiryDigits(d: string): boolean {
  const monthLen = d.length === 3 ? 1 : 2;
  if (d.length !== 3 && d.length !== 4 && d.length !== 6) return false;
  const month = Number(d.slice(0, monthLen));
  const year = d.slice(monthLen);
  if (month < 1 || month > 12) return false;
  const yy = Number(year.length === 4 ? (year.startsWith('20') ? year.slice(2) : 'x') : year);
  return yy >= 15 && yy <= 49;
}

/** Only pauses (commas, dashes, fillers) between two token indexes. */
function onlyPausesBetween(tokens: readonly Token[], from: number, to: number): boolean {
  for (let k = from + 1; k < to; k++) {
    const t = tokens[k]!;
    if (t.kind === 'symbol' ? !',-/'.includes(t.lower) : !FILLER_WORDS.has(t.lower)) return false;
  }
  return to - from <= 4;
}

/**
 * A card context phrase ends right before the run, with only lead-in words between: "my card number is ...",
 * "the card is ...". Speech recognition gets digits wrong and callers pause mid-number, so what follows is a
 * card number (or the start of one) whatever its check digit.
 */
function rightAfterCardContext(tokens: readonly Token[], lead: number): boolean {
  for (let q = lead - 1; q >= 0 && q >= lead - 8; q--) {
    const len = cardContext.matchAt(tokens, q);
    if (len === 0) continue;
    let k = q + len;
    while (k < lead && (tokens[k]!.lower === ':' || tokens[k]!.lower === ',' || LEAD_IN_WORDS.has(tokens[k]!.lower))) k++;
    if (k === lead) return true;
  }
  return false;
}

/** Card lengths to try, most likely first, for digits that need not pass Luhn. */
const ANY_CARD_LENGTHS = [16, 15, 14, 13, 17, 18, 19];

/** Finds a card in a run: the whole run, or (in a long run) a prefix window. Returns [from, to) parts or null. */
function findCard(tokens: readonly Token[], run: DigitRun): [number, number] | null {
  const n = run.digits.length;
  const ctx = cardContext.before(tokens, run.lead, CONTEXT_WINDOW);
  if (n >= 13 && n <= 19) {
    const first = run.digits.charCodeAt(0) - 48;
    // a card-length run after card context is a card even when the check digit fails (misheard digits)
    if (ctx || (luhnValid(run.digits) && first >= 2 && first <= 6)) return [0, run.parts.length];
    return null;
  }
  // the start of a card, the rest to follow in the next breath or turn
  if (n >= 6 && n < 13) return rightAfterCardContext(tokens, run.lead) ? [0, run.parts.length] : null;
  if (n < 13) return null;
  // a card followed by more digits in one breath ("... 1111 oh four twenty seven one two three")
  for (let from = 0; from < run.parts.length; from++) {
    if (from > 0 && !ctx) break;
    const offset = from === 0 ? 0 : run.ends[from - 1]!;
    const rest = run.digits.slice(offset);
    for (const len of cardLengths(rest)) {
      if (rest.length < len) continue;
      const k = partsForDigits(subRun(tokens, run, from, run.parts.length), len);
      if (k > 0 && luhnValid(rest.slice(0, len))) return [from, from + k];
    }
  }
  if (ctx) {
    for (const len of ANY_CARD_LENGTHS) {
      const k = partsForDigits(run, len);
      if (k > 0) return [0, k];
    }
  }
  return null;
}

/** Words that may sit between the two halves of one card number: "4111 1111 1111 and the rest is 1111". */
const CONTINUATION_WORDS: ReadonlySet<string> = new Set([
  'and', 'the', 'rest', 'remaining', 'last', 'final', 'next', 'other', 'is', 'are', 'then', 'of', 'it', 'its', "it's",
  'number', 'ends', 'with', 'in', 'digits', 'group', 'bit', 'part', 'continues', 'goes', 'on', 'so', 'ok', 'okay',
  'uh', 'um', 'er', 'ah', 'sorry', 'wait',
]);

/**
 * A card said in two pieces with words between: run r is the start (6+ digits), the next run the rest, and
 * together they make a card (13-19 digits, Luhn with an issuer prefix, or card context before them).
 */
function splitCard(tokens: readonly Token[], runs: readonly DigitRun[], r: number, out: PiiSpan[]): boolean {
  const head = runs[r]!;
  const tail = runs[r + 1];
  if (tail === undefined || head.digits.length < 6) return false;
  const digits = head.digits + tail.digits;
  if (digits.length < 13 || digits.length > 19) return false;
  const last = head.parts[head.parts.length - 1]!;
  if (tail.lead - last > 10) return false;
  for (let k = last + 1; k < tail.lead; k++) {
    const t = tokens[k]!;
    if (t.kind === 'symbol' ? !',-:'.includes(t.lower) : !CONTINUATION_WORDS.has(t.lower)) return false;
  }
  const first = digits.charCodeAt(0) - 48;
  const ctx = cardContext.before(tokens, head.lead, CONTEXT_WINDOW);
  if (!ctx && !(luhnValid(digits) && first >= 2 && first <= 6)) return false;
  push(out, 'CARD', tokens, head);
  push(out, 'CARD', tokens, tail);
  return true;
}

/** After a card: an expiry (MMYY) and then a 3-4 digit CVV, if the next digits read that way. */
function afterCard(tokens: readonly Token[], follow: DigitRun | undefined, out: PiiSpan[]): DigitRun | undefined {
  if (follow === undefined) return undefined;
  let rest: DigitRun | undefined = follow;
  for (const len of [6, 4, 3]) {
    const k = partsForDigits(follow, len);
    if (k > 0 && validExpiryDigits(follow.digits.slice(0, len))) {
      push(out, 'CARD_EXPIRY', tokens, subRun(tokens, follow, 0, k));
      rest = k < follow.parts.length ? subRun(tokens, follow, k, follow.parts.length) : undefined;
      break;
    }
  }
  if (rest === undefined || rest === follow) return rest;
  if (rest.digits.length === 3 || rest.digits.length === 4) { push(out, 'CVV', tokens, rest); return undefined; }
  // "oh one thirty one two one" is 01/30 + 121 said without a pause; the tokens read 01/31 + 21.
  // Whatever the split, what follows card and expiry in one breath is the code.
  if (rest.digits.length <= 2 && follow.digits.length >= 6 && follow.digits.length <= 8) { push(out, 'CVV', tokens, rest); return undefined; }
  return rest;
}

function ssnShaped(d: string): boolean {
  const area = d.slice(0, 3);
  return area !== '000' && area !== '666' && area[0] !== '9' && d.slice(3, 5) !== '00' && d.slice(5) !== '0000';
}

const sameGroups = (a: number[], b: readonly number[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function written(run: DigitRun): boolean {
  return run.seps.length > 0 && run.seps.every((s) => s !== ' ' && s !== '' && !s.includes(','));
}

function classifyPlain(tokens: readonly Token[], run: DigitRun, out: PiiSpan[]): boolean {
  const d = run.digits;
  const n = d.length;
  const groups = groupLengths(tokens, run);
  const ssnCtx = ssnContext.before(tokens, run.lead, CONTEXT_WINDOW);
  const phoneCtx = phoneContext.before(tokens, run.lead, CONTEXT_WINDOW);
  const harmless = harmlessCues.before(tokens, run.lead, CUE_WINDOW);
  const formattedPhone = written(run) && (sameGroups(groups, [3, 3, 4]) || sameGroups(groups, [1, 3, 3, 4]) || sameGroups(groups, [3, 4]));

  if (n === 9 && !run.plus) {
    const ssn324 = sameGroups(groups, [3, 2, 4]) && written(run);
    if (ssnCtx || ssn324 || (ssnShaped(d) && !harmless && !phoneCtx && !sameGroups(groups, [5, 4]))) {
      push(out, 'SSN', tokens, run);
      return true;
    }
  }
  let phone = false;
  if (run.plus) phone = n >= 8 && n <= 15;
  else if (d.startsWith('00') && n >= 10 && n <= 15) phone = !harmless || written(run);
  else if (n === 10 && d[0] !== '1') phone = !harmless || formattedPhone;
  else if (n === 11 && ((d[0] === '1' && d[1] !== '0' && d[1] !== '1') || d[0] === '0')) phone = !harmless || formattedPhone;
  else if (n === 7) phone = !harmless && (phoneCtx || formattedPhone);
  else if (n >= 8 && n <= 13) phone = !harmless && phoneCtx;
  if (phone) { push(out, 'PHONE', tokens, run); return true; }
  return false;
}

/** A run that held nothing whole: with phone context, a 10/11-digit phone at its start. */
function phonePrefix(tokens: readonly Token[], run: DigitRun, out: PiiSpan[]): void {
  if (!(run.plus || phoneContext.before(tokens, run.lead, CONTEXT_WINDOW))) return;
  for (const len of [11, 10]) {
    const k = partsForDigits(run, len);
    if (k > 0 && k < run.parts.length && classifyPlain(tokens, subRun(tokens, run, 0, k), out)) return;
  }
}

/** CVVs announced by a phrase ("security code is one two three"). */
function cvvByContext(tokens: readonly Token[], runByFirst: Map<number, DigitRun>, out: PiiSpan[]): Set<DigitRun> {
  const used = new Set<DigitRun>();
  for (let i = 0; i < tokens.length; i++) {
    const len = cvvContext.matchAt(tokens, i);
    // "social security number" is not a CVV, nor are "the last four digits" of a card
    if (len === 0 || tokens[i - 1]?.lower === 'social' || tokens[i - 1]?.lower === 'last') continue;
    let j = i + len;
    for (let skipped = 0; j < tokens.length && skipped < 5; skipped++, j++) {
      const t = tokens[j]!;
      if (t.kind === 'number') break;
      if (t.kind === 'word' && !LEAD_IN_WORDS.has(t.lower)) break;
    }
    const run = runByFirst.get(j);
    if (run === undefined) continue;
    const n = run.digits.length;
    if (n === 3 || n === 4) { push(out, 'CVV', tokens, run); used.add(run); continue; }
    const k = partsForDigits(run, 3) > 0 ? partsForDigits(run, 3) : partsForDigits(run, 4);
    if (k > 0) { push(out, 'CVV', tokens, subRun(tokens, run, 0, k)); used.add(run); }
  }
  return used;
}

/** "area code five five five, then two three four, five six seven eight": a 3-digit run after "area code" and the 7 digits after it. */
function areaCodePhone(tokens: readonly Token[], runs: readonly DigitRun[], r: number, out: PiiSpan[]): boolean {
  const run = runs[r]!;
  const next = runs[r + 1];
  if (run.digits.length !== 3 || next === undefined || next.digits.length !== 7) return false;
  if (tokens[run.lead - 2]?.lower !== 'area' || tokens[run.lead - 1]?.lower !== 'code') return false;
  const last = run.parts[run.parts.length - 1]!;
  for (let k = last + 1; k < next.lead; k++) {
    const t = tokens[k]!;
    if (!(t.kind === 'symbol' ? t.lower === ',' : ['then', 'and', 'uh', 'um', 'number', 'is'].includes(t.lower))) return false;
  }
  if (next.lead - last > 4) return false;
  out.push({ type: 'PHONE', start: runSpan(tokens, run).start, end: runSpan(tokens, next).end });
  return true;
}

/**
 * "five five five, one two three four, area code two one two": a 7-digit number with its area code said
 * after it. Area code and number are one PHONE span.
 */
function areaCodeAfter(tokens: readonly Token[], runs: readonly DigitRun[], r: number, out: PiiSpan[]): boolean {
  const run = runs[r]!;
  const next = runs[r + 1];
  if (run.digits.length !== 7 || next === undefined || next.digits.length !== 3) return false;
  let k = run.parts[run.parts.length - 1]! + 1;
  const skip = (words: readonly string[]): void => { while (k < next.lead && (tokens[k]!.lower === ',' || words.includes(tokens[k]!.lower))) k++; };
  skip(['and', 'the', 'with', 'uh', 'um', 'my']);
  if (tokens[k]?.lower !== 'area' || tokens[k + 1]?.lower !== 'code') return false;
  k += 2;
  skip(['is', 'uh', 'um']);
  if (k !== next.lead) return false;
  out.push({ type: 'PHONE', start: runSpan(tokens, run).start, end: runSpan(tokens, next).end });
  return true;
}

export function detectNumberEntities(tokens: readonly Token[], out: PiiSpan[]): void {
  const runs = digitRuns(tokens);
  if (runs.length === 0) return;
  const runByFirst = new Map<number, DigitRun>();
  for (const r of runs) runByFirst.set(r.parts[0]!, r);
  const cvvRuns = cvvByContext(tokens, runByFirst, out);

  for (let r = 0; r < runs.length; r++) {
    const run = runs[r]!;
    if (cvvRuns.has(run)) continue;
    if (!cvvRuns.has(runs[r + 1]!) && splitCard(tokens, runs, r, out)) { r++; continue; }
    const card = findCard(tokens, run);
    if (card !== null) {
      const [from, to] = card;
      push(out, 'CARD', tokens, subRun(tokens, run, from, to));
      if (from > 0) classifyPlain(tokens, subRun(tokens, run, 0, from), out);
      let follow: DigitRun | undefined;
      if (to < run.parts.length) follow = subRun(tokens, run, to, run.parts.length);
      else {
        const next = runs[r + 1];
        const lastCardToken = run.parts[run.parts.length - 1]!;
        if (next !== undefined && next.digits.length <= 10 && onlyPausesBetween(tokens, lastCardToken, next.lead) && !cvvRuns.has(next)) { follow = next; r++; }
      }
      const rest = afterCard(tokens, follow, out);
      if (rest !== undefined) classifyPlain(tokens, rest, out);
      continue;
    }
    if (areaCodePhone(tokens, runs, r, out) || areaCodeAfter(tokens, runs, r, out)) { r++; continue; }
    if (!classifyPlain(tokens, run, out)) phonePrefix(tokens, run, out);
  }
}
