/**
 * Contacts (GDPR): create, rectify, erase. The phone number is normalised
 * (src/compliance/phone.ts) so the do-not-call list and the consents find it
 * under any spelling. A rectification is audited with the fields that
 * changed, the number masked to its last 4 digits before and after, names and
 * e-mail addresses never written out. Erasure deletes the contact, the
 * recordings made with it (objects first, then rows) and, by cascade, its
 * consents; its do-not-call entry stays: that is the legal record that says
 * do not call this number.
 */
import {
  audit, createContact as insertContact, deleteContactWithRecordings, getContact as findContact, updateContact as changeContact,
  type ContactRow, type Database,
} from '../../storage/index.ts';
import type { ObjectStore } from '../../storage/vault/index.ts';
import { canonicalTimeZone } from '../compliance/outbound-policy.ts';
import { timeZoneForPhone } from '../compliance/phone-time-zone.ts';
import { isE164, maskPhone, normalisePhone } from '../compliance/phone.ts';
import { auditBy, invalid, notFound, type Actor } from './errors.ts';

export interface ContactFields {
  name?: string | null | undefined;
  phone?: string | undefined;
  email?: string | null | undefined;
  /** IANA name; on create, derived from the number when its country has a single zone and none is given. */
  timeZone?: string | null | undefined;
}

export const INVALID_PHONE_MESSAGE = 'phone is not a valid phone number: give it in international form, + and the country code (e.g. +14155550123); a number without + is read as a US number';

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const NAME = /^[^\u0000-\u001f\u007f]{1,200}$/;

/** The fields validated and normalised (the phone to E.164); throws `invalid` naming the first bad field. */
export function checkedContact(fields: ContactFields): ContactFields {
  const out: ContactFields = {};
  if (fields.phone !== undefined) {
    const phone = normalisePhone(fields.phone);
    if (!phone || !isE164(phone)) throw invalid(INVALID_PHONE_MESSAGE, 'phone');
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

/** A new contact's fields: checked, and its time zone derived from the number when not given. */
export function newContact(fields: ContactFields & { phone: string }): ContactFields & { phone: string } {
  const input = checkedContact(fields);
  const phone = input.phone!;
  return { ...input, phone, timeZone: input.timeZone !== undefined ? input.timeZone : (timeZoneForPhone(phone) ?? null) };
}

export async function createContact(db: Database, tenantId: string, fields: ContactFields & { phone: string }, who: Actor): Promise<ContactRow> {
  const input = newContact(fields);
  const row = await insertContact(db, tenantId, { phone: input.phone, name: input.name ?? null, email: input.email ?? null, timeZone: input.timeZone ?? null });
  await audit(db, tenantId, { ...auditBy(who), action: 'contact.created', target: row.id });
  return row;
}

export async function getContact(db: Database, tenantId: string, id: string): Promise<ContactRow> {
  const row = await findContact(db, tenantId, id);
  if (!row) throw notFound('contact');
  return row;
}

/** GDPR rectification: changes the given fields; audited with what changed (the number masked). */
export async function rectifyContact(db: Database, tenantId: string, id: string, fields: ContactFields, who: Actor): Promise<ContactRow> {
  const changes = checkedContact(fields);
  const result = await changeContact(db, tenantId, id, changes);
  if (!result) throw notFound('contact');
  const { before, after } = result;
  const changed = (['name', 'phone', 'email', 'timeZone'] as const).filter((k) => before[k] !== after[k]);
  const detail: Record<string, unknown> = { fields: changed };
  if (changed.includes('phone')) detail.phone = { before: maskPhone(before.phone), after: maskPhone(after.phone) };
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
