/**
 * Contacts (GDPR): create, rectify, erase. The phone number is normalised
 * (src/compliance/phone.ts) so the do-not-call list and the consents find it
 * under any spelling. A rectification is audited with the fields that
 * changed, the number masked to its last 4 digits before and after, names,
 * e-mail addresses and attribute values never written out (attributes:
 * contact-attributes.ts). A number written without + is read in the tenant's
 * default country (tenants.default_country, US unless set). Erasure deletes the contact, the
 * recordings made with it (objects first, then rows) and, by cascade, its
 * consents; its do-not-call entry stays: that is the legal record that says
 * do not call this number.
 */
import {
  audit, createContact as insertContact, deleteContactWithRecordings, getContact as findContact, updateContact as changeContact,
  type ContactAttributes, type ContactChanges, type ContactRow, type Database,
} from '../../storage/index.ts';
import type { ObjectStore } from '../../storage/vault/index.ts';
import { canonicalTimeZone } from '../compliance/outbound-policy.ts';
import { timeZoneForPhone } from '../compliance/phone-time-zone.ts';
import { DEFAULT_PHONE_COUNTRY, isE164, maskPhone, normalisePhone, type CountryCode } from '../compliance/phone.ts';
import { readInCountry, tenantPhoneCountry } from '../compliance/tenant-country.ts';
import { attributeChangesForAudit, checkedAttributes, mergedAttributes, type AttributeChanges } from './contact-attributes.ts';
import { auditBy, invalid, notFound, type Actor } from './errors.ts';

export interface ContactFields {
  name?: string | null | undefined;
  phone?: string | undefined;
  email?: string | null | undefined;
  /** IANA name; on create, derived from the number when its country has a single zone and none is given. */
  timeZone?: string | null | undefined;
}

/** A new contact: its attributes are the whole set. */
export interface NewContactFields extends ContactFields {
  phone: string;
  attributes?: Record<string, unknown> | undefined;
}

/** A rectification: its attributes are merged into the stored ones (null removes a key). */
export interface ContactUpdate extends ContactFields {
  attributes?: AttributeChanges | undefined;
}

export const invalidPhoneMessage = (country: CountryCode): string =>
  `phone is not a valid phone number: give it in international form, + and the country code (e.g. +14155550123); ${readInCountry(country)}`;

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const NAME = /^[^\u0000-\u001f\u007f]{1,200}$/;

/** The fields validated and normalised (the phone to E.164, read in `country` without +); throws `invalid` naming the first bad field. */
export function checkedContact(fields: ContactFields, country: CountryCode = DEFAULT_PHONE_COUNTRY): ContactFields {
  const out: ContactFields = {};
  if (fields.phone !== undefined) {
    const phone = normalisePhone(fields.phone, country);
    if (!phone || !isE164(phone)) throw invalid(invalidPhoneMessage(country), 'phone');
    out.phone = phone;
  }
  if (fields.name !== undefined) {
    const name = fields.name === null ? null : fields.name.trim();
    if (name !== null && !NAME.test(name)) throw invalid('name must be 1-200 printable characters', 'name');
    out.name = name;
  }
  if (fields.email !== undefined) {
    const email = fields.email === null ? null : fields.email.trim();
    if (email !== null && !EMAIL.test(email)) throw invalid('email is not an e-mail address', 'email');
    out.email = email;
  }
  if (fields.timeZone !== undefined) {
    const zone = fields.timeZone === null || fields.timeZone.trim() === '' ? null : canonicalTimeZone(fields.timeZone);
    if (zone === undefined) throw invalid('timeZone is not an IANA time zone name (e.g. Europe/London)', 'timeZone');
    out.timeZone = zone;
  }
  return out;
}

/** A new contact's fields: checked, its time zone derived from the number when not given. */
export function newContact(fields: NewContactFields, country: CountryCode = DEFAULT_PHONE_COUNTRY): ContactFields & { phone: string; attributes: ContactAttributes } {
  const input = checkedContact(fields, country);
  const phone = input.phone!;
  const attributes = checkedAttributes(fields.attributes ?? {});
  return { ...input, phone, timeZone: input.timeZone !== undefined ? input.timeZone : (timeZoneForPhone(phone) ?? null), attributes };
}

export async function createContact(db: Database, tenantId: string, fields: NewContactFields, who: Actor): Promise<ContactRow> {
  const input = newContact(fields, await tenantPhoneCountry(db, tenantId));
  const row = await insertContact(db, tenantId, { phone: input.phone, name: input.name ?? null, email: input.email ?? null, timeZone: input.timeZone ?? null, attributes: input.attributes });
  await audit(db, tenantId, { ...auditBy(who), action: 'contact.created', target: row.id });
  return row;
}

export async function getContact(db: Database, tenantId: string, id: string): Promise<ContactRow> {
  const row = await findContact(db, tenantId, id);
  if (!row) throw notFound('contact');
  return row;
}

/**
 * GDPR rectification: changes the given fields, merges the attribute changes
 * (null removes a key); audited with what changed (the number masked; for
 * attributes, each changed key with the kind of value before and after).
 */
export async function rectifyContact(db: Database, tenantId: string, id: string, fields: ContactUpdate, who: Actor): Promise<ContactRow> {
  const { attributes: attributeChanges, ...plain } = fields;
  const changes: ContactChanges = checkedContact(plain, plain.phone !== undefined ? await tenantPhoneCountry(db, tenantId) : DEFAULT_PHONE_COUNTRY);
  if (attributeChanges !== undefined) changes.attributes = (current) => mergedAttributes(current, attributeChanges);
  const result = await changeContact(db, tenantId, id, changes);
  if (!result) throw notFound('contact');
  const { before, after } = result;
  const changed: string[] = (['name', 'phone', 'email', 'timeZone'] as const).filter((k) => before[k] !== after[k]);
  const attributes = attributeChangesForAudit(before.attributes, after.attributes);
  if (Object.keys(attributes).length) changed.push('attributes');
  const detail: Record<string, unknown> = { fields: changed };
  if (changed.includes('phone')) detail.phone = { before: maskPhone(before.phone), after: maskPhone(after.phone) };
  if (Object.keys(attributes).length) detail.attributes = attributes;
  await audit(db, tenantId, { ...auditBy(who), action: 'contact.rectified', target: id, detail });
  return after;
}

/** GDPR erasure of one contact: its recordings (objects, then rows) and consents go with it; a DNC entry stays. */
export async function eraseContact(db: Database, objects: ObjectStore, tenantId: string, id: string, who: Actor): Promise<{ recordings: number }> {
  const result = await deleteContactWithRecordings(db, objects, tenantId, id);
  if (!result.deleted) throw notFound('contact');
  await audit(db, tenantId, { ...auditBy(who), action: 'contact.erased', target: id, detail: { recordings: result.recordings } });
  return { recordings: result.recordings };
}
