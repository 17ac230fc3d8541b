/**
 * One tenant with one of every resource the /v1 resource routes serve (agent,
 * number, contact, call with a redacted transcript and a latency summary, a
 * recording whose object is in `store`, a do-not-call entry, a consent), an
 * owner key, and a fingerprint of the database to prove nothing changed.
 */
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import {
  addDoNotCallEntry, addConsentRecord, addNumber, addTranscriptTurn, createAgent, createContact, createRecording, finishCall, markCallAnswered,
  recordCallOutcome, rows, startCall, type Database,
} from '../../storage/index.ts';
import type { ObjectStore } from '../../storage/vault/index.ts';

export interface SeededTenant {
  tenantId: string;
  agentId: string;
  numberId: string;
  number: string;
  contactId: string;
  callId: string;
  recordingId: string;
  dncId: string;
  consentId: string;
}

export async function seedResources(db: Database, store: ObjectStore, tenantId: string, number: string): Promise<SeededTenant> {
  const agent = await createAgent(db, tenantId, { name: `agent-${number}`, greeting: 'Welcome.' });
  const num = await addNumber(db, tenantId, { number, agentId: agent.id, allowedCidrs: ['203.0.113.0/24'] });
  const contact = await createContact(db, tenantId, { name: 'Ada', phone: `+1415210${number.slice(-4)}`.slice(0, 12) });
  const call = await startCall(db, tenantId, { agentId: agent.id, numberId: num.id, direction: 'inbound', fromUri: 'sip:+14152100@carrier', toUri: `sip:${number}@here`, sipCallId: randomUUID() });
  await markCallAnswered(db, tenantId, call.id);
  await addTranscriptTurn(db, tenantId, { callId: call.id, seq: 1, speaker: 'caller', redacted: { text: 'my card is [CARD]', entities: [{ type: 'CARD', start: 11, end: 17 }] }, latency: { e2eMs: 800 } });
  await recordCallOutcome(db, tenantId, call.id, { latency: { turns: 1, e2eMs: { p50: 800, p95: 800, max: 800 }, overheadMs: { p50: 40, p95: 40, max: 40 } } });
  await finishCall(db, tenantId, call.id, { reason: 'remote-bye' });
  const recordingId = randomUUID();
  await createRecording(db, tenantId, { id: recordingId, callId: call.id, contactId: contact.id, objectKey: `${tenantId}/${recordingId}`, keyId: 'k1', retainUntil: new Date(Date.now() + 86_400_000) });
  const handle = await store.create({ tenantId, recordingId });
  await handle.append(Buffer.from('sealed audio'));
  await handle.close();
  const dnc = await addDoNotCallEntry(db, tenantId, { phone: `+1415220${number.slice(-4)}`.slice(0, 12), reason: 'asked' });
  const consent = await addConsentRecord(db, tenantId, { phone: contact.phone, kind: 'outbound-call', source: 'web form', contactId: contact.id });
  return {
    tenantId, agentId: agent.id, numberId: num.id, number, contactId: contact.id, callId: call.id, recordingId, dncId: dnc.row.id, consentId: consent.row.id,
  };
}

const TABLES = ['tenants', 'agents', 'numbers', 'contacts', 'calls', 'call_events', 'transcript_turns', 'recordings', 'do_not_call', 'consents', 'audit_log'];

/** A digest of every row of the resource tables (owner connection: all tenants). */
export async function fingerprint(db: Database): Promise<string> {
  const parts = await Promise.all(TABLES.map(async (table) => {
    const result = await db.owner.execute(sql`select md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as h from ${sql.identifier(table)} t`);
    return `${table}:${rows<{ h: string }>(result)[0]!.h}`;
  }));
  return parts.join(',');
}
