/**
 * Call records and their events, always inside the tenant scope. A call row is
 * written when the call starts (state 'ringing'), updated when it is answered
 * and finished when it ends, so a crash leaves at most an unfinished row.
 * Each state change and its call event are one statement (the event in a
 * data-modifying CTE), and finishing a call writes its queued transcript
 * turns (transcript-queue.ts): a call's statements are counted (issue 17).
 * Each of those changes also writes its webhook event (call.started,
 * call.answered, call.ended and transcript.completed) in the same transaction
 * (webhook-outbox.ts): one more statement each, and none for a tenant with no
 * endpoint subscribed to the event (the outbox remembers subscriptions briefly).
 */
import { randomUUID } from 'node:crypto';
import { and, asc, desc, eq, getTableColumns, gte, inArray, isNotNull, isNull, lt, ne, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { rows } from '../migrate.ts';
import { agents, callEvents, calls } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { afterTimestamp, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';
import { transcriptQueue } from './transcript-queue.ts';
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
    await emitEvent(tx, tenantId, {
      type: 'call.started', subject: id,
      data: { callId: id, direction: row!.direction, agentId: row!.agentId, from: row!.fromUri, to: row!.toUri, startedAt: row!.startedAt.toISOString() },
    });
    return row!;
  }).finally(notifyOutbox);
}

export async function markCallAnswered(db: Database, tenantId: string, callId: string): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    const event = tx.$with('event').as(tx.insert(callEvents).values({ tenantId, callId, type: 'state', data: { state: 'answered' } }).returning({ id: callEvents.id }));
    const answeredAt = new Date();
    const updated = await tx.with(event).update(calls).set({ state: 'answered', answeredAt }).where(eq(calls.id, callId)).returning({ id: calls.id });
    if (updated.length) await emitEvent(tx, tenantId, { type: 'call.answered', subject: callId, data: { callId, answeredAt: answeredAt.toISOString() } });
  }).finally(notifyOutbox);
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
    const ended = rows<Record<string, unknown>>(await tx.execute(sql`with ended as (
        update calls set state = 'ended', ended_at = now(), end_reason = ${end.reason}${failure}
        where id = ${callId} and ended_at is null returning *),
      event as (insert into call_events (tenant_id, call_id, type, data) select ${tenantId}::uuid, id, 'state', ${event}::jsonb from ended)
      select id, direction, agent_id, started_at, answered_at, ended_at, end_reason, failure, latency from ended`))[0];
    if (!ended) return;
    const row = {
      id: String(ended.id), direction: ended.direction as CallRow['direction'], agentId: (ended.agent_id as string | null) ?? null,
      startedAt: new Date(ended.started_at as string), answeredAt: ended.answered_at ? new Date(ended.answered_at as string) : null,
      endedAt: new Date(ended.ended_at as string), endReason: (ended.end_reason as string | null) ?? null, failure: (ended.failure as string | null) ?? null,
      latency: (typeof ended.latency === 'string' ? JSON.parse(ended.latency) : ended.latency) ?? null,
    };
    await emitEvent(tx, tenantId, { type: 'call.ended', subject: callId, data: callEndedData(row) });
    // The transcript is complete: every queued turn was written above, in this transaction.
    await emitTranscriptCompleted(tx, tenantId, callId, row);
  })).finally(notifyOutbox);
}

/** How a call ended, for call.ended and the campaign outcomes: answered, or why not. */
export function callOutcome(row: Pick<CallRow, 'answeredAt' | 'endReason' | 'failure'>): 'answered' | 'busy' | 'no-answer' | 'failed' {
  if (row.answeredAt) return 'answered';
  const reason = row.endReason ?? '';
  if (reason === 'failed-486' || reason === 'failed-600' || reason === 'busy') return 'busy';
  if (reason === 'failed-408' || reason === 'failed-480' || reason === 'failed-487' || reason === 'no-answer' || reason === 'timeout') return 'no-answer';
  return 'failed';
}

type EndedCall = Pick<CallRow, 'id' | 'direction' | 'agentId' | 'startedAt' | 'answeredAt' | 'endedAt' | 'endReason' | 'failure' | 'latency'>;

function callEndedData(row: EndedCall): Record<string, unknown> {
  const ended = row.endedAt ?? new Date();
  return {
    callId: row.id, direction: row.direction, agentId: row.agentId, outcome: callOutcome(row), endReason: row.endReason, failure: row.failure,
    startedAt: row.startedAt.toISOString(), answeredAt: row.answeredAt?.toISOString() ?? null, endedAt: ended.toISOString(),
    durationMs: Math.max(0, ended.getTime() - row.startedAt.getTime()),
    talkMs: row.answeredAt ? Math.max(0, ended.getTime() - row.answeredAt.getTime()) : 0,
    latency: row.latency ?? null,
  };
}

/** transcript.completed for an answered call: the redacted turns, read in the statement that writes the event. */
async function emitTranscriptCompleted(tx: Tx, tenantId: string, callId: string, row: EndedCall): Promise<void> {
  if (!row.answeredAt) return;
  await emitEvent(tx, tenantId, {
    type: 'transcript.completed', subject: callId,
    data: { callId, redacted: true, latency: row.latency ?? null, failure: row.failure },
  }, new Date(), sql`(select coalesce(jsonb_agg(jsonb_build_object('seq', seq, 'speaker', speaker, 'text', redacted_text, 'entities', entities,
      'at', to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')) order by seq, id), '[]'::jsonb)
    from transcript_turns where call_id = ${callId})`);
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

/**
 * What became of a call, from its row (one definition, for the list filter and the answer):
 *   in-progress  not ended yet;
 *   failed       a stage failed (calls.failure) or set-up failed (end reason setup-failed, failed, failed-<status>);
 *   unanswered   ended without being answered;
 *   completed    answered and ended with nothing failed.
 */
export const CALL_OUTCOMES = ['in-progress', 'failed', 'unanswered', 'completed'] as const;
export type CallOutcomeKind = (typeof CALL_OUTCOMES)[number];

const outcomeSql = sql<CallOutcomeKind>`case
  when ${calls.endedAt} is null then 'in-progress'
  when ${calls.failure} is not null or ${calls.endReason} = 'setup-failed' or ${calls.endReason} like 'failed%' then 'failed'
  when ${calls.answeredAt} is null then 'unanswered'
  else 'completed' end`;

export type CallListRow = CallRow & { outcome: CallOutcomeKind };

export interface CallFilter {
  /** Started at or after. */
  from?: Date | undefined;
  /** Started before. */
  to?: Date | undefined;
  agentId?: string | undefined;
  numberId?: string | undefined;
  direction?: 'inbound' | 'outbound' | undefined;
  outcome?: CallOutcomeKind | undefined;
}

/** The tenant's calls, newest first, filtered, one page at a time. */
export async function listCallsPage(db: Database, tenantId: string, filter: CallFilter, page: PageRequest): Promise<Page<CallListRow>> {
  const where: (SQL | undefined)[] = [
    filter.from ? gte(calls.startedAt, filter.from) : undefined,
    filter.to ? lt(calls.startedAt, filter.to) : undefined,
    filter.agentId ? eq(calls.agentId, filter.agentId) : undefined,
    filter.numberId ? eq(calls.numberId, filter.numberId) : undefined,
    filter.direction ? eq(calls.direction, filter.direction) : undefined,
    filter.outcome ? sql`${outcomeSql} = ${filter.outcome}` : undefined,
    afterTimestamp(calls.startedAt, calls.id, page.cursor, 'desc'),
  ];
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(calls), outcome: outcomeSql, key: micros(calls.startedAt) })
    .from(calls).where(and(...where)).orderBy(desc(calls.startedAt), desc(calls.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => row), next: result.next };
}

/** One call with its outcome; undefined when the tenant has no such call. */
export async function getCallWithOutcome(db: Database, tenantId: string, callId: string): Promise<CallListRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select({ ...getTableColumns(calls), outcome: outcomeSql }).from(calls).where(eq(calls.id, callId)))[0]);
}

/** A call held by another media node, as the console's live list needs it (the party still unmasked: mask before showing). */
export interface OtherNodeCall {
  id: string;
  agentId: string | null;
  agentName: string | null;
  direction: 'inbound' | 'outbound';
  /** The other party: the caller of an inbound call, the callee of an outbound one. */
  remoteUri: string;
  state: string;
  startedAt: Date;
  endedAt: Date | null;
  endReason: string | null;
  /** The turns so far, from the latency summary its node writes after each turn (0 before the first). */
  turns: number;
  nodeId: string;
}

/**
 * The tenant's calls in progress on media nodes other than `nodeId`, plus the calls named in `alsoIds` whatever
 * their state (those seen in progress before: their end is read here). One statement; the open calls are found
 * through the partial index of open calls per node (calls_node_open).
 */
export async function listOtherNodesCalls(db: Database, tenantId: string, nodeId: string, alsoIds: readonly string[] = []): Promise<OtherNodeCall[]> {
  const open = isNull(calls.endedAt);
  const found = await withTenant(db, tenantId, (tx) => tx.select({
    id: calls.id, agentId: calls.agentId, agentName: agents.name, direction: calls.direction, fromUri: calls.fromUri, toUri: calls.toUri,
    state: calls.state, startedAt: calls.startedAt, endedAt: calls.endedAt, endReason: calls.endReason, nodeId: calls.nodeId,
    turns: sql<number>`coalesce((${calls.latency}->>'turns')::int, 0)`.mapWith(Number),
  }).from(calls).leftJoin(agents, eq(agents.id, calls.agentId))
    .where(and(isNotNull(calls.nodeId), ne(calls.nodeId, nodeId), alsoIds.length ? or(open, inArray(calls.id, [...alsoIds])) : open)));
  return found.map(({ fromUri, toUri, nodeId: node, ...row }) => ({ ...row, remoteUri: row.direction === 'inbound' ? fromUri : toUri, nodeId: node! }));
}
