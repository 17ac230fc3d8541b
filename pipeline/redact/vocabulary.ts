/**
 * Word lists the redactor reads speech with: spoken numbers, months, street
 * suffixes, the context phrases that announce an entity ("security code",
 * "date of birth") and the cue words that mark a number as harmless ("order",
 * "tracking"). Kept in one place so the detectors stay about structure.
 */

export const UNIT_WORDS: ReadonlyMap<string, number> = new Map([
  ['zero', 0], ['one', 1], ['two', 2], ['three', 3], ['four', 4],
  ['five', 5], ['six', 6], ['seven', 7], ['eight', 8], ['nine', 9],
]);

export const TEEN_WORDS: ReadonlyMap<string, number> = new Map([
  ['ten', 10], ['eleven', 11], ['twelve', 12], ['thirteen', 13], ['fourteen', 14],
  ['fifteen', 15], ['sixteen', 16], ['seventeen', 17], ['eighteen', 18], ['nineteen', 19],
]);

export const TENS_WORDS: ReadonlyMap<string, number> = new Map([
  ['twenty', 20], ['thirty', 30], ['forty', 40], ['fourty', 40], ['fifty', 50],
  ['sixty', 60], ['seventy', 70], ['eighty', 80], ['ninety', 90],
]);

export const UNIT_ORDINALS: ReadonlyMap<string, number> = new Map([
  ['first', 1], ['second', 2], ['third', 3], ['fourth', 4], ['fifth', 5],
  ['sixth', 6], ['seventh', 7], ['eighth', 8], ['ninth', 9],
]);

export const TEEN_ORDINALS: ReadonlyMap<string, number> = new Map([
  ['tenth', 10], ['eleventh', 11], ['twelfth', 12], ['thirteenth', 13], ['fourteenth', 14],
  ['fifteenth', 15], ['sixteenth', 16], ['seventeenth', 17], ['eighteenth', 18], ['nineteenth', 19],
]);

export const TENS_ORDINALS: ReadonlyMap<string, number> = new Map([
  ['twentieth', 20], ['thirtieth', 30], ['fortieth', 40], ['fiftieth', 50],
  ['sixtieth', 60], ['seventieth', 70], ['eightieth', 80], ['ninetieth', 90],
]);

/** "oh" / "o" read as zero only next to other numbers ("one oh one"), never as an interjection. */
export const ZERO_LETTER_WORDS: ReadonlySet<string> = new Set(['oh', 'o']);

export const REPEAT_WORDS: ReadonlyMap<string, number> = new Map([
  ['double', 2], ['triple', 3], ['treble', 3],
]);

export const MONTHS: ReadonlyMap<string, number> = new Map([
  ['january', 1], ['jan', 1], ['february', 2], ['feb', 2], ['march', 3], ['mar', 3],
  ['april', 4], ['apr', 4], ['may', 5], ['june', 6], ['jun', 6], ['july', 7], ['jul', 7],
  ['august', 8], ['aug', 8], ['september', 9], ['sep', 9], ['sept', 9], ['october', 10],
  ['oct', 10], ['november', 11], ['nov', 11], ['december', 12], ['dec', 12],
]);

export const STREET_SUFFIXES: ReadonlySet<string> = new Set([
  'street', 'st', 'avenue', 'ave', 'av', 'road', 'rd', 'lane', 'ln', 'drive', 'dr',
  'boulevard', 'blvd', 'court', 'ct', 'place', 'pl', 'way', 'terrace', 'ter', 'circle', 'cir',
  'parkway', 'pkwy', 'highway', 'hwy', 'square', 'sq', 'crescent', 'close', 'trail', 'trl',
  'alley', 'row', 'plaza', 'grove', 'gardens',
]);

export const UNIT_DESIGNATORS: ReadonlySet<string> = new Set([
  'apartment', 'apt', 'unit', 'suite', 'ste', 'flat', 'floor', 'fl', 'room', 'rm',
]);

/** Words that cannot be part of a street name: function words, and the nouns that follow a quantity. */
export const NOT_STREET_NAME: ReadonlySet<string> = new Set([
  'a', 'an', 'the', 'of', 'to', 'in', 'on', 'at', 'by', 'for', 'from', 'with', 'and', 'or', 'but',
  'my', 'your', 'his', 'her', 'our', 'their', 'its', 'is', 'are', 'was', 'were', 'be', 'been',
  'i', 'you', 'he', 'she', 'we', 'they', 'it', 'that', 'this', 'these', 'those', 'there', 'here',
  'down', 'up', 'along', 'across', 'off', 'over', 'under', 'near', 'past', 'per', 'each', 'more',
  'less', 'than', 'about', 'around', 'just', 'only', 'then', 'so', 'not', 'no', 'all', 'some',
  'times', 'minutes', 'minute', 'hours', 'hour', 'days', 'day', 'weeks', 'week', 'months', 'years',
  'year', 'miles', 'mile', 'blocks', 'block', 'km', 'kilometers', 'meters', 'feet', 'tickets',
  'ticket', 'dollars', 'dollar', 'bucks', 'cents', 'euros', 'pounds', 'items', 'people', 'kids',
  'boxes', 'pm', 'am', 'percent', 'nights', 'rooms', 'orders', 'cars', 'lanes', 'ways', 'roads',
  'streets', 'o\'clock', 'exit', 'exits', 'old',
]);

/** Words a speaker fills pauses with; they may sit inside a spoken number. */
export const FILLER_WORDS: ReadonlySet<string> = new Set(['uh', 'um', 'er', 'erm', 'ah', 'hmm', 'umm', 'uhh']);

/** Phrases, as word arrays, that announce an entity in the words before it. */
export const CARD_CONTEXT = phrases(['card', 'visa', 'mastercard', 'amex', 'american express', 'discover', 'credit', 'debit', 'card number', 'long number']);
export const SSN_CONTEXT = phrases(['ssn', 'social', 'social security', 'socials', 'tax id', 'taxpayer']);
export const PHONE_CONTEXT = phrases(['phone', 'call', 'cell', 'mobile', 'reach', 'text', 'fax', 'landline', 'telephone', 'callback', 'contact number', 'phone number', 'my number', 'area code']);
export const EXPIRY_CONTEXT = phrases(['expires', 'expiry', 'expiration', 'exp', 'expiring', 'expire', 'expired', 'valid thru', 'valid through', 'valid until', 'good thru', 'good through']);
export const CVV_CONTEXT = phrases(['cvv', 'cvc', 'csc', 'cvv2', 'cvc2', 'cid', 'security code', 'security number', 'verification code', 'verification number', 'card code', 'digit code', 'code on the back', 'number on the back', 'three digits', 'four digits']);
export const DOB_CONTEXT = phrases(['born', 'date of birth', 'dob', 'd o b', 'birthday', 'birth date', 'birthdate', 'b day']);
/** Phrases that announce a ZIP or postal code. */
export const ZIP_CONTEXT = phrases(['zip', 'zip code', 'zipcode', 'postal code', 'postcode', 'post code']);

/** US state and territory codes (lower case; matched only when written in capitals). */
export const STATE_CODES: ReadonlySet<string> = new Set([
  'al', 'ak', 'az', 'ar', 'ca', 'co', 'ct', 'de', 'dc', 'fl', 'ga', 'hi', 'id', 'il', 'in', 'ia', 'ks', 'ky', 'la', 'me',
  'md', 'ma', 'mi', 'mn', 'ms', 'mo', 'mt', 'ne', 'nv', 'nh', 'nj', 'nm', 'ny', 'nc', 'nd', 'oh', 'ok', 'or', 'pa', 'ri',
  'sc', 'sd', 'tn', 'tx', 'ut', 'vt', 'va', 'wa', 'wv', 'wi', 'wy', 'pr', 'gu', 'vi',
]);

/** US state names, lower case, as they are written or said before a ZIP. */
export const STATE_NAMES: ReadonlySet<string> = new Set([
  'alabama', 'alaska', 'arizona', 'arkansas', 'california', 'colorado', 'connecticut', 'delaware', 'florida', 'georgia',
  'hawaii', 'idaho', 'illinois', 'indiana', 'iowa', 'kansas', 'kentucky', 'louisiana', 'maine', 'maryland',
  'massachusetts', 'michigan', 'minnesota', 'mississippi', 'missouri', 'montana', 'nebraska', 'nevada', 'new hampshire',
  'new jersey', 'new mexico', 'new york', 'north carolina', 'north dakota', 'ohio', 'oklahoma', 'oregon', 'pennsylvania',
  'rhode island', 'south carolina', 'south dakota', 'tennessee', 'texas', 'utah', 'vermont', 'virginia', 'washington',
  'west virginia', 'wisconsin', 'wyoming',
]);

/** Cue words after which a bare number is an ordinary reference, not a phone or SSN. */
export const HARMLESS_NUMBER_CUES = phrases([
  'order', 'tracking', 'confirmation', 'reference', 'ref', 'invoice', 'ticket', 'booking',
  'reservation', 'flight', 'room', 'policy', 'case', 'claim', 'member', 'customer', 'account',
  'model', 'serial', 'part', 'item', 'sku', 'pin', 'zip', 'postcode', 'postal',
  'version', 'page', 'gate', 'seat', 'route', 'bus', 'train', 'platform', 'extension', 'ext',
  'employee', 'id', 'student', 'badge', 'meeting', 'transaction', 'receipt',
]);
/** Words skipped between a context phrase and the value it announces ("the code is 123"). */
export const LEAD_IN_WORDS: ReadonlySet<string> = new Set([
  'is', 'are', 'was', 'on', 'in', 'the', 'of', 'it', 'its', 'it\'s', 'that\'s', 'thats', 'date', 'number', 'my', 'at',
  'end', 'back', 'code', 'card', 'numbers', 'digits', 'will', 'be', 'would', 'should', 'as', 'well', 'and', 'then',
  'say', 'yeah', 'ok', 'okay', 'so', 'um', 'uh', 'er', 'ah', 'just', 'i', 'think', 'which', 'reads',
]);

export const EMAIL_TLDS: ReadonlySet<string> = new Set([
  'com', 'org', 'net', 'edu', 'gov', 'mil', 'int', 'io', 'co', 'uk', 'us', 'ca', 'de', 'fr', 'es', 'it',
  'nl', 'be', 'ch', 'at', 'au', 'nz', 'ie', 'in', 'jp', 'cn', 'br', 'mx', 'se', 'no', 'dk', 'fi', 'pl',
  'info', 'biz', 'me', 'ai', 'app', 'dev', 'tv', 'us', 'eu', 'online', 'site', 'xyz', 'email', 'mail',
]);

/** Total IBAN length per country (ISO 13616 registry, common countries). */
export const IBAN_LENGTHS: ReadonlyMap<string, number> = new Map([
  ['AD', 24], ['AE', 23], ['AL', 28], ['AT', 20], ['AZ', 28], ['BA', 20], ['BE', 16], ['BG', 22],
  ['BH', 22], ['BR', 29], ['CH', 21], ['CR', 22], ['CY', 28], ['CZ', 24], ['DE', 22], ['DK', 18],
  ['DO', 28], ['EE', 20], ['EG', 29], ['ES', 24], ['FI', 18], ['FO', 18], ['FR', 27], ['GB', 22],
  ['GE', 22], ['GI', 23], ['GL', 18], ['GR', 27], ['GT', 28], ['HR', 21], ['HU', 28], ['IE', 22],
  ['IL', 23], ['IS', 26], ['IT', 27], ['JO', 30], ['KW', 30], ['KZ', 20], ['LB', 28], ['LI', 21],
  ['LT', 20], ['LU', 20], ['LV', 21], ['MC', 27], ['MD', 24], ['ME', 22], ['MK', 19], ['MR', 27],
  ['MT', 31], ['MU', 30], ['NL', 18], ['NO', 15], ['PK', 24], ['PL', 28], ['PS', 29], ['PT', 25],
  ['QA', 29], ['RO', 24], ['RS', 22], ['SA', 24], ['SE', 24], ['SI', 19], ['SK', 24], ['SM', 27],
  ['TN', 24], ['TR', 26], ['UA', 29], ['VG', 24], ['XK', 20],
]);

export type Phrase = readonly string[];

function phrases(list: string[]): readonly Phrase[] {
  return list.map((p) => p.split(' '));
}
