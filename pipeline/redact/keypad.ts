/**
 * Redaction of one run of keypad keys (DTMF, e.g. "4111111111111111#") before
 * it is stored. Keys come with no words around them, so the speech rules'
 * context cannot tell a PIN from a menu choice; the rule is by how many digits
 * the run holds. Up to three digits stay as typed (a menu choice "1", "2#",
 * an extension "204"). In a longer run every group of digits is redacted: a
 * card-length group (13-19 digits) is [CARD] whatever its check digit, a
 * group the speech rules name on its own (an SSN- or phone-shaped number)
 * gets that tag, and anything else (a PIN, an account number, a date) is
 * masked whole as [DIGITS]. `*`, `#` and A-D stay: they carry no data.
 */
import { findPii } from './detect.ts';
import { applyRedaction } from './redact.ts';
import type { RedactedType, RedactionResult } from './types.ts';

/** Runs with at most this many digits are stored as typed. */
export const KEYPAD_CLEAR_DIGITS = 3;

function typeOfGroup(digits: string): RedactedType {
  if (digits.length >= 13 && digits.length <= 19) return 'CARD';
  const spans = findPii(digits);
  const whole = spans.length === 1 && spans[0]!.start === 0 && spans[0]!.end === digits.length;
  return whole ? spans[0]!.type : 'DIGITS';
}

export function redactKeypad(keys: string): RedactionResult {
  if (typeof keys !== 'string') throw new TypeError('redactKeypad() takes a string');
  let count = 0;
  for (let i = 0; i < keys.length; i++) if (keys.charCodeAt(i) >= 48 && keys.charCodeAt(i) <= 57) count++;
  if (count <= KEYPAD_CLEAR_DIGITS) return { text: keys, entities: [] };
  const spans: Array<{ type: RedactedType; start: number; end: number }> = [];
  for (const m of keys.matchAll(/[0-9]+/g)) spans.push({ type: typeOfGroup(m[0]), start: m.index, end: m.index + m[0].length });
  return applyRedaction(keys, spans);
}
