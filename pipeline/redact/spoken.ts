/**
 * Renders numbers the way callers say them ("four one one one", "double
 * five", "oh four", "twenty seven", "nineteen eighty four", "fourteenth").
 * Used by the corpus generator and tests to produce speech-shaped transcripts.
 */

const UNITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
const TEENS = ['ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen', 'sixteen', 'seventeen', 'eighteen', 'nineteen'];
const TENS = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'];
const UNIT_ORD = ['zeroth', 'first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth'];
const TEEN_ORD = ['tenth', 'eleventh', 'twelfth', 'thirteenth', 'fourteenth', 'fifteenth', 'sixteenth', 'seventeenth', 'eighteenth', 'nineteenth'];
const TENS_ORD = ['', '', 'twentieth', 'thirtieth', 'fortieth', 'fiftieth', 'sixtieth', 'seventieth', 'eightieth', 'ninetieth'];

export interface DigitStyle {
  /** Say 0 as "oh" instead of "zero". */
  oh?: boolean;
  /** Say repeated digits as "double five" / "triple seven". */
  repeats?: boolean;
}

/** "4111" -> "four one one one" (or "four triple one"). */
export function sayDigits(digits: string, style: DigitStyle = {}): string {
  const words: string[] = [];
  let i = 0;
  while (i < digits.length) {
    const d = Number(digits[i]);
    const word = d === 0 && style.oh ? 'oh' : UNITS[d]!;
    let run = 1;
    while (style.repeats && run < 3 && digits[i + run] === digits[i]) run++;
    if (run === 3) words.push(`triple ${word}`);
    else if (run === 2) words.push(`double ${word}`);
    else words.push(word);
    i += run;
  }
  return words.join(' ');
}

/** 0..99 as words: 7 -> "seven", 27 -> "twenty seven". */
export function sayBelow100(n: number): string {
  if (n < 10) return UNITS[n]!;
  if (n < 20) return TEENS[n - 10]!;
  const t = Math.floor(n / 10);
  const u = n % 10;
  return u === 0 ? TENS[t]! : `${TENS[t]} ${UNITS[u]}`;
}

/** A two-digit group as spoken in pairs: "05" -> "oh five", "41" -> "forty one". */
export function sayPair(pair: string): string {
  if (pair.length === 1) return UNITS[Number(pair)]!;
  if (pair[0] === '0') return `oh ${UNITS[Number(pair[1])]}`;
  return sayBelow100(Number(pair));
}

/** 1..9999 as words: 123 -> "one hundred twenty three", 2024 -> "two thousand twenty four". */
export function sayNumber(n: number): string {
  if (n < 100) return sayBelow100(n);
  const parts: string[] = [];
  const th = Math.floor(n / 1000);
  const h = Math.floor((n % 1000) / 100);
  const rest = n % 100;
  if (th > 0) parts.push(`${sayBelow100(th)} thousand`);
  if (h > 0) parts.push(`${UNITS[h]} hundred`);
  if (rest > 0) parts.push(sayBelow100(rest));
  return parts.join(' ');
}

/** A year as said aloud: 1984 -> "nineteen eighty four", 2005 -> "two thousand five", 2027 -> "twenty twenty seven". */
export function sayYear(year: number): string {
  const hi = Math.floor(year / 100);
  const lo = year % 100;
  if (year >= 2000 && year < 2010) return lo === 0 ? 'two thousand' : `two thousand ${UNITS[lo]}`;
  if (lo === 0) return `${sayBelow100(hi)} hundred`;
  return `${sayBelow100(hi)} ${lo < 10 ? `oh ${UNITS[lo]}` : sayBelow100(lo)}`;
}

/** 1..99 as an ordinal: 14 -> "fourteenth", 21 -> "twenty first". */
export function sayOrdinal(n: number): string {
  if (n < 10) return UNIT_ORD[n]!;
  if (n < 20) return TEEN_ORD[n - 10]!;
  const t = Math.floor(n / 10);
  const u = n % 10;
  return u === 0 ? TENS_ORD[t]! : `${TENS[t]} ${UNIT_ORD[u]}`;
}

/** "14th", "1st", "22nd". */
export function ordinalSuffix(n: number): string {
  const mod100 = n % 100;
  if (mod100 >= 11 && mod100 <= 13) return `${n}th`;
  return `${n}${['th', 'st', 'nd', 'rd'][n % 10] ?? 'th'}`;
}
