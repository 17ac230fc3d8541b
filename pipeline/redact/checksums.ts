/**
 * The two check-digit schemes that separate real payment data from numbers
 * that merely look like it: Luhn (card numbers) and ISO 7064 mod 97-10
 * (IBANs). A few lines each, so written here rather than pulled in.
 */

/** True when `digits` (ASCII 0-9 only) passes the Luhn check. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** The Luhn check digit that completes `partial`. */
export function luhnCheckDigit(partial: string): number {
  for (let d = 0; d <= 9; d++) if (luhnValid(partial + String(d))) return d;
  throw new RangeError('no Luhn check digit');
}

/** Remainder mod 97 of an IBAN-style string read as digits with A=10..Z=35. Null on a character outside 0-9A-Z. */
export function mod97(alnumUpper: string): number | null {
  let rem = 0;
  for (let i = 0; i < alnumUpper.length; i++) {
    const c = alnumUpper.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return null;
  }
  return rem;
}

/** True when a compact, upper-case IBAN has a valid mod-97 checksum. */
export function ibanValid(compactUpper: string): boolean {
  if (compactUpper.length < 15 || compactUpper.length > 34) return false;
  return mod97(compactUpper.slice(4) + compactUpper.slice(0, 4)) === 1;
}

/** The two check digits for a country code and BBAN (used by the corpus generator). */
export function ibanCheckDigits(country: string, bban: string): string {
  const rem = mod97(bban + country + '00');
  if (rem === null) throw new RangeError('IBAN parts must be 0-9A-Z');
  return String(98 - rem).padStart(2, '0');
}
