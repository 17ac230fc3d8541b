/**
 * Contacts' custom attributes: a flat JSON object of the tenant's own fields
 * about a contact ({"plan": "gold", "visits": 3, "vip": true}). The rules, the
 * same for the API (zod schemas below), the CSV import (a header names a key)
 * and the stored row:
 *   - a key is 1-64 characters: a letter, then letters, digits, `_`, `-` or
 *     `.` (so never `__proto__` nor anything a spreadsheet or a template
 *     engine reads as syntax);
 *   - a value is a string (no control characters but tab and line breaks), a
 *     finite number or a boolean;
 *   - at most 50 keys and 4 KiB as JSON (UTF-8).
 * An update merges: the keys given are set, a key given `null` is removed,
 * the others stay. Values are personal data: they are never logged, and the
 * audit log (append-only, it outlives an erasure) records which keys changed
 * and the kind of value before and after, never the values.
 */
import { z } from 'zod';
import type { ContactAttributes } from '../../storage/index.ts';
import { invalid } from './errors.ts';

export type { ContactAttributes };
export type AttributeValue = string | number | boolean;
/** An update: a value sets the key, null removes it. */
export type AttributeChanges = Record<string, AttributeValue | null>;

export const ATTRIBUTE_KEY = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
export const MAX_ATTRIBUTES = 50;
export const MAX_ATTRIBUTES_BYTES = 4096;
// Tab, LF and CR are allowed; every other C0 control and DEL is not (Postgres' jsonb refuses \u0000 anyway).
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const KEY_RULE = 'a letter, then up to 63 letters, digits, _, - or .';

/** Why `key` cannot name an attribute, or undefined when it can. */
export function attributeKeyProblem(key: string): string | undefined {
  return ATTRIBUTE_KEY.test(key) ? undefined : `attribute names are ${KEY_RULE}`;
}

/** Why `value` cannot be an attribute's value, or undefined when it can. */
export function attributeValueProblem(value: unknown): string | undefined {
  if (typeof value === 'boolean') return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'attribute numbers must be finite';
  if (typeof value === 'string') return CONTROL.test(value) ? 'attribute text must not hold control characters' : undefined;
  return 'attribute values are text, numbers or booleans';
}

/** Why a whole set of attributes is too big, or undefined when it fits. */
export function attributesSizeProblem(attributes: ContactAttributes): string | undefined {
  if (Object.keys(attributes).length > MAX_ATTRIBUTES) return `at most ${MAX_ATTRIBUTES} attributes per contact`;
  if (Buffer.byteLength(JSON.stringify(attributes)) > MAX_ATTRIBUTES_BYTES) return `attributes must fit in ${MAX_ATTRIBUTES_BYTES} bytes as JSON`;
  return undefined;
}

/** A checked copy of `attributes` (own keys only); throws `invalid` on field "attributes" naming the first problem. */
export function checkedAttributes(attributes: Record<string, unknown>): ContactAttributes {
  const out: ContactAttributes = {};
  for (const [key, value] of Object.entries(attributes)) {
    const problem = attributeKeyProblem(key) ?? attributeValueProblem(value);
    if (problem) throw invalid(problem, 'attributes');
    out[key] = value as AttributeValue;
  }
  const size = attributesSizeProblem(out);
  if (size) throw invalid(size, 'attributes');
  return out;
}

/** `current` with `changes` applied (null removes a key), checked as a whole. */
export function mergedAttributes(current: ContactAttributes, changes: AttributeChanges): ContactAttributes {
  const next: Record<string, unknown> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    const problem = attributeKeyProblem(key);
    if (problem) throw invalid(problem, 'attributes');
    if (value === null) delete next[key];
    else next[key] = value;
  }
  return checkedAttributes(next);
}

type ValueKind = 'string' | 'number' | 'boolean' | null;
const kind = (value: AttributeValue | undefined): ValueKind => (value === undefined ? null : typeof value as Exclude<ValueKind, null>);

/** The keys whose value differs, each with the kind of value before and after (null: absent); never the values. */
export function attributeChangesForAudit(before: ContactAttributes, after: ContactAttributes): Record<string, { before: ValueKind; after: ValueKind }> {
  const changed: Record<string, { before: ValueKind; after: ValueKind }> = {};
  for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (before[key] !== after[key]) changed[key] = { before: kind(before[key]), after: kind(after[key]) };
  }
  return changed;
}

const keySchema = z.string().regex(ATTRIBUTE_KEY, KEY_RULE);
const valueSchema = z.union([z.string().refine((s) => !CONTROL.test(s), 'no control characters'), z.number(), z.boolean()]);
const sizeCheck = (value: Record<string, unknown>, ctx: z.RefinementCtx) => {
  const problem = attributesSizeProblem(Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null)) as ContactAttributes);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
};

/** The API's attributes on create (and as returned). */
export const attributesSchema = z.record(keySchema, valueSchema).superRefine(sizeCheck)
  .describe(`Custom attributes: at most ${MAX_ATTRIBUTES} keys (${KEY_RULE}), values text, number or boolean, at most ${MAX_ATTRIBUTES_BYTES} bytes as JSON`);

/** The API's attributes on update: merged into the stored ones, null removes a key. */
export const attributeChangesSchema = z.record(keySchema, valueSchema.nullable())
  .refine((value) => Object.keys(value).length <= MAX_ATTRIBUTES * 2, 'too many attribute changes')
  .describe('Merged into the contact\'s attributes: a key given a value is set, a key given null is removed, keys not given stay');
