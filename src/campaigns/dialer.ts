/**
 * One campaign dial through the existing outbound path: the TCPA check
 * (do-not-call, consent, caller ID, calling hours in the contact's own zone
 * when known; a refusal is audited there) and then placeCall, which waits for
 * the call to end (CallManager.placeCall, then the session's close). The result is the contact's outcome for this attempt.
 * A refusal for calling hours is not an outcome but a deferral to the next time
 * the window opens in the contact's zone (the tenant's when the contact has none),
 * whether it comes from the check here or from placeCall's own check at the
 * moment of the dial (the window may close between the two);
 * do-not-call, consent and caller-ID refusals are final. A dial the server
 * could not place because it is draining is deferred too (to now), and one
 * refused because the tenant is at its concurrent call limit waits
 * CALL_LIMIT_RETRY_MS (its place comes back when one of its calls ends).
 */
import { checkOutboundCall, OutboundRefusedError } from '../compliance/index.ts';
import { CallLimitError, type CallManager } from '../calls/call-manager.ts';
import type { Database } from '../../storage/index.ts';

export interface DialRequest {
  tenantId: string;
  campaignId: string;
  agentId: string;
  phone: string;
  timeZone: string | null;
  callerId: string | null;
  /** The runner's clock: calling hours are judged at this instant. */
  now?: Date | undefined;
}

export type DialResult =
  | { outcome: 'answered'; callId: string | null }
  | { outcome: 'busy' | 'no-answer' | 'failed'; callId: string | null; detail: string }
  | { outcome: 'refused'; detail: string }
  /** Not now (outside calling hours): dial again at `retryAt`; no call was placed. */
  | { outcome: 'deferred'; retryAt: Date; detail: string };

export type Dialer = (request: DialRequest) => Promise<DialResult>;

/** SIP final responses to a campaign outcome: busy (486, 600), no answer (408 ring-out, 480, 487), else failed. */
export function outcomeOfStatus(status: number | undefined): 'busy' | 'no-answer' | 'failed' {
  if (status === 486 || status === 600) return 'busy';
  if (status === 408 || status === 480 || status === 487) return 'no-answer';
  return 'failed';
}

export interface SipDialerOptions {
  db: Database;
  calls: CallManager;
  /** The carrier to call through, e.g. sip:carrier.example:5060. */
  via: string;
  /** How long to let a call ring (default 30 s). */
  ringTimeoutMs?: number;
  auth?: { username: string; password: string };
}

/** A TCPA refusal as the dial's result: outside calling hours, a deferral to the window's next opening (when it has one); any other, final. */
export function refusalResult(reason: string, retryAt: Date | undefined): DialResult {
  if (reason === 'outside-calling-hours' && retryAt) return { outcome: 'deferred', retryAt, detail: reason };
  return { outcome: 'refused', detail: reason };
}

/** The TCPA check first (a refusal is the outcome), then `place` for what it allows. */
export function compliantDialer(db: Database, place: (req: DialRequest, actor: string) => Promise<DialResult>): Dialer {
  return async (req) => {
    const actor = `system:campaign:${req.campaignId}`;
    const decision = await checkOutboundCall(db, req.tenantId, { number: req.phone, from: req.callerId ?? undefined, actor, timeZone: req.timeZone, now: req.now });
    if (!decision.allowed) return refusalResult(decision.reason, decision.retryAt);
    return place(req, actor);
  };
}

/** How long a dial refused at the tenant's concurrent call limit waits before it is tried again. */
export const CALL_LIMIT_RETRY_MS = 5_000;

export function sipDialer(options: SipDialerOptions): Dialer {
  return compliantDialer(options.db, async (req, actor) => {
    // Claimed just before the server began to drain: no call is placed, so the contact waits for the next runner
    // (this node after a restart, or the next leader) instead of failing. Checked with no await before placeCall,
    // which refuses once draining.
    if (options.calls.isDraining) return { outcome: 'deferred', retryAt: req.now ?? new Date(), detail: 'server-draining' };
    try {
      const session = await options.calls.placeCall({
        tenantId: req.tenantId, agent: req.agentId, number: req.phone, via: options.via, actor, timeZone: req.timeZone,
        ...(req.callerId ? { from: req.callerId } : {}), timeoutMs: options.ringTimeoutMs ?? 30_000, ...(options.auth ? { auth: options.auth } : {}),
      });
      await session.untilClosed();
      return { outcome: 'answered', callId: session.callId };
    } catch (error) {
      // placeCall's own check, at the moment of the dial: the same rules, so the same deferral for calling hours.
      if (error instanceof OutboundRefusedError) return refusalResult(error.reason, error.retryAt);
      if (error instanceof CallLimitError) return { outcome: 'deferred', retryAt: new Date((req.now ?? new Date()).getTime() + CALL_LIMIT_RETRY_MS), detail: 'call-limit' };
      const e = error as { status?: number; name?: string };
      const outcome = outcomeOfStatus(e.status);
      return { outcome, callId: null, detail: e.status ? `sip-${e.status}` : (e.name ?? 'error') };
    }
  });
}
