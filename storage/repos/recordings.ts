/**
 * Recording rows (where the ciphertext lives, which tenant key wrapped it, its
 * size, checksum and retention deadline) and the deletions that must take the
 * encrypted objects with them: a call, a contact, an expired recording, a
 * whole tenant. Objects go first, rows second, so a failure can leave a row
 * pointing at nothing (harmless, swept later) but never an unreferenced copy
 * of call audio.
 */
import { and, asc, desc, eq, getTableColumns, lte, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { calls, contacts, recordings, tenants } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import type { ObjectStore } from '../vault/object-store.ts';
import { afterTimestamp, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';
import { emitEvent, notifyOutbox } from './webhook-outbox.ts';

export type RecordingRow = typeof recordings.$inferSelect;

export interface NewRecording {
  id: string;
  callId: string | null;
  contactId?: string | null;
  objectKey: string;
  keyId: string;
  /** A date, or computed in the same statement: `from` plus the agent's retention days, else the tenant's (retentionDaysFor). */
  retainUntil: Date | { from: Date; agentRetentionDays: number | null | undefined };
}

export async function createRecording(db: Database, tenantId: string, input: NewRecording): Promise<RecordingRow> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.insert(recordings).values({
      id: input.id, tenantId, callId: input.callId, contactId: input.contactId ?? null,
      objectKey: input.objectKey, keyId: input.keyId, retainUntil: retainUntilSql(tenantId, input.retainUntil),
    }).returning();
    return row!;
  });
}

export interface RecordingCompletion {
  sizeBytes: number;
  /** Hex SHA-256 of the sealed chunks (the object after its header, which key rotation rewrites). */
  sha256: string;
  durationMs: number;
  cutShort: boolean;
}

/** Marks the recording complete and emits recording.ready (metadata only, never a link or audio) in one transaction. */
export async function completeRecording(db: Database, tenantId: string, id: string, done: RecordingCompletion): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.update(recordings).set({ ...done, completedAt: new Date() }).where(eq(recordings.id, id)).returning();
    if (!row) return;
    await emitEvent(tx, tenantId, {
      type: 'recording.ready', subject: row.callId ?? row.id,
      data: {
        recordingId: row.id, callId: row.callId, durationMs: row.durationMs, sizeBytes: row.sizeBytes, sha256: row.sha256,
        cutShort: row.cutShort, retainUntil: row.retainUntil.toISOString(),
      },
    });
  }).finally(notifyOutbox);
}

/** After tenant-key rotation re-wrapped the recording's data key. */
export async function setRecordingKeyId(db: Database, tenantId: string, id: string, keyId: string): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    await tx.update(recordings).set({ keyId }).where(eq(recordings.id, id));
  });
}

export async function getRecording(db: Database, tenantId: string, id: string): Promise<RecordingRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(recordings).where(eq(recordings.id, id)))[0]);
}

export async function listRecordings(db: Database, tenantId: string, filter: { callId?: string; limit?: number } = {}): Promise<RecordingRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(recordings)
    .where(filter.callId ? eq(recordings.callId, filter.callId) : undefined)
    .orderBy(desc(recordings.createdAt))
    .limit(filter.limit ?? 1000));
}

/** The tenant's recordings, newest first, one page at a time. */
export async function listRecordingsPage(db: Database, tenantId: string, filter: { callId?: string | undefined }, page: PageRequest): Promise<Page<RecordingRow>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(recordings), key: micros(recordings.createdAt) }).from(recordings)
    .where(and(filter.callId ? eq(recordings.callId, filter.callId) : undefined, afterTimestamp(recordings.createdAt, recordings.id, page.cursor, 'desc')))
    .orderBy(desc(recordings.createdAt), desc(recordings.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => row), next: result.next };
}

/** The tenant's recordings whose retention deadline has passed, oldest deadline first. */
export async function listExpiredRecordings(db: Database, tenantId: string, now: Date, limit = 500): Promise<RecordingRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(recordings)
    .where(lte(recordings.retainUntil, now)).orderBy(asc(recordings.retainUntil)).limit(limit));
}

/** Retention days for a new recording: the agent's override, else the tenant plan's. */
function retainUntilSql(tenantId: string, retain: NewRecording['retainUntil']): Date | SQL {
  if (retain instanceof Date) return retain;
  const days = retain.agentRetentionDays != null && retain.agentRetentionDays > 0 ? retain.agentRetentionDays : null;
  return sql`${retain.from.toISOString()}::timestamptz + make_interval(days => coalesce(${days}::int,
    (select ${tenants.retentionDays} from ${tenants} where ${tenants.id} = ${tenantId}::uuid)))`;
}

export async function retentionDaysFor(db: Database, tenantId: string, agentRetentionDays: number | null | undefined): Promise<number> {
  if (agentRetentionDays != null && agentRetentionDays > 0) return agentRetentionDays;
  const [row] = await withTenant(db, tenantId, (tx) => tx.select({ days: tenants.retentionDays }).from(tenants).where(eq(tenants.id, tenantId)));
  if (!row) throw new Error(`tenant ${tenantId} not found`);
  return row.days;
}

const refOf = (tenantId: string, row: { id: string }) => ({ tenantId, recordingId: row.id });

/** Deletes one recording: its object, then its row. False when the row does not exist. */
export async function deleteRecording(db: Database, objects: ObjectStore, tenantId: string, id: string): Promise<boolean> {
  const row = await getRecording(db, tenantId, id);
  if (!row) return false;
  await objects.delete(refOf(tenantId, row));
  await withTenant(db, tenantId, (tx) => tx.delete(recordings).where(eq(recordings.id, id)));
  return true;
}

/** Deletes a call with its recordings (objects and rows), transcript and events. */
export async function deleteCallWithRecordings(db: Database, objects: ObjectStore, tenantId: string, callId: string): Promise<{ deleted: boolean; recordings: number }> {
  const list = await withTenant(db, tenantId, (tx) => tx.select({ id: recordings.id }).from(recordings).where(eq(recordings.callId, callId)));
  for (const row of list) await objects.delete(refOf(tenantId, row));
  const gone = await withTenant(db, tenantId, async (tx) => {
    await tx.delete(recordings).where(eq(recordings.callId, callId));
    return tx.delete(calls).where(eq(calls.id, callId)).returning({ id: calls.id });
  });
  return { deleted: gone.length > 0, recordings: list.length };
}

/** Deletes a contact with the recordings made with it (objects and rows); consents cascade. */
export async function deleteContactWithRecordings(db: Database, objects: ObjectStore, tenantId: string, contactId: string): Promise<{ deleted: boolean; recordings: number }> {
  const list = await withTenant(db, tenantId, (tx) => tx.select({ id: recordings.id }).from(recordings).where(eq(recordings.contactId, contactId)));
  for (const row of list) await objects.delete(refOf(tenantId, row));
  const gone = await withTenant(db, tenantId, async (tx) => {
    await tx.delete(recordings).where(eq(recordings.contactId, contactId));
    return tx.delete(contacts).where(and(eq(contacts.id, contactId), eq(contacts.tenantId, tenantId))).returning({ id: contacts.id });
  });
  return { deleted: gone.length > 0, recordings: list.length };
}

/**
 * Tenant erasure, storage half: every recording object, then the tenant row,
 * which cascades to every tenant table. tenant_keys rows are kept (they carry
 * no foreign key) as destroyed tombstones; destroy the keys BEFORE calling this.
 */
export async function deleteTenantRecordingsAndRows(db: Database, objects: ObjectStore, tenantId: string): Promise<{ recordings: number }> {
  const list = await withTenant(db, tenantId, (tx) => tx.select({ id: recordings.id }).from(recordings));
  for (const row of list) await objects.delete(refOf(tenantId, row));
  await withTenant(db, tenantId, (tx) => tx.delete(tenants).where(eq(tenants.id, tenantId)));
  return { recordings: list.length };
}
