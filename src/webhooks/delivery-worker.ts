/**
 * The webhook delivery worker: takes due deliveries from the outbox (every
 * tenant, each in its own scope), signs and sends them, logs each attempt and
 * schedules the next one (retry-schedule.ts) or gives up; an endpoint failing
 * for `failureLimit` attempts in a row over at least `failureWindowMs` is
 * disabled (audited, and webhook.endpoint.disabled emitted).
 *
 * Nothing is lost across a crash: a delivery is leased while being sent and
 * only marked delivered after the receiver's 2xx, so a worker killed
 * mid-delivery leaves a lease that expires, and the next worker sends the same
 * message again with the same webhook-id (receivers de-duplicate on it).
 *
 * Wakes on notifyOutbox (a transaction in this process emitted events) and
 * polls every `pollMs` for the rest (other processes, retries coming due).
 * The clock and the jitter source are injectable: tests move time forward
 * instead of sleeping through back-off.
 */
import { claimDueDeliveries, listTenantIds, onOutboxWrite, recordDeliveryAttempt, type ClaimedDelivery, type Database } from '../../storage/index.ts';
import type { Logger } from '../log.ts';
import { signingSecrets, type SecretKeys } from './endpoints.ts';
import { retryDelayMs, RETRY_DELAYS_MS } from './retry-schedule.ts';
import { sendWebhook, type SendOptions, type SendOutcome } from './sender.ts';
import { signWebhook } from './signing.ts';

export interface DeliveryWorkerOptions {
  db: Database;
  keys: Pick<SecretKeys, 'unsealTenantSecret'>;
  logger?: Logger;
  /** Per-attempt timeout (default 10 s). */
  timeoutMs?: number;
  /** Allow loopback receivers (tests, local development); private and link-local addresses are always refused. */
  allowLoopback?: boolean;
  /** Poll interval for due deliveries (default 1 s). */
  pollMs?: number;
  /** Deliveries claimed (and sent concurrently) per round per tenant (default 16). */
  batch?: number;
  /** Disable an endpoint after this many failed attempts in a row (default 20)... */
  failureLimit?: number;
  /** ...once it has been failing for at least this long (default 24 h). */
  failureWindowMs?: number;
  /** Waits between attempts (default the Standard Webhooks schedule, ~28 h). */
  retryDelaysMs?: readonly number[];
  clock?: () => Date;
  random?: () => number;
  resolve?: SendOptions['resolve'];
}

export interface DeliveryAttempted {
  tenantId: string;
  deliveryId: number;
  eventId: string;
  outcome: SendOutcome;
  latencyMs: number;
}

export class WebhookDeliveryWorker {
  private readonly clock: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private running: Promise<number> | undefined;
  private again = false;
  private stopped = false;
  private readonly listeners = new Set<(a: DeliveryAttempted) => void>();

  constructor(private readonly options: DeliveryWorkerOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  /** Starts polling and listening for outbox writes. */
  start(): void {
    this.stopped = false;
    this.unsubscribe = onOutboxWrite(() => this.kick());
    const poll = (): void => {
      this.timer = setTimeout(() => { this.kick(); poll(); }, this.options.pollMs ?? 1000);
      this.timer.unref();
    };
    poll();
    this.kick();
  }

  /** Stops, waiting for the round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.unsubscribe?.();
    await this.running?.catch(() => 0);
  }

  /** Observes each attempt (metrics, tests). */
  onAttempt(listener: (a: DeliveryAttempted) => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.runOnce().catch((error: unknown) => {
      this.options.logger?.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'webhook delivery round failed');
      return 0;
    }).finally(() => {
      this.running = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** One round: every due delivery of every tenant, until none is due. Returns the attempts made. */
  async runOnce(): Promise<number> {
    let attempts = 0;
    for (const tenantId of await listTenantIds(this.options.db)) {
      for (;;) {
        if (this.stopped) return attempts;
        const now = this.clock();
        const timeoutMs = this.options.timeoutMs ?? 10_000;
        // The lease outlives the attempt (timeout plus a margin): another worker may take it over only after that.
        const leaseUntil = new Date(now.getTime() + timeoutMs * 2 + 5_000);
        const claimed = await claimDueDeliveries(this.options.db, tenantId, now, leaseUntil, this.options.batch ?? 16);
        if (claimed.length === 0) break;
        await Promise.all(claimed.map((d) => this.deliver(tenantId, d)));
        attempts += claimed.length;
      }
    }
    return attempts;
  }

  private async deliver(tenantId: string, delivery: ClaimedDelivery): Promise<void> {
    const { db, logger } = this.options;
    const at = this.clock();
    const started = performance.now();
    let outcome: SendOutcome;
    try {
      const secrets = await signingSecrets(this.options.keys, tenantId, delivery.endpointId, delivery, at);
      // The signature's timestamp is the wall clock (receivers check it against theirs), not the scheduling clock.
      const headers = signWebhook(secrets, delivery.eventId, new Date(), delivery.payload);
      outcome = await sendWebhook(delivery.url, delivery.payload, { ...headers }, {
        timeoutMs: this.options.timeoutMs ?? 10_000, allowLoopback: this.options.allowLoopback ?? false,
        ...(this.options.resolve ? { resolve: this.options.resolve } : {}),
      });
    } catch (error) {
      // The secret did not unseal (tenant keys destroyed, another master key): a failure like any other.
      outcome = { ok: false, statusCode: null, error: `signing: ${(error as Error)?.name ?? 'error'}` };
    }
    const durationMs = performance.now() - started;
    const delay = outcome.ok ? undefined : retryDelayMs(delivery.attempts + 1, this.options.random, this.options.retryDelaysMs ?? RETRY_DELAYS_MS);
    const { disabled } = await recordDeliveryAttempt(db, tenantId, delivery, {
      at, durationMs, statusCode: outcome.statusCode, error: outcome.error, ok: outcome.ok,
      retryAt: delay === undefined ? null : new Date(at.getTime() + delay),
    }, { failureLimit: this.options.failureLimit ?? 20, failureWindowMs: this.options.failureWindowMs ?? 24 * 3600_000 });
    if (!outcome.ok) {
      logger?.warn({ tenantId, endpointId: delivery.endpointId, webhookId: delivery.eventId, attempt: delivery.attempts + 1, statusCode: outcome.statusCode, error: outcome.error, giveUp: delay === undefined }, 'webhook delivery failed');
    }
    if (disabled) logger?.warn({ tenantId, endpointId: delivery.endpointId }, 'webhook endpoint disabled after sustained failure');
    const latencyMs = at.getTime() + durationMs - delivery.eventCreatedAt.getTime();
    for (const listener of this.listeners) {
      try { listener({ tenantId, deliveryId: delivery.id, eventId: delivery.eventId, outcome, latencyMs }); } catch { /* the listener's own */ }
    }
  }
}
