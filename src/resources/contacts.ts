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
import { maskPhone, normalisePhone } from '../compliance/phone.ts';
import { auditBy, invalid, notFound, type Actor } from './errors.ts';

export interface ContactFields {
  name?: string | null | undefined;
  phone?: string | undefined;
  email?: string | null | undefined;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const NAME = /^[^\u0000-\u001f\u007f]{1,200}$/;

function checked(fields: ContactFields): ContactFields {
  const out: ContactFields = {};
  if (fields.phone !== undefined) {
    const phone = normalisePhone(fields.phone);
    if (!phone) throw invalid('phone is not a phone number: digits, optionally with a leading + (spaces, dashes, dots and parentheses are ignored)', 'phone');
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
  return out;
}

export async function createContact(db: Database, tenantId: string, fields: ContactFields & { phone: string }, who: Actor): Promise<ContactRow> {
  const input = checked(fields);
  const row = await insertContact(db, tenantId, { phone: input.phone!, name: input.name ?? null, email: input.email ?? null });
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
  const changes = checked(fields);
  const result = await changeContact(db, tenantId, id, changes);
  if (!result) throw notFound('contact');
  const { before, after } = result;
  const changed = (['name', 'phone', 'email'] as const).filter((k) => before[k] !== after[k]);
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
