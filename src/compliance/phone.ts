/**
 * Phone numbers for the outbound compliance checks: one canonical spelling, so
 * "(212) 555-0123", "212.555.0123", "1 212 555 0123" and "+12125550123" are
 * the same number on the do-not-call list, in the consents, in the contacts
 * and in the check. Validation is libphonenumber-js's (maintained metadata of
 * every country's numbering plan), not a digit count of our own.
 *
 *   - spaces, dashes, dots and parentheses are stripped; what is left must be
 *     digits with an optional leading +;
 *   - a number that is valid for its country becomes E.164 (+CC...); one
 *     without the + is read in `defaultCountry` ('US' unless given; what a
 *     person typed for a tenant is read in the tenant's: tenant-country.ts);
 *   - otherwise 3 to 6 digits without a + are an internal extension ("2000",
 *     a SIP user) and kept as they are (`isE164` tells them apart);
 *   - anything else (an unassigned area code, a wrong length) is not a number.
 *
 * `maskPhone` is the only form a number may take in the audit log, in log
 * lines and in refusal messages: everything but the last 4 digits starred.
 */
import { isSupportedCountry, parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js';

export type { CountryCode };

/** Where a number written without + is read when nobody says otherwise (a tenant may choose another: tenants.default_country). */
export const DEFAULT_PHONE_COUNTRY: CountryCode = 'US';

/** `raw` as a country whose numbering plan libphonenumber-js knows (ISO 3166 alpha-2, upper case), or undefined. */
export function phoneCountryCode(raw: string): CountryCode | undefined {
  const code = raw.trim().toUpperCase();
  return /^[A-Z]{2}$/.test(code) && isSupportedCountry(code) ? code : undefined;
}

/** `raw` without spaces, dashes, dots and parentheses: the number as dialled ("(212) 555-0123" -> "2125550123"). */
export function stripPunctuation(raw: string): string {
  return raw.replace(/[\s\-.()]/g, '');
}

/** The canonical spelling (E.164, or a short extension), or undefined when `raw` is not a phone number. */
export function normalisePhone(raw: string, defaultCountry: CountryCode = DEFAULT_PHONE_COUNTRY): string | undefined {
  const text = stripPunctuation(raw);
  if (!/^\+?\d{1,17}$/.test(text)) return undefined;
  const parsed = parsePhoneNumberFromString(text, defaultCountry);
  if (parsed?.isValid()) return parsed.number;
  return /^\d{3,6}$/.test(text) ? text : undefined;
}

/** Whether `raw` is written with its country code (a leading +), so no default country is needed to read it. */
export function hasCountryCode(raw: string): boolean {
  return stripPunctuation(raw).startsWith('+');
}

/**
 * A stored number's canonical spelling: rows hold E.164, or (older rows) the bare
 * US digits phoneVariants lists. Always read as US, never in a tenant's current
 * default country, so changing that setting does not change what a stored entry
 * means. `stored` itself when it is not a number.
 */
export function storedPhone(stored: string): string {
  return normalisePhone(stored, 'US') ?? stored;
}

/** Whether a canonical number is a full international (E.164) number, not an extension. */
export function isE164(canonical: string): boolean {
  return /^\+[1-9]\d{6,14}$/.test(canonical);
}

/** The ISO country (region) of an E.164 number, when the numbering plan says which. */
export function phoneCountry(e164: string): CountryCode | undefined {
  return parsePhoneNumberFromString(e164)?.country;
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
