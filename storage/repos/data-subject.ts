/**
 * Everything stored about one data subject (GDPR access, portability and
 * erasure): a person known by a phone number (all its stored spellings, see
 * src/compliance/phone.ts phoneVariants) and/or contact ids. Their calls are
 * the calls whose From or To user part is one of the numbers, plus the calls
 * their recordings and campaign dials point at. Inside the tenant scope only.
 */
import { and, asc, eq, inArray, or, sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { calls, campaignContacts, consents, contacts, doNotCall, recordings, transcriptTurns, webhookEvents } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';

export interface DataSubjectQuery {
  /** Stored spellings of the subject's number(s). */
  phones: string[];
  /** Contact ids named directly. */
  contactIds: string[];
}

export interface DataSubjectRecords {
  contacts: (typeof contacts.$inferSelect)[];
  calls: (typeof calls.$inferSelect)[];
  transcriptTurns: (typeof transcriptTurns.$inferSelect)[];
  recordings: (typeof recordings.$inferSelect)[];
  consents: (typeof consents.$inferSelect)[];
  doNotCall: (typeof doNotCall.$inferSelect)[];
  campaignContacts: (typeof campaignContacts.$inferSelect)[];
}

const userPart = (column: typeof calls.fromUri | typeof calls.toUri) =>
  sql`regexp_replace(coalesce(substring(${column} from '^(?:sips?|tel):([^@;?]+)'), ''), '[[:space:]().-]', '', 'g')`;

export async function findDataSubject(db: Database, tenantId: string, query: DataSubjectQuery): Promise<DataSubjectRecords> {
  const phones = query.phones.length ? query.phones : ['-'];
  return withTenant(db, tenantId, async (tx) => {
    const contactRows = await tx.select().from(contacts)
      .where(or(inArray(contacts.phone, phones), query.contactIds.length ? inArray(contacts.id, query.contactIds) : undefined))
      .orderBy(asc(contacts.createdAt));
    const contactIds = contactRows.map((c) => c.id);
    const allPhones = [...new Set([...phones, ...contactRows.map((c) => c.phone)])];
    const ids = contactIds.length ? contactIds : ['00000000-0000-0000-0000-000000000000'];
    const dials = await tx.select().from(campaignContacts).where(inArray(campaignContacts.contactId, ids)).orderBy(asc(campaignContacts.id));
    const callRows = await tx.select().from(calls).where(or(
      sql`${userPart(calls.fromUri)} in ${allPhones}`,
      sql`${userPart(calls.toUri)} in ${allPhones}`,
      sql`${calls.id} in (select ${recordings.callId} from ${recordings} where ${inArray(recordings.contactId, ids)})`,
      sql`${calls.id} in (select ${campaignContacts.callId} from ${campaignContacts} where ${inArray(campaignContacts.contactId, ids)})`,
    )).orderBy(asc(calls.startedAt));
    const callIds = callRows.length ? callRows.map((c) => c.id) : ['00000000-0000-0000-0000-000000000000'];
    const turns = await tx.select().from(transcriptTurns).where(inArray(transcriptTurns.callId, callIds)).orderBy(asc(transcriptTurns.callId), asc(transcriptTurns.seq));
    const recordingRows = await tx.select().from(recordings)
      .where(or(inArray(recordings.callId, callIds), inArray(recordings.contactId, ids))).orderBy(asc(recordings.createdAt));
    const consentRows = await tx.select().from(consents)
      .where(or(inArray(consents.phone, allPhones), inArray(consents.contactId, ids))).orderBy(asc(consents.grantedAt));
    const dnc = await tx.select().from(doNotCall).where(and(eq(doNotCall.tenantId, tenantId), inArray(doNotCall.phone, allPhones)));
    return { contacts: contactRows, calls: callRows, transcriptTurns: turns, recordings: recordingRows, consents: consentRows, doNotCall: dnc, campaignContacts: dials };
  });
}

/** Everything of the tenant's the data-subject export covers (a tenant-wide export): every row of those tables. */
export async function findTenantRecords(db: Database, tenantId: string): Promise<DataSubjectRecords> {
  return withTenant(db, tenantId, async (tx) => ({
    contacts: await tx.select().from(contacts).orderBy(asc(contacts.createdAt)),
    calls: await tx.select().from(calls).orderBy(asc(calls.startedAt)),
    transcriptTurns: await tx.select().from(transcriptTurns).orderBy(asc(transcriptTurns.callId), asc(transcriptTurns.seq)),
    recordings: await tx.select().from(recordings).orderBy(asc(recordings.createdAt)),
    consents: await tx.select().from(consents).orderBy(asc(consents.grantedAt)),
    doNotCall: await tx.select().from(doNotCall).where(eq(doNotCall.tenantId, tenantId)),
    campaignContacts: await tx.select().from(campaignContacts).orderBy(asc(campaignContacts.id)),
  }));
}

/** Deletes consents of the subject's numbers (consents of its contacts cascade with them). */
export async function deleteConsentsFor(db: Database, tenantId: string, phones: string[]): Promise<number> {
  if (phones.length === 0) return 0;
  return withTenant(db, tenantId, async (tx) => (await tx.delete(consents).where(inArray(consents.phone, phones)).returning({ id: consents.id })).length);
}

/** Deletes outbox events (and their deliveries and attempt logs) about the given subjects (call ids): their payloads name the caller. */
export async function deleteWebhookEventsAbout(db: Database, tenantId: string, subjects: string[]): Promise<number> {
  if (subjects.length === 0) return 0;
  return withTenant(db, tenantId, async (tx) => (await tx.delete(webhookEvents).where(inArray(webhookEvents.subject, subjects)).returning({ id: webhookEvents.id })).length);
}
