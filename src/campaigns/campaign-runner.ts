/**
 * Runs the tenants' running campaigns: for each, keeps up to max_concurrent
 * calls in flight and starts them no faster than calls_per_second (a start
 * every 1/cps seconds, never bunched to catch up), within the campaign's
 * window. Each contact is marked dialing (committed) before its call, gets
 * its outcome afterwards (retried for busy / no answer up to max_attempts,
 * retry_spacing_seconds apart) and the campaign completes when no contact is
 * left. A dial put off for calling hours goes back to pending, due when the
 * window opens (not counted as an attempt). State lives in Postgres: on start the runner settles dials a previous
 * process left unfinished as failed ("interrupted") and never calls them
 * again, then carries on with the rest. One runner per database: several
 * processes would share the claims safely (SKIP LOCKED) but each would pace
 * on its own. The clock is injectable; pacing waits are real timers.
 */
import {
  claimNextContact, closeCampaignWindow, deferContact, finishContactAttempt, listCampaignsInState, listTenantIds, recoverInterruptedDials, type CampaignRow, type Database,
} from '../../storage/index.ts';
import type { Logger } from '../log.ts';
import type { Dialer } from './dialer.ts';

export interface CampaignRunnerOptions {
  db: Database;
  dial: Dialer;
  logger?: Logger;
  /** How often running campaigns are looked for (default 1 s). */
  pollMs?: number;
  clock?: () => Date;
}

interface Active {
  tenantId: string;
  campaign: CampaignRow;
  inFlight: number;
  timer?: NodeJS.Timeout | undefined;
  idle: boolean;
}

/** A dial's start: `at` is the performance.now() of its pacing slot (when the runner let it go). */
export interface DialStarted { campaignId: string; at: number }

export class CampaignRunner {
  private readonly clock: () => Date;
  private readonly active = new Map<string, Active>();
  private readonly recovered = new Set<string>();
  /** When each campaign may start its next call (kept across pause and resume, so pacing holds over them). */
  private readonly nextStartAt = new Map<string, number>();
  private poller: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly dials = new Set<Promise<void>>();
  /** Observes each dial start (pacing measurements, tests). */
  onDialStart: ((d: DialStarted) => void) | undefined;

  constructor(private readonly options: CampaignRunnerOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  start(): void {
    this.stopped = false;
    const poll = (): void => {
      this.poller = setTimeout(() => { void this.refresh().finally(() => { if (!this.stopped) poll(); }); }, this.options.pollMs ?? 1000);
      this.poller.unref();
    };
    void this.refresh().finally(() => { if (!this.stopped) poll(); });
  }

  /** Dials in progress (claimed, being checked, ringing or in a call, or being recorded). */
  get inFlight(): number {
    return this.dials.size;
  }

  /** Stops starting calls and waits for the calls in flight to finish and be recorded. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.poller) clearTimeout(this.poller);
    for (const a of this.active.values()) if (a.timer) clearTimeout(a.timer);
    while (this.dials.size) await Promise.allSettled([...this.dials]);
  }

  /** Picks up running campaigns (and drops ones no longer running). */
  async refresh(): Promise<void> {
    if (this.stopped) return;
    try {
      const running = new Set<string>();
      for (const tenantId of await listTenantIds(this.options.db)) {
        for (const campaign of await listCampaignsInState(this.options.db, tenantId, 'running')) {
          running.add(campaign.id);
          if (!this.recovered.has(campaign.id)) {
            this.recovered.add(campaign.id);
            const n = await recoverInterruptedDials(this.options.db, tenantId, campaign.id);
            if (n) this.options.logger?.warn({ tenantId, campaignId: campaign.id, contacts: n }, 'campaign dials interrupted by a restart settled as failed (not redialled)');
          }
          const known = this.active.get(campaign.id);
          if (known) {
            known.campaign = campaign;
            known.idle = false;
          } else this.active.set(campaign.id, { tenantId, campaign, inFlight: 0, idle: false });
          this.pump(campaign.id);
        }
      }
      for (const [id, a] of this.active) {
        if (!running.has(id)) {
          if (a.timer) clearTimeout(a.timer);
          a.timer = undefined;
          if (a.inFlight === 0) this.active.delete(id);
          else a.idle = true;
        }
      }
    } catch (error) {
      this.options.logger?.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'campaign refresh failed');
    }
  }

  private pump(campaignId: string): void {
    const a = this.active.get(campaignId);
    if (!a || this.stopped || a.idle || a.timer) return;
    const { campaign } = a;
    const now = this.clock().getTime();
    if (campaign.startsAt && now < campaign.startsAt.getTime()) return;
    if (campaign.endsAt && now >= campaign.endsAt.getTime()) {
      if (a.inFlight === 0) void closeCampaignWindow(this.options.db, a.tenantId, campaign.id).catch(() => undefined);
      return;
    }
    if (a.inFlight >= campaign.maxConcurrent) return;
    const wait = (this.nextStartAt.get(campaignId) ?? 0) - performance.now();
    if (wait > 0) {
      a.timer = setTimeout(() => { a.timer = undefined; this.pump(campaignId); }, wait);
      return;
    }
    a.inFlight++;
    const startedAt = performance.now();
    this.nextStartAt.set(campaignId, startedAt + 1000 / campaign.callsPerSecond);
    const dial = this.dialNext(a, startedAt).catch((error: unknown) => {
      // The contact stays 'dialing': settled as interrupted by the next start, never dialled twice.
      this.options.logger?.error({ err: { name: (error as Error)?.name, message: (error as Error)?.message }, campaignId }, 'campaign dial could not be recorded');
    }).finally(() => {
      this.dials.delete(dial);
      a.inFlight--;
      this.pump(campaignId);
    });
    this.dials.add(dial);
  }

  private async dialNext(a: Active, startedAt: number): Promise<void> {
    const { db, logger } = this.options;
    const { campaign, tenantId } = a;
    const contact = await claimNextContact(db, tenantId, campaign.id, this.clock()).catch((error: unknown) => {
      logger?.error({ err: { name: (error as Error)?.name }, campaignId: campaign.id }, 'could not claim a campaign contact');
      return undefined;
    });
    if (!contact) {
      // Nothing due now: the next pump (a finished call or the poller) tries again.
      if (a.inFlight <= 1) a.idle = true; // wait for the poller (retries come due later)
      return;
    }
    // Another contact may follow at the pace while this one rings.
    queueMicrotask(() => this.pump(campaign.id));
    this.onDialStart?.({ campaignId: campaign.id, at: startedAt });
    const result = await this.options.dial({
      tenantId, campaignId: campaign.id, agentId: campaign.agentId, phone: contact.phone, timeZone: contact.timeZone, callerId: campaign.callerId, now: this.clock(),
    }).catch((error: unknown) => ({ outcome: 'failed' as const, callId: null, detail: (error as Error)?.name ?? 'error' }));
    if (result.outcome === 'deferred') {
      await deferContact(db, tenantId, contact.id, result.retryAt, result.detail);
      logger?.info({ tenantId, campaignId: campaign.id, contactId: contact.contactId, retryAt: result.retryAt.toISOString(), reason: result.detail }, 'campaign dial deferred');
      return;
    }
    const retryable = (result.outcome === 'busy' || result.outcome === 'no-answer') && contact.attempts < campaign.maxAttempts;
    await finishContactAttempt(db, tenantId, campaign.id, contact.id, {
      outcome: result.outcome, detail: 'detail' in result ? result.detail : null, callId: 'callId' in result ? result.callId : null,
      retryAt: retryable ? new Date(this.clock().getTime() + campaign.retrySpacingSeconds * 1000) : null,
    });
    logger?.info({ tenantId, campaignId: campaign.id, contactId: contact.contactId, outcome: result.outcome, attempt: contact.attempts }, 'campaign dial finished');
  }
}
