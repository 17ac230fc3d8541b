/**
 * The webhook outbox's write side. `emitEvent` runs inside the transaction
 * that makes the change it reports (a call starting, a recording completing,
 * a campaign contact finishing), so the event exists exactly when the change
 * does: a crash before the commit loses both, after it keeps both. One
 * statement writes the event and a delivery row per enabled endpoint of the
 * tenant subscribed to its type; with no such endpoint nothing is written.
 * One statement more per event for the change's transaction (issue 17 counts them).
 * Payloads carry ids, states, numbers and redacted text only (the event
 * catalogue and its JSON Schemas: src/webhooks/event-schemas.ts).
 */
import { randomBytes } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../database.ts';
import { rows } from '../migrate.ts';

export const WEBHOOK_EVENT_TYPES = [
  'call.started', 'call.answered', 'call.ended', 'transcript.completed', 'recording.ready',
  'campaign.contact.completed', 'campaign.completed', 'webhook.endpoint.disabled',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

/** Version of every payload's shape; bumped (with the schemas) on an incompatible change. */
export const WEBHOOK_PAYLOAD_VERSION = 1;

export function isWebhookEventType(value: string): value is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(value);
}

/** A Standard Webhooks message id: "msg_" + 26 base32 characters (128 random bits). */
export function newWebhookId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(26);
  let out = 'msg_';
  for (const b of bytes) out += alphabet[b & 31];
  return out;
}

export interface OutboxEvent {
  type: WebhookEventType;
  /** What the event is about (call id, campaign id, endpoint id): per endpoint, events of one subject are delivered in order. */
  subject: string;
  data: Record<string, unknown>;
}

/**
 * Which event types each tenant's enabled endpoints want, remembered for a short while so a call's
 * state changes cost no extra statement for the many tenants without webhooks (issue 17's statement
 * budget). This process forgets a tenant at once when its endpoints change here; an endpoint created
 * through another node is seen within SUBSCRIPTION_TTL_MS.
 */
const SUBSCRIPTION_TTL_MS = 5_000;
const subscriptions = new Map<string, { types: Set<string>; at: number }>();

export function forgetWebhookSubscriptions(tenantId?: string): void {
  if (tenantId === undefined) subscriptions.clear();
  else subscriptions.delete(tenantId);
}

/** Whether an enabled endpoint of the tenant subscribes to `type` (read in `tx`, cached briefly). */
export async function wantsEvent(tx: Tx, tenantId: string, type: WebhookEventType): Promise<boolean> {
  const known = subscriptions.get(tenantId);
  if (known && performance.now() - known.at < SUBSCRIPTION_TTL_MS) return known.types.has(type);
  const result = await tx.execute(sql`select distinct unnest(event_types) as type from webhook_endpoints where tenant_id = ${tenantId} and enabled`);
  const types = new Set(rows<{ type: string }>(result).map((r) => r.type));
  subscriptions.set(tenantId, { types, at: performance.now() });
  return types.has(type);
}

/** Writes the event and its deliveries in `tx` (already in the tenant's scope). Returns the event id, or undefined when no endpoint wants it. */
export async function emitEvent(tx: Tx, tenantId: string, event: OutboxEvent, now: Date = new Date(), turnsSql?: SQL): Promise<string | undefined> {
  if (!await wantsEvent(tx, tenantId, event.type)) return undefined;
  const id = newWebhookId();
  const envelope = sql`${JSON.stringify({ type: event.type, version: WEBHOOK_PAYLOAD_VERSION, timestamp: now.toISOString(), data: event.data })}::jsonb`;
  // `turnsSql` (a jsonb expression) becomes data.turns, read in this statement (transcript.completed).
  const payload = turnsSql ? sql`jsonb_set(${envelope}, '{data,turns}', ${turnsSql})` : envelope;
  const result = await tx.execute(sql`
    with ep as (
      select id from webhook_endpoints where tenant_id = ${tenantId} and enabled and ${event.type} = any(event_types)
    ), ev as (
      insert into webhook_events (id, tenant_id, type, subject, payload)
      select ${id}, ${tenantId}, ${event.type}, ${event.subject}, ${payload} where exists (select 1 from ep)
      returning id, seq
    )
    insert into webhook_deliveries (tenant_id, event_id, endpoint_id, subject, seq, next_attempt_at)
    select ${tenantId}, ev.id, ep.id, ${event.subject}, ev.seq, ${now.toISOString()}::timestamptz from ev cross join ep
    returning event_id`);
  if (rows<{ event_id: string }>(result).length === 0) return undefined;
  written = true;
  return id;
}

const outboxListeners = new Set<() => void>();

/** Set when emitEvent wrote an event: notifyOutbox wakes the workers only then (a call's other writes cost nothing). */
let written = false;

/** Called by the repos after a transaction that may have emitted events: wakes the delivery workers of this process if one did. */
export function notifyOutbox(): void {
  if (!written) return;
  written = false;
  for (const listener of outboxListeners) {
    try { listener(); } catch { /* a listener's failure is its own */ }
  }
}

/** Subscribes to notifyOutbox; returns the unsubscribe function. */
export function onOutboxWrite(listener: () => void): () => void {
  outboxListeners.add(listener);
  return () => void outboxListeners.delete(listener);
}
