/**
 * The shapes PII redaction speaks in: the entity types, a detected span in the
 * original text, and the redacted result handed to storage and the CLI.
 */

export const ENTITY_TYPES = [
  'CARD',
  'CARD_EXPIRY',
  'CVV',
  'SSN',
  'PHONE',
  'EMAIL',
  'IBAN',
  'DOB',
  'ADDRESS',
] as const;

export type EntityType = (typeof ENTITY_TYPES)[number];

/**
 * What a redacted text may carry: the entity types above, or DIGITS, a run of
 * keypad digits no rule names (a PIN, an account number), masked whole.
 */
export type RedactedType = EntityType | 'DIGITS';

/** A redacted entity. `start`/`end` are UTF-16 offsets into the REDACTED text: text.slice(start, end) === `[TYPE]`. */
export interface RedactedEntity {
  type: RedactedType;
  start: number;
  end: number;
}

export interface RedactionResult {
  /** The input with every detected span replaced by its tag, e.g. `my card is [CARD]`. */
  text: string;
  /** In the order they appear in `text`. */
  entities: RedactedEntity[];
}

/** A detected span in the ORIGINAL text (half-open, UTF-16 offsets). Never carries the text itself. */
export interface PiiSpan {
  type: EntityType;
  start: number;
  end: number;
}

export const tagFor = (type: RedactedType): string => `[${type}]`;
