/**
 * Call records for the API: one call with its latency summary and its
 * transcript (stored redacted: raw text never reaches the database), and the
 * erasure of one call (GDPR): the webhook events about it still in the
 * outbox, its recordings' encrypted objects, then the rows (recordings,
 * transcript, events, the call), as the data-subject erasure
 * (src/gdpr/erase.ts) does for each call; audited by id only.
 */
import {
  audit, deleteCallWithRecordings, deleteWebhookEventsAbout, getCallWithOutcome, listTranscript, type CallListRow, type Database, type TranscriptTurnRow,
} from '../../storage/index.ts';
import type { ObjectStore } from '../../storage/vault/index.ts';
import { auditBy, notFound, type Actor } from './errors.ts';

export interface CallDetail {
  call: CallListRow;
  transcript: TranscriptTurnRow[];
}

export async function getCallDetail(db: Database, tenantId: string, id: string): Promise<CallDetail> {
  const call = await getCallWithOutcome(db, tenantId, id);
  if (!call) throw notFound('call');
  return { call, transcript: await listTranscript(db, tenantId, id) };
}

export async function eraseCall(db: Database, objects: ObjectStore, tenantId: string, id: string, who: Actor): Promise<{ recordings: number }> {
  if (!(await getCallWithOutcome(db, tenantId, id))) throw notFound('call');
  const webhookEvents = await deleteWebhookEventsAbout(db, tenantId, [id]);
  const result = await deleteCallWithRecordings(db, objects, tenantId, id);
  if (!result.deleted) throw notFound('call');
  await audit(db, tenantId, { ...auditBy(who), action: 'call.erased', target: id, detail: { recordings: result.recordings, webhookEvents } });
  return { recordings: result.recordings };
}
