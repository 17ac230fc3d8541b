/**
 * Webhook endpoints, deliveries and the per-attempt log (0008_webhooks.sql),
 * always inside the tenant scope. Secrets arrive here already sealed (the
 * sealing is src/webhooks/endpoints.ts); listings never return them.
 *
 * A delivery is due when it is pending, its next attempt time has come, it is
 * not leased by a worker (or the lease expired: a crash mid-delivery), its
 * endpoint is enabled, and no earlier pending delivery of the same subject to
 * the same endpoint exists (events about one call arrive in order).
 */
import { and, asc, desc, eq, getTableColumns, lt, sql } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { rows } from '../migrate.ts';
import { webhookAttempts, webhookDeliveries, webhookEndpoints, webhookEvents } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { auditInTx, type AuditEntry } from './audit.ts';
import { emitEvent, forgetWebhookSubscriptions, notifyOutbox } from './webhook-outbox.ts';
import { afterTimestamp, decodeCursor, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';

export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
export type WebhookAttemptRow = typeof webhookAttempts.$inferSelect;

/** An endpoint as listed: no secret. */
export type WebhookEndpointInfo = Omit<WebhookEndpointRow, 'secretSealed' | 'previousSecretSealed' | 'secretKeyId' | 'previousSecretKeyId'>;

export function endpointInfo(row: WebhookEndpointRow): WebhookEndpointInfo {
  const { secretSealed: _a, previousSecretSealed: _b, secretKeyId: _c, previousSecretKeyId: _d, ...info } = row;
  return info;
}

export interface NewWebhookEndpoint {
  id: string;
  url: string;
  description?: string | null;
  eventTypes: string[];
  secretSealed: Buffer;
  secretKeyId: string;
}

export async function insertWebhookEndpoint(db: Database, tenantId: string, input: NewWebhookEndpoint, entry: AuditEntry): Promise<WebhookEndpointRow> {
  // Calls write their events by the endpoints' subscriptions: this process sees the change at once.
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.insert(webhookEndpoints).values({
      id: input.id, tenantId, url: input.url, description: input.description ?? null, eventTypes: input.eventTypes,
      secretSealed: input.secretSealed, secretKeyId: input.secretKeyId,
    }).returning();
    await auditInTx(tx, tenantId, entry);
    return row!;
  }).finally(() => forgetWebhookSubscriptions(tenantId));
}

export async function getWebhookEndpoint(db: Database, tenantId: string, id: string): Promise<WebhookEndpointRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id)))[0]);
}

export async function listWebhookEndpoints(db: Database, tenantId: string): Promise<WebhookEndpointInfo[]> {
  const found = await withTenant(db, tenantId, (tx) => tx.select().from(webhookEndpoints).orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id)));
  return found.map(endpointInfo);
}

export interface WebhookEndpointChanges {
  url?: string;
  description?: string | null;
  eventTypes?: string[];
  /** Re-enabling clears the failure count and the disabled reason. */
  enabled?: boolean;
  secret?: { sealed: Buffer; keyId: string; previous: { sealed: Buffer; keyId: string; until: Date } | null };
}

export async function updateWebhookEndpoint(db: Database, tenantId: string, id: string, changes: WebhookEndpointChanges, entry: AuditEntry): Promise<WebhookEndpointRow | undefined> {
  const set: Partial<typeof webhookEndpoints.$inferInsert> = {};
  if (changes.url !== undefined) set.url = changes.url;
  if (changes.description !== undefined) set.description = changes.description;
  if (changes.eventTypes !== undefined) set.eventTypes = changes.eventTypes;
  if (changes.enabled !== undefined) {
    set.enabled = changes.enabled;
    if (changes.enabled) Object.assign(set, { consecutiveFailures: 0, failingSince: null, disabledReason: null });
  }
  if (changes.secret) {
    Object.assign(set, {
      secretSealed: changes.secret.sealed, secretKeyId: changes.secret.keyId,
      previousSecretSealed: changes.secret.previous?.sealed ?? null, previousSecretKeyId: changes.secret.previous?.keyId ?? null,
      previousSecretUntil: changes.secret.previous?.until ?? null,
    });
  }
  // Calls write their events by the endpoints' subscriptions: this process sees the change at once.
  return withTenant(db, tenantId, async (tx) => {
    const [row] = Object.keys(set).length
      ? await tx.update(webhookEndpoints).set(set).where(eq(webhookEndpoints.id, id)).returning()
      : await tx.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
    if (row) await auditInTx(tx, tenantId, entry);
    return row;
  }).finally(() => forgetWebhookSubscriptions(tenantId));
}

export async function deleteWebhookEndpoint(db: Database, tenantId: string, id: string, entry: AuditEntry): Promise<boolean> {
  // Calls write their events by the endpoints' subscriptions: this process sees the change at once.
  return withTenant(db, tenantId, async (tx) => {
    const gone = await tx.delete(webhookEndpoints).where(eq(webhookEndpoints.id, id)).returning({ id: webhookEndpoints.id });
    if (gone.length) await auditInTx(tx, tenantId, entry);
    return gone.length > 0;
  }).finally(() => forgetWebhookSubscriptions(tenantId));
}

// ------------------------------------------------------------ deliveries

/** A claimed delivery, with what sending it needs. */
export interface ClaimedDelivery {
  id: number;
  eventId: string;
  endpointId: string;
  attempts: number;
  payload: string;
  eventCreatedAt: Date;
  url: string;
  secretSealed: Buffer;
  secretKeyId: string;
  previousSecretSealed: Buffer | null;
  previousSecretKeyId: string | null;
  previousSecretUntil: Date | null;
}

/**
 * Claims up to `limit` due deliveries of the tenant (oldest first) by leasing
 * them until `leaseUntil`; concurrent workers skip each other's rows.
 */
export async function claimDueDeliveries(db: Database, tenantId: string, now: Date, leaseUntil: Date, limit: number): Promise<ClaimedDelivery[]> {
  return withTenant(db, tenantId, async (tx) => {
    const claimed = rows<{ id: string | number }>(await tx.execute(sql`
      update webhook_deliveries set lease_until = ${leaseUntil.toISOString()}::timestamptz
      where id in (
        select d.id from webhook_deliveries d join webhook_endpoints e on e.id = d.endpoint_id
        where d.tenant_id = ${tenantId} and d.status = 'pending' and e.enabled
          and d.next_attempt_at <= ${now.toISOString()}::timestamptz
          and (d.lease_until is null or d.lease_until <= ${now.toISOString()}::timestamptz)
          and not exists (select 1 from webhook_deliveries p
                          where p.endpoint_id = d.endpoint_id and p.subject = d.subject and p.status = 'pending' and p.seq < d.seq)
        order by d.seq limit ${limit}
        for update of d skip locked)
      returning id`));
    if (claimed.length === 0) return [];
    const ids = claimed.map((r) => Number(r.id));
    const found = await tx.select({
      id: webhookDeliveries.id, eventId: webhookDeliveries.eventId, endpointId: webhookDeliveries.endpointId, attempts: webhookDeliveries.attempts,
      payload: sql<string>`${webhookEvents.payload}::text`, eventCreatedAt: webhookEvents.createdAt, url: webhookEndpoints.url,
      secretSealed: webhookEndpoints.secretSealed, secretKeyId: webhookEndpoints.secretKeyId,
      previousSecretSealed: webhookEndpoints.previousSecretSealed, previousSecretKeyId: webhookEndpoints.previousSecretKeyId,
      previousSecretUntil: webhookEndpoints.previousSecretUntil,
    }).from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
      .where(sql`${webhookDeliveries.id} in ${ids}`)
      .orderBy(asc(webhookDeliveries.seq));
    return found;
  });
}

export interface AttemptResult {
  at: Date;
  durationMs: number;
  statusCode: number | null;
  error: string | null;
  ok: boolean;
  /** When not ok: the next attempt's time, or null to give up (status 'failed'). */
  retryAt: Date | null;
}

export interface EndpointFailurePolicy {
  /** Disable once this many attempts in a row failed... */
  failureLimit: number;
  /** ...and the endpoint has been failing at least this long. */
  failureWindowMs: number;
}

/**
 * Logs one attempt and moves the delivery on (delivered, retry at, failed),
 * updates the endpoint's failure streak and, when the streak passes the
 * policy, disables the endpoint, audits it and emits webhook.endpoint.disabled,
 * all in one transaction. Returns whether the endpoint was disabled now.
 */
export async function recordDeliveryAttempt(
  db: Database, tenantId: string, delivery: Pick<ClaimedDelivery, 'id' | 'endpointId' | 'attempts'>, result: AttemptResult, policy: EndpointFailurePolicy,
): Promise<{ disabled: boolean }> {
  const disabled = await withTenant(db, tenantId, async (tx) => {
    const attempt = delivery.attempts + 1;
    await tx.insert(webhookAttempts).values({
      tenantId, deliveryId: delivery.id, attempt, at: result.at, statusCode: result.statusCode, error: result.error, durationMs: Math.round(result.durationMs),
    });
    if (result.ok) {
      await tx.update(webhookDeliveries).set({ status: 'delivered', attempts: attempt, deliveredAt: result.at, leaseUntil: null, lastStatusCode: result.statusCode, lastError: null })
        .where(eq(webhookDeliveries.id, delivery.id));
      await tx.update(webhookEndpoints).set({ consecutiveFailures: 0, failingSince: null }).where(eq(webhookEndpoints.id, delivery.endpointId));
      return false;
    }
    await tx.update(webhookDeliveries).set({
      status: result.retryAt ? 'pending' : 'failed', attempts: attempt, leaseUntil: null, lastStatusCode: result.statusCode, lastError: result.error,
      ...(result.retryAt ? { nextAttemptAt: result.retryAt } : {}),
    }).where(eq(webhookDeliveries.id, delivery.id));
    const [endpoint] = await tx.update(webhookEndpoints).set({
      consecutiveFailures: sql`${webhookEndpoints.consecutiveFailures} + 1`,
      failingSince: sql`coalesce(${webhookEndpoints.failingSince}, ${result.at.toISOString()}::timestamptz)`,
    }).where(eq(webhookEndpoints.id, delivery.endpointId)).returning();
    if (!endpoint || !endpoint.enabled) return false;
    const failingFor = result.at.getTime() - (endpoint.failingSince?.getTime() ?? result.at.getTime());
    if (endpoint.consecutiveFailures < policy.failureLimit || failingFor < policy.failureWindowMs) return false;
    return disableEndpointInTx(tx, tenantId, endpoint, `${endpoint.consecutiveFailures} failed attempts in a row over ${Math.round(failingFor / 60_000)} minutes`, result.at);
  });
  if (disabled) {
    forgetWebhookSubscriptions(tenantId);
    notifyOutbox();
  }
  return { disabled };
}

async function disableEndpointInTx(tx: Tx, tenantId: string, endpoint: WebhookEndpointRow, reason: string, at: Date): Promise<boolean> {
  await tx.update(webhookEndpoints).set({ enabled: false, disabledReason: reason }).where(eq(webhookEndpoints.id, endpoint.id));
  await auditInTx(tx, tenantId, { actor: 'system:webhooks', action: 'webhook.endpoint.disabled', target: endpoint.id, detail: { reason, failures: endpoint.consecutiveFailures } });
  await emitEvent(tx, tenantId, { type: 'webhook.endpoint.disabled', subject: endpoint.id, data: { endpointId: endpoint.id, reason, failures: endpoint.consecutiveFailures } }, at);
  return true;
}

export interface DeliveryFilter { endpointId?: string; eventId?: string; limit?: number }

export async function listWebhookDeliveries(db: Database, tenantId: string, filter: DeliveryFilter = {}): Promise<(WebhookDeliveryRow & { type: string })[]> {
  return withTenant(db, tenantId, async (tx) => {
    const found = await tx.select({ d: webhookDeliveries, type: webhookEvents.type }).from(webhookDeliveries)
      .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
      .where(and(
        filter.endpointId ? eq(webhookDeliveries.endpointId, filter.endpointId) : undefined,
        filter.eventId ? eq(webhookDeliveries.eventId, filter.eventId) : undefined,
      ))
      .orderBy(desc(webhookDeliveries.seq)).limit(filter.limit ?? 100);
    return found.map((r) => ({ ...r.d, type: r.type }));
  });
}

export async function listWebhookAttempts(db: Database, tenantId: string, deliveryId: number): Promise<WebhookAttemptRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(webhookAttempts).where(eq(webhookAttempts.deliveryId, deliveryId)).orderBy(asc(webhookAttempts.attempt), asc(webhookAttempts.id)));
}

/** Makes one delivery due again now (same event, same webhook-id); true when it exists. */
export async function requeueWebhookDelivery(db: Database, tenantId: string, deliveryId: number, now: Date, entry: AuditEntry): Promise<boolean> {
  const done = await withTenant(db, tenantId, async (tx) => {
    const updated = await tx.update(webhookDeliveries).set({ status: 'pending', nextAttemptAt: now, leaseUntil: null })
      .where(eq(webhookDeliveries.id, deliveryId)).returning({ id: webhookDeliveries.id });
    if (updated.length) await auditInTx(tx, tenantId, entry);
    return updated.length > 0;
  });
  if (done) notifyOutbox();
  return done;
}

/** The events of the tenant (newest first), for the API's event log and tests. */
export async function listWebhookEvents(db: Database, tenantId: string, limit = 100): Promise<(typeof webhookEvents.$inferSelect)[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(webhookEvents).orderBy(desc(webhookEvents.seq)).limit(limit));
}

/** The tenant's endpoints, oldest first, a page at a time (no secrets). */
export async function listWebhookEndpointsPage(db: Database, tenantId: string, page: PageRequest): Promise<Page<WebhookEndpointInfo>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(webhookEndpoints), key: micros(webhookEndpoints.createdAt) }).from(webhookEndpoints)
    .where(afterTimestamp(webhookEndpoints.createdAt, webhookEndpoints.id, page.cursor, 'asc'))
    .orderBy(asc(webhookEndpoints.createdAt), asc(webhookEndpoints.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => endpointInfo(row)), next: result.next };
}

export const WEBHOOK_DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const;
export type WebhookDeliveryStatus = (typeof WEBHOOK_DELIVERY_STATUSES)[number];

export interface DeliveryPageFilter { endpointId?: string | undefined; eventType?: string | undefined; status?: WebhookDeliveryStatus | undefined }

/** The delivery log, newest first, filtered by endpoint, event type and status, a page at a time. */
export async function listWebhookDeliveriesPage(db: Database, tenantId: string, filter: DeliveryPageFilter, page: PageRequest): Promise<Page<WebhookDeliveryRow & { type: string }>> {
  const after = page.cursor !== undefined ? Number(decodeCursor(page.cursor, { key: 'int', id: 'int' })[1]) : undefined;
  const found = await withTenant(db, tenantId, (tx) => tx.select({ d: webhookDeliveries, type: webhookEvents.type }).from(webhookDeliveries)
    .innerJoin(webhookEvents, eq(webhookEvents.id, webhookDeliveries.eventId))
    .where(and(
      filter.endpointId ? eq(webhookDeliveries.endpointId, filter.endpointId) : undefined,
      filter.eventType ? eq(webhookEvents.type, filter.eventType) : undefined,
      filter.status ? eq(webhookDeliveries.status, filter.status) : undefined,
      after !== undefined ? lt(webhookDeliveries.id, after) : undefined,
    ))
    .orderBy(desc(webhookDeliveries.id)).limit(page.limit + 1));
  return pageOf(found.map((r) => ({ ...r.d, type: r.type })), page.limit, (row) => encodeCursor(row.id, row.id));
}

export async function getWebhookDelivery(db: Database, tenantId: string, id: number): Promise<WebhookDeliveryRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, id)))[0]);
}
