/**
 * Call records and their events, always inside the tenant scope. A call row is
 * written when the call starts (state 'ringing'), updated when it is answered
 * and finished when it ends, so a crash leaves at most an unfinished row.
 * Each state change and its call event are one statement (the event in a
 * data-modifying CTE), and finishing a call writes its queued transcript
 * turns (transcript-queue.ts): a call's statements are counted (issue 17).
 */
import { randomUUID } from 'node:crypto';
import { asc, desc, eq, sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { callEvents, calls } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { transcriptQueue } from './transcript-queue.ts';

export type CallRow = typeof calls.$inferSelect;
export type CallEventRow = typeof callEvents.$inferSelect;

export interface CallStart {
  agentId: string | null;
  numberId?: string | null;
  direction: 'inbound' | 'outbound';
  fromUri: string;
  toUri: string;
  sipCallId: string;
  /** The media node holding the call (storage/cluster.ts), so it can be reaped if that node dies. */
  nodeId?: string;
}

export async function startCall(db: Database, tenantId: string, input: CallStart): Promise<CallRow> {
  const id = randomUUID();
  return withTenant(db, tenantId, async (tx) => {
    const event = tx.$with('event').as(tx.insert(callEvents).values({ tenantId, callId: id, type: 'state', data: { state: 'ringing' } }).returning({ id: callEvents.id }));
    const [row] = await tx.with(event).insert(calls).values({
      id, tenantId, agentId: input.agentId, numberId: input.numberId ?? null, direction: input.direction,
      fromUri: input.fromUri, toUri: input.toUri, sipCallId: input.sipCallId, state: 'ringing', nodeId: input.nodeId ?? null,
    }).returning();
    return row!;
  });
}

export async function markCallAnswered(db: Database, tenantId: string, callId: string): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    const event = tx.$with('event').as(tx.insert(callEvents).values({ tenantId, callId, type: 'state', data: { state: 'answered' } }).returning({ id: callEvents.id }));
    await tx.with(event).update(calls).set({ state: 'answered', answeredAt: new Date() }).where(eq(calls.id, callId));
  });
}

/**
 * Finishes a call once (a second finish is ignored). `failure` names what failed, never call content;
 * without one, a failure already recorded (recordCallOutcome) is kept.
 */
export async function finishCall(db: Database, tenantId: string, callId: string, end: { reason: string; failure?: string }): Promise<void> {
  const failure = end.failure !== undefined ? sql`, failure = ${end.failure}` : sql``;
  const event = JSON.stringify({ state: 'ended', reason: end.reason });
  // The transcript turns still queued for the call are written in the same transaction (transcript-queue.ts).
  await transcriptQueue(db).finishWith(callId, (insertQueued) => withTenant(db, tenantId, async (tx) => {
    await insertQueued(tx);
    // The event only when this finish ended the call (the update matched a row).
    await tx.execute(sql`with ended as (
        update calls set state = 'ended', ended_at = now(), end_reason = ${end.reason}${failure}
        where id = ${callId} and ended_at is null returning id)
      insert into call_events (tenant_id, call_id, type, data) select ${tenantId}::uuid, id, 'state', ${event}::jsonb from ended`);
  }));
}

export interface CallOutcome {
  /** Latency summary over the call's turns (DESIGN.md vocabulary; numbers only, never content). */
  latency?: Record<string, unknown>;
  /** What failed, e.g. "llm:openai" (stage and provider, never content). */
  failure?: string;
}

/** Records a conversation's outcome on its call (any time, before or after finishCall); only the given fields change. */
export async function recordCallOutcome(db: Database, tenantId: string, callId: string, outcome: CallOutcome): Promise<void> {
  const set = { ...(outcome.latency !== undefined ? { latency: outcome.latency } : {}), ...(outcome.failure !== undefined ? { failure: outcome.failure } : {}) };
  if (Object.keys(set).length === 0) return;
  await withTenant(db, tenantId, async (tx) => {
    await tx.update(calls).set(set).where(eq(calls.id, callId));
  });
}

export async function addCallEvent(db: Database, tenantId: string, callId: string, type: string, data: Record<string, unknown> = {}): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    await tx.insert(callEvents).values({ tenantId, callId, type, data });
  });
}

export async function getCall(db: Database, tenantId: string, callId: string): Promise<CallRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(calls).where(eq(calls.id, callId)))[0]);
}

export async function listCalls(db: Database, tenantId: string, limit = 100): Promise<CallRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(calls).orderBy(desc(calls.startedAt)).limit(limit));
}

export async function listCallEvents(db: Database, tenantId: string, callId: string): Promise<CallEventRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(callEvents).where(eq(callEvents.callId, callId)).orderBy(asc(callEvents.id)));
}
