/**
 * Data subject erasure (GDPR right to erasure): everything about one person,
 * through the same deletions as the rest of the system: each of their calls
 * with its recordings (object first, then row: the recording's data key lives
 * only in its object's header, so deleting the object crypto-shreds every
 * copy's key block), transcript and events; each contact with the recordings
 * made with it, its consents and campaign dials; consents recorded against the
 * number; and the webhook outbox's events about those calls. The do-not-call
 * entry SURVIVES: it is the legal record that says not to call the number.
 * Audited with counts and the masked number only.
 */
import {
  audit, deleteCallWithRecordings, deleteConsentsFor, deleteContactWithRecordings, deleteWebhookEventsAbout, type Database,
} from '../../storage/index.ts';
import type { ObjectStore } from '../../storage/vault/index.ts';
import { resolveDataSubject, type DataSubject } from './data-subject.ts';

export interface ErasureResult {
  contacts: number;
  calls: number;
  recordings: number;
  consents: number;
  webhookEvents: number;
  /** Do-not-call entries kept for the number (the legal record). */
  doNotCallKept: number;
}

export async function eraseDataSubject(db: Database, store: ObjectStore, tenantId: string, subject: DataSubject, options: { actor: string; sourceIp?: string }): Promise<ErasureResult> {
  const { query, found } = await resolveDataSubject(db, tenantId, subject);
  const result: ErasureResult = { contacts: 0, calls: 0, recordings: 0, consents: 0, webhookEvents: 0, doNotCallKept: found.doNotCall.length };
  const callIds = found.calls.map((c) => c.id);
  result.webhookEvents = await deleteWebhookEventsAbout(db, tenantId, callIds);
  for (const callId of callIds) {
    const gone = await deleteCallWithRecordings(db, store, tenantId, callId);
    if (gone.deleted) result.calls++;
    result.recordings += gone.recordings;
  }
  for (const contact of found.contacts) {
    const gone = await deleteContactWithRecordings(db, store, tenantId, contact.id);
    if (gone.deleted) result.contacts++;
    result.recordings += gone.recordings;
  }
  const contactConsents = found.consents.filter((c) => c.contactId && found.contacts.some((k) => k.id === c.contactId)).length;
  result.consents = contactConsents + await deleteConsentsFor(db, tenantId, [...new Set([...query.phones, ...found.contacts.map((c) => c.phone)])]);
  await audit(db, tenantId, { actor: options.actor, action: 'gdpr.erased', target: query.label, detail: { ...result }, ...(options.sourceIp ? { sourceIp: options.sourceIp } : {}) });
  return result;
}
