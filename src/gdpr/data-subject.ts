/**
 * Naming a data subject: a phone number (any spelling; normalised, one without
 * + read in the tenant's default country as contacts and the do-not-call list
 * are, and all its stored spellings searched) and/or a contact id.
 */
import { findDataSubject, isUuid, type Database, type DataSubjectRecords } from '../../storage/index.ts';
import { hasCountryCode, maskPhone, normalisePhone, phoneVariants, storedPhone, type CountryCode } from '../compliance/phone.ts';
import { readInCountry, tenantPhoneCountry } from '../compliance/tenant-country.ts';

export interface DataSubject {
  phone?: string | undefined;
  contactId?: string | undefined;
}

export class DataSubjectError extends Error {
  override name = 'DataSubjectError';
}

/** The subject's spellings and ids; a phone number without + is read in `country` (the tenant's: subjectCountry). */
export function subjectQuery(subject: DataSubject, country?: CountryCode): { phones: string[]; contactIds: string[]; label: string } {
  if (!subject.phone && !subject.contactId) throw new DataSubjectError('name the data subject by phone number or contact id');
  let phones: string[] = [];
  if (subject.phone) {
    const canonical = normalisePhone(subject.phone, country);
    if (!canonical) throw new DataSubjectError(`the phone number is not a phone number${country ? ` (${readInCountry(country)})` : ''}`);
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
  const query = subjectQuery(subject, await subjectCountry(db, tenantId, subject));
  let found = await findDataSubject(db, tenantId, query);
  const extra = found.contacts.flatMap((c) => [...new Set([c.phone, ...phoneVariants(storedPhone(c.phone))])]).filter((p) => !query.phones.includes(p));
  if (extra.length) {
    query.phones = [...new Set([...query.phones, ...extra])];
    found = await findDataSubject(db, tenantId, query);
  }
  return { query, found };
}

/** Where the subject's number is read: the tenant's default country when it is written without + (undefined when no number needs one). */
export async function subjectCountry(db: Database, tenantId: string, subject: DataSubject): Promise<CountryCode | undefined> {
  return subject.phone && !hasCountryCode(subject.phone) ? tenantPhoneCountry(db, tenantId) : undefined;
}
