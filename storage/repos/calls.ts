/**
 * Call records and their events, always inside the tenant scope. A call row is
 * written when the call starts (state 'ringing'), updated when it is answered
 * and finished when it ends, so a crash leaves at most an unfinished row.
 * Each of those changes writes its webhook event (call.started, call.answered,
 * call.ended, transcript.completed) in the same transaction (webhook-outbox.ts).
 */
import { and, asc, desc, eq, isNull } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { callEvents, calls, transcriptTurns } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { emitEvent, notifyOutbox } from './webhook-outbox.ts';

export type CallRow = typeof calls.$inferSelect;
export type CallEventRow = typeof callEvents.$inferSelect;

export interface CallStart {
  agentId: string | null;
  numberId?: string | null;
  direction: 'inbound' | 'outbound';
  fromUri: string;
  toUri: string;
  sipCallId: string;
}

export async function startCall(db: Database, tenantId: string, input: CallStart): Promise<CallRow> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.insert(calls).values({
      tenantId, agentId: input.agentId, numberId: input.numberId ?? null, direction: input.direction,
      fromUri: input.fromUri, toUri: input.toUri, sipCallId: input.sipCallId, state: 'ringing',
    }).returning();
    await tx.insert(callEvents).values({ tenantId, callId: row!.id, type: 'state', data: { state: 'ringing' } });
    await emitEvent(tx, tenantId, {
      type: 'call.started', subject: row!.id,
      data: { callId: row!.id, direction: row!.direction, agentId: row!.agentId, from: row!.fromUri, to: row!.toUri, startedAt: row!.startedAt.toISOString() },
    });
    return row!;
  }).finally(notifyOutbox);
}

export async function markCallAnswered(db: Database, tenantId: string, callId: string): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    const answeredAt = new Date();
    const updated = await tx.update(calls).set({ state: 'answered', answeredAt }).where(eq(calls.id, callId)).returning({ id: calls.id });
    await tx.insert(callEvents).values({ tenantId, callId, type: 'state', data: { state: 'answered' } });
    if (updated.length) await emitEvent(tx, tenantId, { type: 'call.answered', subject: callId, data: { callId, answeredAt: answeredAt.toISOString() } });
  }).finally(notifyOutbox);
}

/**
 * Finishes a call once (a second finish is ignored). `failure` names what failed, never call content;
 * without one, a failure already recorded (recordCallOutcome) is kept.
 */
export async function finishCall(db: Database, tenantId: string, callId: string, end: { reason: string; failure?: string }): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    const updated = await tx.update(calls)
      .set({ state: 'ended', endedAt: new Date(), endReason: end.reason, ...(end.failure !== undefined ? { failure: end.failure } : {}) })
      .where(and(eq(calls.id, callId), isNull(calls.endedAt)))
      .returning();
    const row = updated[0];
    if (!row) return;
    await tx.insert(callEvents).values({ tenantId, callId, type: 'state', data: { state: 'ended', reason: end.reason } });
    await emitEvent(tx, tenantId, { type: 'call.ended', subject: callId, data: callEndedData(row) });
  }).finally(notifyOutbox);
}

/** How a call ended, for call.ended and the campaign outcomes: answered, or why not. */
export function callOutcome(row: Pick<CallRow, 'answeredAt' | 'endReason' | 'failure'>): 'answered' | 'busy' | 'no-answer' | 'failed' {
  if (row.answeredAt) return 'answered';
  const reason = row.endReason ?? '';
  if (reason === 'failed-486' || reason === 'failed-600' || reason === 'busy') return 'busy';
  if (reason === 'failed-408' || reason === 'failed-480' || reason === 'failed-487' || reason === 'no-answer' || reason === 'timeout') return 'no-answer';
  return 'failed';
}

function callEndedData(row: CallRow): Record<string, unknown> {
  const ended = row.endedAt ?? new Date();
  return {
    callId: row.id, direction: row.direction, agentId: row.agentId, outcome: callOutcome(row), endReason: row.endReason, failure: row.failure,
    startedAt: row.startedAt.toISOString(), answeredAt: row.answeredAt?.toISOString() ?? null, endedAt: ended.toISOString(),
    durationMs: Math.max(0, ended.getTime() - row.startedAt.getTime()),
    talkMs: row.answeredAt ? Math.max(0, ended.getTime() - row.answeredAt.getTime()) : 0,
    latency: row.latency ?? null,
  };
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

/**
 * The conversation on a call is over: records its outcome (as recordCallOutcome) and emits
 * transcript.completed with the redacted turns and the latency summary, in one transaction.
 */
export async function completeConversation(db: Database, tenantId: string, callId: string, outcome: CallOutcome): Promise<void> {
  const set = { ...(outcome.latency !== undefined ? { latency: outcome.latency } : {}), ...(outcome.failure !== undefined ? { failure: outcome.failure } : {}) };
  await withTenant(db, tenantId, async (tx) => {
    if (Object.keys(set).length) await tx.update(calls).set(set).where(eq(calls.id, callId));
    const turns = await tx.select({ seq: transcriptTurns.seq, speaker: transcriptTurns.speaker, text: transcriptTurns.redactedText, entities: transcriptTurns.entities, at: transcriptTurns.at })
      .from(transcriptTurns).where(eq(transcriptTurns.callId, callId)).orderBy(asc(transcriptTurns.seq), asc(transcriptTurns.id));
    await emitEvent(tx, tenantId, {
      type: 'transcript.completed', subject: callId,
      data: {
        callId, redacted: true, latency: outcome.latency ?? null, failure: outcome.failure ?? null,
        turns: turns.map((t) => ({ seq: t.seq, speaker: t.speaker, text: t.text, entities: t.entities, at: t.at.toISOString() })),
      },
    });
  }).finally(notifyOutbox);
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
