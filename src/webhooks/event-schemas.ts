/**
 * The webhook event catalogue: one zod schema per event's `data`, the
 * envelope every payload shares ({ type, version, timestamp, data }), and
 * their JSON Schemas (generated from the same zod schemas, for the OpenAPI
 * document and the README). Payloads carry ids, states, numbers and redacted
 * text only; tests check that what the outbox writes validates here.
 */
import { z } from 'zod';
import { WEBHOOK_EVENT_TYPES, WEBHOOK_PAYLOAD_VERSION, type WebhookEventType } from '../../storage/index.ts';

const isoTime = z.string().datetime({ offset: true });
const uuid = z.string().uuid();
const stat = z.object({ p50: z.number(), p95: z.number(), max: z.number() }).nullable();
const latency = z.object({ turns: z.number().int(), e2eMs: stat, overheadMs: stat }).passthrough().nullable()
  .describe('latency summary over the call\'s turns (DESIGN.md vocabulary), null when no conversation reported one');

export const WEBHOOK_EVENT_DATA = {
  'call.started': z.object({
    callId: uuid, direction: z.enum(['inbound', 'outbound']), agentId: uuid.nullable(),
    from: z.string().describe('From URI'), to: z.string().describe('To URI'), startedAt: isoTime,
  }),
  'call.answered': z.object({ callId: uuid, answeredAt: isoTime }),
  'call.ended': z.object({
    callId: uuid, direction: z.enum(['inbound', 'outbound']), agentId: uuid.nullable(),
    outcome: z.enum(['answered', 'busy', 'no-answer', 'failed']), endReason: z.string().nullable(), failure: z.string().nullable(),
    startedAt: isoTime, answeredAt: isoTime.nullable(), endedAt: isoTime,
    durationMs: z.number().int().nonnegative(), talkMs: z.number().int().nonnegative(), latency,
  }),
  'transcript.completed': z.object({
    callId: uuid, redacted: z.literal(true), latency, failure: z.string().nullable(),
    turns: z.array(z.object({
      seq: z.number().int(), speaker: z.enum(['caller', 'agent']), text: z.string().describe('redacted text: entities replaced by [TYPE] tags'),
      entities: z.array(z.object({ type: z.string(), start: z.number().int(), end: z.number().int() })), at: isoTime,
    })),
  }),
  'recording.ready': z.object({
    recordingId: uuid, callId: uuid.nullable(), durationMs: z.number().int().nullable(), sizeBytes: z.number().int(),
    sha256: z.string().nullable(), cutShort: z.boolean(), retainUntil: isoTime,
  }),
  'campaign.contact.completed': z.object({
    campaignId: uuid, contactId: uuid, outcome: z.enum(['answered', 'busy', 'no-answer', 'failed', 'refused', 'cancelled']),
    detail: z.string().nullable().describe('the refusal reason or what failed'), attempts: z.number().int(), callId: uuid.nullable(),
  }),
  'campaign.completed': z.object({
    campaignId: uuid, state: z.enum(['completed', 'cancelled']),
    outcomes: z.record(z.string(), z.number().int()).describe('contacts per outcome'),
  }),
  'webhook.endpoint.disabled': z.object({ endpointId: uuid, reason: z.string(), failures: z.number().int() }),
} satisfies Record<WebhookEventType, z.ZodType>;

export function webhookPayloadSchema<T extends WebhookEventType>(type: T) {
  return z.object({
    type: z.literal(type), version: z.literal(WEBHOOK_PAYLOAD_VERSION), timestamp: isoTime, data: WEBHOOK_EVENT_DATA[type],
  });
}

/** JSON Schema (draft 2020-12) of every event's payload, keyed by event type. */
export function webhookJsonSchemas(): Record<WebhookEventType, unknown> {
  const out = {} as Record<WebhookEventType, unknown>;
  for (const type of WEBHOOK_EVENT_TYPES) out[type] = z.toJSONSchema(webhookPayloadSchema(type));
  return out;
}
