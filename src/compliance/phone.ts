/**
 * Phone numbers for the outbound compliance checks: one canonical spelling, so
 * "(555) 123-4567", "555.123.4567", "1 555 123 4567" and "+15551234567" are the
 * same number on the do-not-call list, in the consents and in the check.
 *
 *   - spaces, dashes, dots and parentheses are stripped; a leading + is kept;
 *   - what is left must be digits: + and 7 to 15 digits (E.164), or 3 to 15
 *     digits without the + (a local number or an extension, kept as it is);
 *   - a 10-digit number, and an 11-digit one starting with 1, is a US (NANP)
 *     number and becomes +1XXXXXXXXXX.
 *
 * `maskPhone` is the only form a number may take in the audit log, in log
 * lines and in refusal messages: everything but the last 4 digits starred.
 */

/** `raw` without spaces, dashes, dots and parentheses: the number as dialled ("(212) 555-0123" -> "2125550123"). */
export function stripPunctuation(raw: string): string {
  return raw.replace(/[\s\-.()]/g, '');
}

/** The canonical spelling, or undefined when `raw` is not a phone number. */
export function normalisePhone(raw: string): string | undefined {
  const match = /^(\+?)(\d+)$/.exec(stripPunctuation(raw));
  if (!match) return undefined;
  const plus = match[1]!;
  const digits = match[2]!;
  if (plus) return digits.length >= 7 && digits.length <= 15 ? `+${digits}` : undefined;
  if (digits.length === 10) return `+1${digits}`;
  if (digits.length === 11 && digits.startsWith('1')) return `+${digits}`;
  return digits.length >= 3 && digits.length <= 15 ? digits : undefined;
}

/**
 * The stored spellings that mean this (canonical) number: itself and, for a US
 * number, the bare 10 and 11 digits (rows written before normalisation, or by
 * other code, may hold those).
 */
export function phoneVariants(canonical: string): string[] {
  const us = /^\+1(\d{10})$/.exec(canonical);
  return us ? [canonical, us[1]!, `1${us[1]!}`] : [canonical];
}

/** Every digit but the last 4 starred ("+*******4567"); a leading + is kept. Never the whole number. */
export function maskPhone(raw: string): string {
  const digits = raw.replace(/\D/g, '');
  if (!digits) return '(no digits)';
  const plus = raw.trim().startsWith('+') ? '+' : '';
  if (digits.length <= 4) return plus + '*'.repeat(digits.length);
  return plus + '*'.repeat(digits.length - 4) + digits.slice(-4);
}

/** "the number ending 4567", for messages. */
export function describePhone(raw: string): string {
  const digits = raw.replace(/\D/g, '');
  return digits.length > 4 ? `the number ending ${digits.slice(-4)}` : 'that number';
}
