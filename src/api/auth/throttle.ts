/**
 * Login throttling with back-off, per account (the e-mail address as typed,
 * known or not, so the throttle itself reveals nothing) and per source address.
 * After `freeFailures` failures in a row, each further failure locks the key
 * for base * 2^(n - free) seconds, capped; a success clears the account's
 * count (not the source's: one source guessing many accounts stays slowed).
 * In memory, per process; a failure count is forgotten after `forgetAfterMs`
 * without failures.
 */
import type { Clock } from '../clock.ts';

export interface ThrottlePolicy { freeFailures: number; baseMs: number; maxMs: number; forgetAfterMs: number }

export const ACCOUNT_POLICY: ThrottlePolicy = { freeFailures: 5, baseMs: 1000, maxMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };
export const SOURCE_POLICY: ThrottlePolicy = { freeFailures: 20, baseMs: 1000, maxMs: 15 * 60_000, forgetAfterMs: 60 * 60_000 };

interface Entry { failures: number; lockedUntil: number; lastFailure: number }

export class BackoffThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly policy: ThrottlePolicy, private readonly clock: Clock, private readonly maxEntries = 100_000) {}

  /** Milliseconds until `key` may try again; 0 when it may now. */
  retryAfterMs(key: string): number {
    const entry = this.current(key);
    return entry ? Math.max(0, entry.lockedUntil - this.clock().getTime()) : 0;
  }

  failure(key: string): void {
    const now = this.clock().getTime();
    const entry = this.current(key) ?? { failures: 0, lockedUntil: 0, lastFailure: now };
    entry.failures++;
    entry.lastFailure = now;
    const over = entry.failures - this.policy.freeFailures;
    if (over > 0) entry.lockedUntil = now + Math.min(this.policy.maxMs, this.policy.baseMs * 2 ** Math.min(over - 1, 30));
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  success(key: string): void {
    this.entries.delete(key);
  }

  private current(key: string): Entry | undefined {
    const entry = this.entries.get(key);
    if (entry && this.clock().getTime() - entry.lastFailure > this.policy.forgetAfterMs && entry.lockedUntil <= this.clock().getTime()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }
}

export class LoginThrottle {
  readonly accounts: BackoffThrottle;
  readonly sources: BackoffThrottle;

  constructor(clock: Clock, policies: { account?: ThrottlePolicy; source?: ThrottlePolicy } = {}) {
    this.accounts = new BackoffThrottle(policies.account ?? ACCOUNT_POLICY, clock);
    this.sources = new BackoffThrottle(policies.source ?? SOURCE_POLICY, clock);
  }

  retryAfterMs(account: string, source: string): number {
    return Math.max(this.accounts.retryAfterMs(account), this.sources.retryAfterMs(source));
  }

  failure(account: string, source: string): void {
    this.accounts.failure(account);
    this.sources.failure(source);
  }

  success(account: string): void {
    this.accounts.success(account);
  }
}
