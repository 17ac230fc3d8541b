/**
 * /v1/calls: the call log, filtered by time range, number, agent, direction
 * and outcome (newest first, cursor-paginated); one call with its latency
 * summary and its transcript, which is stored redacted (raw text never
 * reaches the database); and erasure of one call with its recordings.
 */
import { z } from 'zod';
import { CALL_OUTCOMES, listCallsPage, type CallListRow, type TranscriptTurnRow } from '../../../storage/index.ts';
import { eraseCall, getCallDetail } from '../../resources/calls.ts';
import { badRequest } from '../problem.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, instant, iso, objectStore, served, who } from './resource-support.ts';

const callSchema = z.object({
  id: z.uuid(),
  agentId: z.uuid().nullable(),
  numberId: z.uuid().nullable(),
  direction: z.enum(['inbound', 'outbound']),
  fromUri: z.string(),
  toUri: z.string(),
  state: z.string(),
  outcome: z.enum(CALL_OUTCOMES).describe('in-progress, failed, unanswered or completed'),
  startedAt: z.string(),
  answeredAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  durationMs: z.number().int().nullable().describe('From answer (or start) to end'),
  endReason: z.string().nullable(),
  failure: z.string().nullable().describe('What failed (stage:provider), never call content'),
}).meta({ id: 'Call' });

const stat = z.object({ p50: z.number(), p95: z.number(), max: z.number() }).nullable();
const callDetailSchema = callSchema.extend({
  latency: z.object({ turns: z.number().int(), e2eMs: stat, overheadMs: stat }).catchall(z.unknown()).nullable()
    .describe('Latency summary over the call\'s turns (DESIGN.md vocabulary)'),
  transcript: z.array(z.object({
    seq: z.number().int(),
    speaker: z.string(),
    text: z.string().describe('Redacted: PII replaced by tags such as [CARD]'),
    entities: z.array(z.object({ type: z.string(), start: z.number().int(), end: z.number().int() })),
    latency: z.record(z.string(), z.number()).nullable(),
    at: z.string(),
  })),
}).meta({ id: 'CallDetail' });

function view(row: CallListRow) {
  const from = row.answeredAt ?? row.startedAt;
  return {
    id: row.id, agentId: row.agentId, numberId: row.numberId, direction: row.direction, fromUri: row.fromUri, toUri: row.toUri, state: row.state,
    outcome: row.outcome, startedAt: row.startedAt.toISOString(), answeredAt: iso(row.answeredAt), endedAt: iso(row.endedAt),
    durationMs: row.endedAt ? Math.max(0, row.endedAt.getTime() - from.getTime()) : null, endReason: row.endReason, failure: row.failure,
  };
}

const turnView = (t: TranscriptTurnRow) => ({
  seq: t.seq, speaker: t.speaker, text: t.redactedText, entities: (t.entities ?? []) as { type: string; start: number; end: number }[],
  latency: (t.latency ?? null) as Record<string, number> | null, at: t.at.toISOString(),
});

const params = idParam('callId');

export const callRoutes = [
  defineRoute({
    method: 'GET', url: '/calls', tag: 'calls', summary: 'List calls (newest first), filtered', permission: 'calls:read',
    query: pageQuery.extend({
      from: instant.optional().describe('Started at or after (ISO 8601)'),
      to: instant.optional().describe('Started before (ISO 8601)'),
      agentId: z.uuid().optional(),
      numberId: z.uuid().optional(),
      direction: z.enum(['inbound', 'outbound']).optional(),
      outcome: z.enum(CALL_OUTCOMES).optional(),
    }),
    response: pageSchema(callSchema),
    handler: async ({ ctx, query }) => {
      const from = query.from ? new Date(query.from) : undefined;
      const to = query.to ? new Date(query.to) : undefined;
      if (from && to && from >= to) throw badRequest('from must be before to.', [{ path: 'query.from', message: 'not before to' }]);
      const page = await served(() => listCallsPage(ctx.db, ctx.tenantId, {
        from, to, agentId: query.agentId, numberId: query.numberId, direction: query.direction, outcome: query.outcome,
      }, query));
      return apiPage(page, view);
    },
  }),
  defineRoute({
    method: 'GET', url: '/calls/:callId', tag: 'calls', summary: 'One call with its latency summary and redacted transcript', permission: 'calls:read',
    params, response: callDetailSchema,
    handler: async ({ ctx, params: p }) => {
      const { call, transcript } = await served(() => getCallDetail(ctx.db, ctx.tenantId, p.callId));
      return { ...view(call), latency: (call.latency ?? null) as z.input<typeof callDetailSchema>['latency'], transcript: transcript.map(turnView) };
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/calls/:callId', tag: 'calls', summary: 'Erase a call: its recordings (objects, then rows), transcript and events', permission: 'calls:delete', status: 204,
    params, response: z.null(),
    handler: async ({ ctx, params: p }) => {
      await served(() => eraseCall(ctx.db, objectStore(ctx), ctx.tenantId, p.callId, who(ctx)));
      return null;
    },
  }),
];
