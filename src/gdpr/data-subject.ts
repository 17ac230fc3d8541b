/**
 * Naming a data subject: a phone number (any spelling; normalised, and all
 * its stored spellings searched) and/or a contact id.
 */
import { findDataSubject, isUuid, type Database, type DataSubjectRecords } from '../../storage/index.ts';
import { maskPhone, normalisePhone, phoneVariants } from '../compliance/phone.ts';

export interface DataSubject {
  phone?: string | undefined;
  contactId?: string | undefined;
}

export class DataSubjectError extends Error {
  override name = 'DataSubjectError';
}

export function subjectQuery(subject: DataSubject): { phones: string[]; contactIds: string[]; label: string } {
  if (!subject.phone && !subject.contactId) throw new DataSubjectError('name the data subject by phone number or contact id');
  let phones: string[] = [];
  if (subject.phone) {
    const canonical = normalisePhone(subject.phone);
    if (!canonical) throw new DataSubjectError('the phone number is not a phone number');
    phones = phoneVariants(canonical);
  }
  if (subject.contactId && !isUuid(subject.contactId)) throw new DataSubjectError('the contact id must be a UUID');
  const contactIds = subject.contactId ? [subject.contactId] : [];
  const label = subject.phone ? maskPhone(phones[0]!) : `contact:${subject.contactId}`;
  return { phones, contactIds, label };
}

/**
 * The subject's records. Their contacts' numbers count as theirs too (a subject named by contact id is
 * found in the calls by its number, in every stored spelling).
 */
export async function resolveDataSubject(db: Database, tenantId: string, subject: DataSubject): Promise<{ query: ReturnType<typeof subjectQuery>; found: DataSubjectRecords }> {
  const query = subjectQuery(subject);
  let found = await findDataSubject(db, tenantId, query);
  const extra = found.contacts.flatMap((c) => {
    const canonical = normalisePhone(c.phone);
    return canonical ? phoneVariants(canonical) : [c.phone];
  }).filter((p) => !query.phones.includes(p));
  if (extra.length) {
    query.phones = [...new Set([...query.phones, ...extra])];
    found = await findDataSubject(db, tenantId, query);
  }
  return { query, found };
}
