/**
 * Finds every PII span in a transcript: tokenises once (spoken numbers become
 * digits, offsets kept), runs each detector over the tokens, and settles
 * overlaps by type priority (an IBAN's digits are not also a phone number;
 * digits announced by "date of birth" are a date, not an SSN). The detectors
 * read the normalised text (normalise.ts: full-width digits, zero-width
 * characters); spans are mapped back to the original offsets.
 */
import { detectAddresses } from './detect-address.ts';
import { detectDates } from './detect-dates.ts';
import { detectEmails } from './detect-email.ts';
import { detectIbans } from './detect-iban.ts';
import { detectNumberEntities } from './detect-numbers.ts';
import { normalise } from './normalise.ts';
import { tokenize } from './tokens.ts';
import type { EntityType, PiiSpan } from './types.ts';

/** Lower wins when two candidates overlap. */
const PRIORITY: Readonly<Record<EntityType, number>> = {
  IBAN: 0, CARD: 1, EMAIL: 2, DOB: 3, CARD_EXPIRY: 4, CVV: 5, SSN: 6, PHONE: 7, ADDRESS: 8,
};

/** PII spans in ORIGINAL-text offsets, sorted by start, never overlapping. */
export function findPii(original: string): PiiSpan[] {
  const normalised = normalise(original);
  return findPiiNormalised(normalised.text).map((s) => ({ type: s.type, ...normalised.toOriginal(s.start, s.end) }));
}

function findPiiNormalised(text: string): PiiSpan[] {
  const tokens = tokenize(text);
  if (tokens.length === 0) return [];
  const candidates: PiiSpan[] = [];
  detectIbans(text, tokens, candidates);
  detectNumberEntities(tokens, candidates);
  detectEmails(tokens, candidates);
  detectDates(tokens, candidates);
  detectAddresses(text, tokens, candidates);
  if (candidates.length <= 1) return candidates;
  candidates.sort((a, b) => PRIORITY[a.type] - PRIORITY[b.type] || (b.end - b.start) - (a.end - a.start) || a.start - b.start);
  const kept: PiiSpan[] = [];
  for (const c of candidates) {
    if (kept.every((k) => c.end <= k.start || c.start >= k.end)) kept.push(c);
  }
  return kept.sort((a, b) => a.start - b.start);
}
