/**
 * A seeded, deterministic corpus of labelled transcript lines for measuring
 * the redactor: every entity type in written and spoken forms ("4111 1111
 * ...", "four one one one ...", "double five", "oh four twenty seven",
 * "john dot smith at gmail dot com"), lines with several entities, and
 * distractors that must stay intact (quantities, order and tracking numbers,
 * times, prices, ages, rooms, non-Luhn 16-digit numbers, dates that are not
 * birthdays). Also the harder shapes: a misheard card (wrong check digit)
 * after "my card number is", a card in two pieces, cards typed with "/", "_",
 * zero-width spaces or full-width digits, lower-case IBANs, "123 N. Main St.",
 * P.O. boxes, ZIP codes, and a phone number with its area code said after it.
 * Gold spans are recorded while each line is assembled.
 */
import { ibanCheckDigits, luhnCheckDigit, luhnValid } from '../../pipeline/redact/checksums.ts';
import { ordinalSuffix, sayBelow100, sayDigits, sayOrdinal, sayPair, sayYear } from '../../pipeline/redact/spoken.ts';
import type { EntityType, PiiSpan } from '../../pipeline/redact/types.ts';

export interface LabelledLine {
  text: string;
  /** Gold spans in `text` offsets. */
  entities: PiiSpan[];
  /** Which generator made the line ('distractor' lines hold no PII). */
  kind: string;
}

export interface CorpusOptions {
  seed?: number;
  lines?: number;
}

type Piece = string | { type: EntityType; text: string };

/** mulberry32: small, fast, good enough for test data, and the same on every machine. */
export class Rng {
  #s: number;
  constructor(seed: number) { this.#s = seed >>> 0; }
  next(): number {
    this.#s = (this.#s + 0x6d2b79f5) >>> 0;
    let t = this.#s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number { return lo + Math.floor(this.next() * (hi - lo + 1)); }
  pick<T>(list: readonly T[]): T { return list[Math.floor(this.next() * list.length)]!; }
  chance(p: number): boolean { return this.next() < p; }
  digits(n: number): string { let s = ''; for (let i = 0; i < n; i++) s += String(this.int(0, 9)); return s; }
}

function assemble(pieces: Piece[], kind: string): LabelledLine {
  let text = '';
  const entities: PiiSpan[] = [];
  for (const p of pieces) {
    if (typeof p === 'string') { text += p; continue; }
    entities.push({ type: p.type, start: text.length, end: text.length + p.text.length });
    text += p.text;
  }
  return { text, entities, kind };
}

const e = (type: EntityType, text: string): Piece => ({ type, text });
const MONTH_NAMES = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const pad2 = (n: number): string => String(n).padStart(2, '0');

// ---- cards --------------------------------------------------------------

function cardNumber(rng: Rng): string {
  const brand = rng.int(0, 3);
  const [prefix, len] = brand === 0 ? ['4', 16] : brand === 1 ? [`5${rng.int(1, 5)}`, 16] : brand === 2 ? [rng.pick(['34', '37']), 15] : ['6011', 16];
  const body = prefix + rng.digits(len - 1 - prefix.length);
  return body + String(luhnCheckDigit(body));
}

function groupsOf(number: string): string[] {
  if (number.length === 15) return [number.slice(0, 4), number.slice(4, 10), number.slice(10)];
  const out: string[] = [];
  for (let i = 0; i < number.length; i += 4) out.push(number.slice(i, i + 4));
  return out;
}

function sayCard(rng: Rng, number: string): string {
  const groups = groupsOf(number);
  const style = rng.int(0, 5);
  const sep = rng.pick([' ', ', ', ' ', ' uh ']);
  if (style === 0) return number;
  if (style === 1) return groups.join(rng.pick([' ', '-']));
  if (style === 2) return groups.map((g) => sayDigits(g, { oh: rng.chance(0.5), repeats: false })).join(sep);
  if (style === 3) return groups.map((g) => sayDigits(g, { oh: true, repeats: true })).join(sep);
  if (style === 4 && number.length === 16) return groups.map((g) => `${sayPair(g.slice(0, 2))} ${sayPair(g.slice(2))}`).join(sep);
  return groups.map((g) => (rng.chance(0.5) ? g : sayDigits(g, { oh: true }))).join(' ');
}

function sayExpiry(rng: Rng): string {
  const m = rng.int(1, 12);
  const y = rng.int(25, 32);
  switch (rng.int(0, 6)) {
    case 0: return `${pad2(m)}/${y}`;
    case 1: return `${m}/${2000 + y}`;
    case 2: return `${sayPair(pad2(m))} ${sayBelow100(y)}`;
    case 3: return `${MONTH_NAMES[m - 1]!.toLowerCase()} ${sayYear(2000 + y)}`;
    case 4: return `${MONTH_NAMES[m - 1]} ${2000 + y}`;
    case 5: return `${sayDigits(pad2(m), { oh: true })} ${sayDigits(String(y))}`;
    default: return `${pad2(m)} ${y}`;
  }
}

const sayCvv = (rng: Rng, len: number): string => {
  const d = rng.digits(len);
  return rng.chance(0.4) ? d : sayDigits(d, { oh: rng.chance(0.5), repeats: rng.chance(0.3) });
};

function cardLine(rng: Rng): LabelledLine {
  const card = e('CARD', sayCard(rng, cardNumber(rng)));
  const t = rng.int(0, 5);
  if (t === 0) return assemble(['my card number is ', card], 'card');
  if (t === 1) return assemble(['sure, it is a visa, ', card, ' okay'], 'card');
  if (t === 2) return assemble(['uh the long number on the card is ', card, ' and that is it'], 'card');
  if (t === 3) return assemble([card], 'card');
  if (t === 4) return assemble(['I would like to pay with my credit card ', card], 'card');
  return assemble(['the number is ', card, ' yeah'], 'card');
}

/** A card number with a wrong check digit (speech recognition got a digit wrong), a known issuer prefix. */
function misheardCardNumber(rng: Rng): string {
  const good = cardNumber(rng);
  return good.slice(0, -1) + String((Number(good[good.length - 1]) + rng.int(1, 9)) % 10);
}

/** After "my card number is" the digits are a card whatever their check digit. */
function cardMisheardLine(rng: Rng): LabelledLine {
  const card = e('CARD', sayCard(rng, misheardCardNumber(rng)));
  const t = rng.int(0, 2);
  if (t === 0) return assemble(['my card number is ', card], 'card-misheard');
  if (t === 1) return assemble(['the card number is ', card, ' thank you'], 'card-misheard');
  return assemble(['okay my visa card is ', card], 'card-misheard');
}

const ZERO_WIDTH = ['\u200b', '\u200c', '\u2060', '\ufeff'];
const fullWidth = (s: string): string => s.replace(/\d/g, (d) => String.fromCharCode(0xff10 + Number(d)));

/** Cards typed or pasted with odd separators: "/", "_", zero-width spaces, full-width digits. */
function cardWrittenLine(rng: Rng): LabelledLine {
  const groups = groupsOf(cardNumber(rng));
  let text: string;
  switch (rng.int(0, 3)) {
    case 0: text = groups.join('/'); break;
    case 1: text = groups.join('_'); break;
    case 2: { const z = rng.pick(ZERO_WIDTH); text = groups.join(z); break; }
    default: text = fullWidth(groups.join(rng.pick([' ', '', '-']))); break;
  }
  const card = e('CARD', text);
  const t = rng.int(0, 2);
  if (t === 0) return assemble(['my card is ', card], 'card-written');
  if (t === 1) return assemble([card, ' is the number'], 'card-written');
  return assemble(['pay with ', card, ' please'], 'card-written');
}

/** A card said in two pieces with words between: "4111 1111 1111 and the rest is 1111". */
function cardSplitLine(rng: Rng): LabelledLine {
  const number = cardNumber(rng);
  const cut = number.length - 4;
  const spoken = rng.chance(0.5);
  const say = (d: string): string => (spoken ? sayDigits(d, { oh: rng.chance(0.5) }) : d.replace(/(.{4})(?=.)/g, '$1 '));
  const head = e('CARD', say(number.slice(0, cut)));
  const rest = e('CARD', say(number.slice(cut)));
  const t = rng.int(0, 2);
  if (t === 0) return assemble([head, ' and the rest is ', rest], 'card-split');
  if (t === 1) return assemble(['my card is ', head, ', uh, and the last group is ', rest], 'card-split');
  return assemble(['it starts ', head, ' then ', rest], 'card-split');
}

function cardComboLine(rng: Rng): LabelledLine {
  const number = cardNumber(rng);
  const card = e('CARD', sayCard(rng, number));
  const exp = e('CARD_EXPIRY', sayExpiry(rng));
  const cvv = e('CVV', sayCvv(rng, number.length === 15 ? 4 : 3));
  const t = rng.int(0, 4);
  if (t === 0) return assemble(['card ', card, ' expires ', exp, ' and the security code is ', cvv], 'card-combo');
  if (t === 1) return assemble(['it is ', card, ', expiration date ', exp, ', cvv ', cvv], 'card-combo');
  if (t === 2) return assemble(['the expiry is ', exp, ' and the three digit code on the back is ', cvv], 'card-combo');
  if (t === 3) {
    // said in one breath: card, expiry and code with no words between
    const digitsCard = e('CARD', sayDigits(number, { oh: true }));
    const m = rng.int(1, 12);
    const y = rng.int(25, 32);
    const breathExp = e('CARD_EXPIRY', `${sayDigits(pad2(m), { oh: true })} ${sayBelow100(y)}`);
    const breathCvv = e('CVV', sayDigits(rng.digits(number.length === 15 ? 4 : 3)));
    return assemble(['my card is ', digitsCard, ' ', breathExp, ' ', breathCvv], 'card-combo');
  }
  return assemble(['valid thru ', exp, ' and the cvc is ', cvv], 'card-combo');
}

// ---- SSN ----------------------------------------------------------------

function ssnNumber(rng: Rng): string {
  let area = rng.int(1, 899);
  if (area === 666) area = 667;
  return String(area).padStart(3, '0') + pad2(rng.int(1, 99)) + String(rng.int(1, 9999)).padStart(4, '0');
}

function ssnLine(rng: Rng): LabelledLine {
  const n = ssnNumber(rng);
  const [a, b, c] = [n.slice(0, 3), n.slice(3, 5), n.slice(5)];
  const forms = [
    `${a}-${b}-${c}`, `${a} ${b} ${c}`, n,
    sayDigits(n, { oh: rng.chance(0.5) }),
    `${sayDigits(a, { oh: true })}, ${sayDigits(b, { oh: true })}, ${sayDigits(c, { oh: true })}`,
    `${sayDigits(a, { repeats: true })} ${sayDigits(b, { repeats: true })} ${sayDigits(c, { repeats: true })}`,
  ];
  const ssn = e('SSN', rng.pick(forms));
  const t = rng.int(0, 4);
  if (t === 0) return assemble(['my social is ', ssn], 'ssn');
  if (t === 1) return assemble(['social security number ', ssn, ' thanks'], 'ssn');
  if (t === 2) return assemble(['SSN: ', ssn], 'ssn');
  if (t === 3) return assemble(['for verification my ssn is ', ssn, ' okay'], 'ssn');
  const written = e('SSN', `${a}-${b}-${c}`);
  return assemble(['yes it is ', written], 'ssn');
}

// ---- phones -------------------------------------------------------------

function nanp(rng: Rng): [string, string, string] {
  return [String(rng.int(2, 9)) + rng.digits(2), String(rng.int(2, 9)) + rng.digits(2), rng.digits(4)];
}

function sayPhone(rng: Rng): string {
  const [a, x, l] = nanp(rng);
  switch (rng.int(0, 13)) {
    case 0: return `(${a}) ${x}-${l}`;
    case 1: return `${a}-${x}-${l}`;
    case 2: return `${a}.${x}.${l}`;
    case 3: return `+1 ${a} ${x} ${l}`;
    case 4: return `1-${a}-${x}-${l}`;
    case 5: return `${a}${x}${l}`;
    case 6: return `${sayDigits(a)}, ${sayDigits(x)}, ${sayDigits(l, { oh: true })}`;
    case 7: return `one eight hundred ${sayDigits(x)} ${sayDigits(l, { repeats: true, oh: true })}`;
    case 8: return `${sayDigits(a + x + l, { repeats: true, oh: true })}`;
    case 9: return `+44 20 ${rng.digits(4)} ${rng.digits(4)}`;
    case 10: return `+44 7${rng.digits(3)} ${rng.digits(6)}`;
    case 11: return `+33 ${rng.int(1, 9)} ${rng.digits(2)} ${rng.digits(2)} ${rng.digits(2)} ${rng.digits(2)}`;
    case 12: return `0${rng.int(1, 7)}${rng.digits(3)} ${rng.digits(6)}`;
    default: return `plus four four ${sayDigits('7' + rng.digits(9), { oh: true })}`;
  }
}

/** The number first, its area code after: "five five five, one two three four, area code two one two". */
function areaCodeAfterLine(rng: Rng): LabelledLine {
  const [a, x, l] = nanp(rng);
  const spoken = rng.chance(0.5);
  const text = spoken
    ? `${sayDigits(x)}, ${sayDigits(l, { oh: true })}, ${rng.pick(['area code', 'and the area code is'])} ${sayDigits(a, { oh: true })}`
    : `${x}-${l}, area code ${a}`;
  const phone = e('PHONE', text);
  return rng.chance(0.5) ? assemble(['my number is ', phone], 'phone-area-after') : assemble(['you can reach me at ', phone, ' after six'], 'phone-area-after');
}

function phoneLine(rng: Rng): LabelledLine {
  const phone = e('PHONE', sayPhone(rng));
  const t = rng.int(0, 5);
  if (t === 0) return assemble(['you can call me back on ', phone], 'phone');
  if (t === 1) return assemble(['my number is ', phone, ' thanks'], 'phone');
  if (t === 2) return assemble(['reach me at ', phone, ' after five'], 'phone');
  if (t === 3) return assemble([phone, ' is my cell'], 'phone');
  if (t === 4) return assemble(['yeah so it is ', phone], 'phone');
  return assemble(['text me on ', phone, ' please'], 'phone');
}

// ---- email --------------------------------------------------------------

const FIRST = ['john', 'jane', 'mike', 'sarah', 'alex', 'priya', 'chen', 'maria', 'david', 'emma', 'omar', 'lucy'];
const LAST = ['smith', 'doe', 'jones', 'patel', 'garcia', 'nguyen', 'brown', 'lee', 'khan', 'muller'];
const DOMAINS: Array<[string, string]> = [
  ['gmail.com', 'gmail dot com'], ['yahoo.com', 'yahoo dot com'], ['outlook.com', 'outlook dot com'],
  ['example.org', 'example dot org'], ['company.co.uk', 'company dot co dot uk'], ['icloud.com', 'icloud dot com'],
  ['proton.me', 'proton dot me'], ['acme.io', 'acme dot io'],
];

function sayEmail(rng: Rng): string {
  const f = rng.pick(FIRST);
  const l = rng.pick(LAST);
  const [dw, ds] = rng.pick(DOMAINS);
  const nn = rng.int(10, 99);
  switch (rng.int(0, 7)) {
    case 7: return `${f} ${l} at ${ds}`; // no separator: only the last word reads as the local part
    case 0: return `${f}.${l}@${dw}`;
    case 1: return `${f[0]}${l}${nn}@${dw}`;
    case 2: return `${f}_${l}@${dw}`;
    case 3: return `${f} dot ${l} at ${ds}`;
    case 4: return `${f} underscore ${l} at ${ds}`;
    case 5: return `${f} ${sayBelow100(nn)} at ${ds}`;
    default: return `${f[0]} ${l} at ${ds}`;
  }
}

function emailLine(rng: Rng): LabelledLine {
  const email = e('EMAIL', sayEmail(rng));
  const t = rng.int(0, 3);
  if (t === 0) return assemble(['my email is ', email], 'email');
  if (t === 1) return assemble(['send it to ', email, ' please'], 'email');
  if (t === 2) return assemble(['uh the address is ', email, ' all lowercase'], 'email');
  return assemble(['you can email me at ', email], 'email');
}

// ---- IBAN ---------------------------------------------------------------

const BANK_LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ'; // no I or O: spoken "o" reads as zero next to digits

function ibanNumber(rng: Rng): string {
  const letters = (n: number): string => { let s = ''; for (let i = 0; i < n; i++) s += rng.pick([...BANK_LETTERS]); return s; };
  const [country, bban] = rng.pick<[string, () => string]>([
    ['GB', () => letters(4) + rng.digits(14)],
    ['DE', () => rng.digits(18)],
    ['FR', () => rng.digits(23)],
    ['ES', () => rng.digits(20)],
    ['NL', () => letters(4) + rng.digits(10)],
    ['IT', () => letters(1) + rng.digits(22)],
    ['BE', () => rng.digits(12)],
    ['CH', () => rng.digits(17)],
  ]);
  const b = bban();
  return country + ibanCheckDigits(country, b) + b;
}

function sayIban(rng: Rng, iban: string): string {
  const style = rng.int(0, 3);
  if (style === 0) return iban;
  if (style === 1) return iban.replace(/(.{4})(?=.)/g, '$1 ');
  if (style === 3) return iban.toLowerCase().replace(/(.{4})(?=.)/g, '$1 ');
  // spoken: letters one by one, digits as words, a pause every four characters
  const groups = iban.match(/.{1,4}/g) ?? [];
  return groups.map((g) => [...g].map((c) => (/\d/.test(c) ? sayDigits(c) : c.toLowerCase())).join(' ')).join(', ');
}

function ibanLine(rng: Rng): LabelledLine {
  const iban = e('IBAN', sayIban(rng, ibanNumber(rng)));
  const t = rng.int(0, 2);
  if (t === 0) return assemble(['my IBAN is ', iban], 'iban');
  if (t === 1) return assemble(['please transfer it to ', iban, ' thank you'], 'iban');
  return assemble(['the account is ', iban], 'iban');
}

// ---- date of birth ------------------------------------------------------

function sayBirthDate(rng: Rng): string {
  const y = rng.int(1940, 2005);
  const m = rng.int(1, 12);
  const d = rng.int(1, 28);
  const month = MONTH_NAMES[m - 1]!;
  switch (rng.int(0, 10)) {
    case 0: return `${pad2(m)}/${pad2(d)}/${y}`;
    case 1: return `${m}/${d}/${String(y).slice(2)}`;
    case 2: return `${y}-${pad2(m)}-${pad2(d)}`;
    case 3: return `${month} ${ordinalSuffix(d)}, ${y}`;
    case 4: return `${month} ${d}, ${y}`;
    case 5: return `${d} ${month} ${y}`;
    case 6: return `${month.toLowerCase()} ${sayOrdinal(d)} ${sayYear(y)}`;
    case 7: return `the ${sayOrdinal(d)} of ${month.toLowerCase()} ${sayYear(y)}`;
    case 8: return `${sayPair(pad2(m))} ${sayPair(pad2(d))} ${sayBelow100(y % 100)}`;
    case 9: return `${month.toLowerCase()} the ${sayOrdinal(d)}, ${sayYear(y)}`;
    default: return `${month} ${ordinalSuffix(d)}`;
  }
}

/** A birth date piece; a leading "the" stays outside the gold span (it is not personal data). */
function dobPieces(rng: Rng): Piece[] {
  const said = sayBirthDate(rng);
  return said.startsWith('the ') ? ['the ', e('DOB', said.slice(4))] : [e('DOB', said)];
}

function dobLine(rng: Rng): LabelledLine {
  const dob = dobPieces(rng);
  const t = rng.int(0, 4);
  if (t === 0) return assemble(['I was born on ', ...dob], 'dob');
  if (t === 1) return assemble(['my date of birth is ', ...dob, ' yes'], 'dob');
  if (t === 2) return assemble(['DOB ', ...dob], 'dob');
  if (t === 3) return assemble(['date of birth: ', ...dob], 'dob');
  return assemble(['my birthday is ', ...dob, ' actually'], 'dob');
}

// ---- address ------------------------------------------------------------

const STREETS = ['Main', 'Oak', 'Maple', 'Elm', 'Cedar', 'Pine', 'Washington', 'Lincoln', 'Sunset', 'Park', 'Lake', 'Hill', 'Church', 'Mill', 'Highland', 'Pennsylvania', 'Martin Luther King'];
const SUFFIXES = ['Street', 'St', 'Avenue', 'Ave', 'Road', 'Rd', 'Lane', 'Drive', 'Boulevard', 'Blvd', 'Court', 'Place', 'Way', 'Terrace', 'Parkway'];

function sayAddress(rng: Rng): string {
  const n = rng.int(1, 9999);
  const spokenNumber = n >= 1000
    ? `${sayBelow100(Math.floor(n / 100))} ${n % 100 === 0 ? 'hundred' : sayPair(pad2(n % 100))}`
    : n >= 100 && rng.chance(0.5) ? sayDigits(String(n)) : n >= 100 ? `${sayBelow100(Math.floor(n / 100))} ${sayPair(pad2(n % 100))}` : sayBelow100(n);
  const spoken = rng.chance(0.45);
  const number = spoken ? spokenNumber : String(n);
  const dir = rng.chance(0.2) ? `${rng.pick(['North', 'South', 'East', 'West'])} ` : '';
  let name = rng.pick(STREETS);
  let suffix = rng.pick(SUFFIXES);
  if (spoken) { name = name.toLowerCase(); suffix = suffix.toLowerCase().replace(/^(st|ave|rd|blvd)$/, (s) => ({ st: 'street', ave: 'avenue', rd: 'road', blvd: 'boulevard' })[s] ?? s); }
  const unit = rng.chance(0.25) ? (spoken ? ` apartment ${sayBelow100(rng.int(1, 40))}` : `, Apt ${rng.int(1, 40)}${rng.pick(['', 'B', 'C'])}`) : '';
  return `${number} ${spoken ? dir.toLowerCase() : dir}${name} ${suffix}${unit}`;
}

/** "123 N. Main St.", a post office box, or a ZIP code; written and spoken. */
function sayPostal(rng: Rng): Piece[] {
  const street = rng.pick(STREETS);
  switch (rng.int(0, 5)) {
    case 0: return [e('ADDRESS', `${rng.int(1, 9999)} ${rng.pick(['N.', 'S.', 'E.', 'W.'])} ${street} ${rng.pick(['St.', 'Ave.', 'Rd.', 'Blvd.'])}`)];
    case 1: {
      const box = String(rng.int(1, 99999));
      return [e('ADDRESS', rng.pick([`P.O. Box ${box}`, `PO Box ${box}`, `po box ${box}`, `p o box ${sayDigits(box, { oh: true })}`, `post office box ${sayDigits(box)}`]))];
    }
    case 2: return ['my zip code is ', e('ADDRESS', rng.chance(0.5) ? rng.digits(5) : sayDigits(rng.digits(5), { oh: rng.chance(0.5) }))];
    case 3: return ['the zip is ', e('ADDRESS', `${rng.digits(5)}-${rng.digits(4)}`)];
    case 4: return [`${rng.pick(['Springfield', 'Portland', 'Albany'])}, `, e('ADDRESS', `${rng.pick(['IL', 'OR', 'NY', 'TX', 'CA'])} ${rng.digits(5)}`)];
    default: return ['postal code ', e('ADDRESS', sayDigits(rng.digits(5)))];
  }
}

function postalLine(rng: Rng): LabelledLine {
  const postal = sayPostal(rng);
  const t = rng.int(0, 2);
  if (t === 0) return assemble(['send it to ', ...postal], 'postal');
  if (t === 1) return assemble(['yes, ', ...postal, ' is right'], 'postal');
  return assemble(['my mailing address is ', ...postal], 'postal');
}

function addressLine(rng: Rng): LabelledLine {
  const address = e('ADDRESS', sayAddress(rng));
  const t = rng.int(0, 4);
  if (t === 0) return assemble(['I live at ', address], 'address');
  if (t === 1) return assemble(['ship it to ', address, ' please'], 'address');
  if (t === 2) return assemble(['my address is ', address], 'address');
  if (t === 3) return assemble(['the billing address is ', address, ', springfield'], 'address');
  return assemble(['send the package to ', address], 'address');
}

// ---- several entities ---------------------------------------------------

function multiLine(rng: Rng): LabelledLine {
  const t = rng.int(0, 3);
  if (t === 0) return assemble(['my number is ', e('PHONE', sayPhone(rng)), ' and my email is ', e('EMAIL', sayEmail(rng))], 'multi');
  if (t === 1) return assemble(['I was born on ', ...dobPieces(rng), ' and I live at ', e('ADDRESS', sayAddress(rng))], 'multi');
  if (t === 2) return assemble(['I need two tickets, my card is ', e('CARD', sayCard(rng, cardNumber(rng))), ' and my phone is ', e('PHONE', sayPhone(rng))], 'multi');
  return assemble(['order 12 please, social is ', e('SSN', `${sayDigits(ssnNumber(rng), { oh: true })}`), ' and the email is ', e('EMAIL', sayEmail(rng))], 'multi');
}

// ---- distractors: numbers that are not PII ------------------------------

function nonLuhn16(rng: Rng): string {
  const base = String(rng.int(1, 9)) + rng.digits(15);
  return luhnValid(base) ? base.slice(0, 15) + String((Number(base[15]) + 1) % 10) : base;
}

function distractorLine(rng: Rng): LabelledLine {
  const small = rng.int(2, 12);
  const say = (n: number): string => (rng.chance(0.5) ? String(n) : sayBelow100(n));
  const lines: Array<() => string> = [
    () => `I need ${say(small)} tickets for friday`,
    () => `order ${rng.int(1, 999)} has not arrived yet`,
    () => `my order number is ${rng.chance(0.5) ? rng.digits(10) : sayDigits(rng.digits(10))}`,
    () => `the tracking number is ${nonLuhn16(rng).replace(/(.{4})(?=.)/g, '$1 ')}`,
    () => `my gift card balance is ${say(rng.int(10, 90))} dollars`,
    () => `the serial number is ${nonLuhn16(rng)} on the back`,
    () => `I'm ${sayBelow100(rng.int(18, 90))} years old`,
    () => `I'm ${sayBelow100(rng.int(18, 90))}`,
    () => `we are in room ${rng.chance(0.5) ? rng.int(100, 999) : sayDigits(String(rng.int(100, 999)), { oh: true })}`,
    () => `call me at ${sayBelow100(rng.int(1, 11))} pm`,
    () => `can we meet at ${rng.int(1, 12)}:${pad2(rng.int(0, 59))} tomorrow`,
    () => `it costs $${rng.int(1, 2000)}.${pad2(rng.int(0, 99))}`,
    () => `that is ${sayBelow100(rng.int(10, 99))} ${sayBelow100(rng.int(10, 99))} for the pair`,
    () => `the total was ${rng.int(1, 999)} dollars and ${rng.int(1, 99)} cents`,
    () => `flight UA ${rng.int(100, 9999)} lands at ${rng.int(1, 12)} thirty`,
    () => `the confirmation code is ${rng.digits(6)}`,
    () => `reference number ${sayDigits(rng.digits(rng.int(7, 9)), { oh: true })}`,
    () => `I walked ${say(small)} blocks down the road`,
    () => `we have ${say(small)} kids and ${say(rng.int(1, 4))} dogs`,
    () => `the meeting is on ${rng.pick(MONTH_NAMES)} ${ordinalSuffix(rng.int(1, 28))} at ten thirty`,
    () => `my passport expired last year`,
    () => `I'd like ${say(small)} boxes delivered on the ${sayOrdinal(rng.int(1, 28))}`,
    () => `we lived there between ${rng.int(1980, 1999)} and ${sayYear(rng.int(2000, 2020))}`,
    () => `the door code is ${sayDigits(rng.digits(4))}`,
    () => `the zip file is ${rng.int(2, 90)} megabytes`,
    () => `we got ${rng.int(1, 9)}/${rng.int(10, 20)} right and the file is report_${rng.int(2015, 2024)}_final`,
    () => `turn north on main street after ${say(small)} blocks`,
    () => `I have ${rng.int(10000, 99999)} points on my card`,
    () => `take the ${sayOrdinal(rng.int(1, 9))} exit, then box ${say(small)} is on the left`,
    () => `turn to page ${rng.int(1, 400)} and read ${say(small)} lines`,
    () => `there are ${say(small)} lanes on the highway`,
    () => `I'll be there in ${say(small)} minutes, at the latest by ${rng.int(1, 12)} pm`,
    () => `oh I see, ${sayBelow100(small)} of them, one at a time`,
    () => `invoice ${rng.int(2019, 2025)}${pad2(rng.int(1, 12))}${pad2(rng.int(1, 28))} was paid`,
    () => `version ${rng.int(1, 9)}.${rng.int(0, 20)}.${rng.int(0, 9)} is installed`,
    () => `I bought ${sayBelow100(rng.int(20, 99))} hundred shares at ${say(small)} dollars each`,
    () => `my account has ${rng.int(1000, 99999)} points`,
    () => `my pin is ${rng.digits(4)}`,
    () => `the last four digits of the card are ${rng.chance(0.5) ? rng.digits(4) : sayDigits(rng.digits(4))}`,
    () => `give me a second, I'll need one, maybe two`,
    () => `it was a ${small} for 1 deal and we need ${say(small)} or ${say(small + 1)} rooms`,
    () => `the line is open twenty four seven, I work nine to five`,
    () => `we sold ${rng.int(1000, 9999)} units in ${rng.int(2015, 2024)}`,
    () => `my security code expired, I need a new one`,
  ];
  return assemble([rng.pick(lines)()], 'distractor');
}

const GENERATORS: ReadonlyArray<[number, (rng: Rng) => LabelledLine]> = [
  [10, cardLine], [3, cardMisheardLine], [3, cardWrittenLine], [3, cardSplitLine], [8, cardComboLine], [8, ssnLine],
  [12, phoneLine], [3, areaCodeAfterLine], [8, emailLine], [6, ibanLine], [8, dobLine], [8, addressLine], [4, postalLine],
  [6, multiLine], [26, distractorLine],
];

/** The labelled corpus: the same lines for the same seed. At least 500 lines by default. */
export function generateCorpus(options: CorpusOptions = {}): LabelledLine[] {
  const rng = new Rng(options.seed ?? 20240611);
  const count = options.lines ?? 800;
  const total = GENERATORS.reduce((s, [w]) => s + w, 0);
  const out: LabelledLine[] = [];
  for (let i = 0; i < count; i++) {
    let r = rng.next() * total;
    let gen = GENERATORS[GENERATORS.length - 1]![1];
    for (const [w, g] of GENERATORS) { if (r < w) { gen = g; break; } r -= w; }
    out.push(gen(rng));
  }
  return out;
}
