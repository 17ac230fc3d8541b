/**
 * A tenant's contacts: the people its agents call or are called by. Creating
 * and listing; an update is a GDPR rectification (the caller audits which
 * fields changed). Deleting a contact takes its recordings with it
 * (deleteContactWithRecordings in recordings.ts); its consents cascade, its
 * do-not-call entry stays (that is the legal record that says do not call).
 */
import { and, asc, eq, getTableColumns, inArray } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { contacts, type ContactAttributes } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { afterTimestamp, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';

export type ContactRow = typeof contacts.$inferSelect;
export type { ContactAttributes };

export interface ContactInput {
  name?: string | null | undefined;
  /** Normalised by the caller (src/compliance/phone.ts). */
  phone: string;
  email?: string | null | undefined;
  /** IANA name, checked by the caller; NULL: the tenant's zone applies. */
  timeZone?: string | null | undefined;
  /** Checked by the caller (src/resources/contact-attributes.ts); personal data. */
  attributes?: ContactAttributes | undefined;
}

/** A rectification: the fields to set and, when attributes change, how the stored ones become the new ones (may throw: nothing is written). */
export interface ContactChanges extends Partial<Omit<ContactInput, 'attributes'>> {
  attributes?: ((current: ContactAttributes) => ContactAttributes) | undefined;
}

export async function createContact(db: Database, tenantId: string, input: ContactInput): Promise<ContactRow> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.insert(contacts).values(contactValues(tenantId, input)).returning();
    return row!;
  });
}

const contactValues = (tenantId: string, input: ContactInput) => ({
  tenantId, name: input.name ?? null, phone: input.phone, email: input.email ?? null, timeZone: input.timeZone ?? null, attributes: input.attributes ?? {},
});

/** Many contacts in one transaction (an import), inserted in chunks; returns how many were written. */
export async function createContacts(db: Database, tenantId: string, inputs: readonly ContactInput[]): Promise<number> {
  if (inputs.length === 0) return 0;
  return withTenant(db, tenantId, async (tx) => {
    for (let i = 0; i < inputs.length; i += 1000) {
      await tx.insert(contacts).values(inputs.slice(i, i + 1000).map((input) => contactValues(tenantId, input)));
    }
    return inputs.length;
  });
}

/** Which of these (stored) phone spellings already belong to one of the tenant's contacts. */
export async function existingContactPhones(db: Database, tenantId: string, phones: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  await withTenant(db, tenantId, async (tx) => {
    for (let i = 0; i < phones.length; i += 1000) {
      const rows = await tx.selectDistinct({ phone: contacts.phone }).from(contacts).where(inArray(contacts.phone, phones.slice(i, i + 1000) as string[]));
      for (const row of rows) found.add(row.phone);
    }
  });
  return found;
}

export async function getContact(db: Database, tenantId: string, id: string): Promise<ContactRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(contacts).where(eq(contacts.id, id)))[0]);
}

/** The tenant's contacts, oldest first, one page at a time; `phones`: only those stored under one of these spellings. */
export async function listContactsPage(db: Database, tenantId: string, filter: { phones?: string[] | undefined }, page: PageRequest): Promise<Page<ContactRow>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(contacts), key: micros(contacts.createdAt) }).from(contacts)
    .where(and(filter.phones ? inArray(contacts.phone, filter.phones) : undefined, afterTimestamp(contacts.createdAt, contacts.id, page.cursor, 'asc')))
    .orderBy(asc(contacts.createdAt), asc(contacts.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => row), next: result.next };
}

/**
 * Rectification: changes the given fields (the attributes from the locked row,
 * so concurrent merges do not lose keys), returns the row before and after;
 * undefined when the tenant has no such contact.
 */
export async function updateContact(db: Database, tenantId: string, id: string, changes: ContactChanges): Promise<{ before: ContactRow; after: ContactRow } | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    const [before] = await tx.select().from(contacts).where(eq(contacts.id, id)).for('update');
    if (!before) return undefined;
    const { attributes, ...fields } = changes;
    const set: Record<string, unknown> = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
    if (attributes) set.attributes = attributes(before.attributes);
    if (Object.keys(set).length === 0) return { before, after: before };
    const [after] = await tx.update(contacts).set(set).where(eq(contacts.id, id)).returning();
    return { before, after: after! };
  });
}
