/**
 * Request guard in the spirit of Kamailio's route[REQINIT]: runs on every
 * request before anything else looks at it.
 *
 * - per-source-IP token bucket (rate/burst); a source that empties its bucket
 *   is banned for a while and everything from it is dropped silently;
 * - known scanner User-Agents (friendly-scanner, sipvicious...) are dropped
 *   silently (answering them only confirms a target);
 * - Max-Forwards sanity (0 -> 483 Too Many Hops, RFC 3261 16.3).
 *
 * Memory is bounded: at most `maxSources` tracked sources (least recently seen
 * evicted first) and idle entries expire.
 */
import { parseMaxForwards } from './header-values.ts';
import type { SipRequest } from './message.ts';

export type SecurityEventType = 'ban' | 'unban' | 'scanner' | 'max-forwards';

export interface SecurityEvent {
  type: SecurityEventType;
  /** Source IP address. */
  source: string;
  detail?: string;
}

export interface GuardOptions {
  /** Sustained requests per second per source. Default 20. */
  ratePerSecond?: number;
  /** Bucket size (requests allowed in a burst). Default 40. */
  burst?: number;
  /** Ban duration after the bucket runs dry. Default 60 s. */
  banMs?: number;
  /** Tracked sources at most. Default 10000. */
  maxSources?: number;
  /** A source not seen for this long is forgotten (unless banned). Default 120 s. */
  idleMs?: number;
  /** Extra scanner User-Agent substrings (case-insensitive). */
  scannerUserAgents?: string[];
  /** Sources never rate-limited (e.g. the carrier's proxies). */
  trustedSources?: string[];
  onSecurityEvent?: (event: SecurityEvent) => void;
  now?: () => number;
}

export type GuardVerdict =
  | { action: 'accept' }
  | { action: 'drop'; reason: 'banned' | 'rate' | 'scanner' }
  | { action: 'reject'; status: number; reason: string };

export const KNOWN_SCANNER_USER_AGENTS: readonly string[] = [
  'friendly-scanner', 'sipvicious', 'sipcli', 'sip-scan', 'vaxsipuseragent', 'iwar', 'sundayddr',
  'sipptk', 'siparmyknife', 'pplsip', 'voip-scanner', 'sip-scanner', 'fpbx-scanner', 'vaxip',
];

interface SourceState { tokens: number; updated: number; bannedUntil: number }

export class SipGuard {
  private readonly rate: number;
  private readonly burst: number;
  private readonly banMs: number;
  private readonly maxSources: number;
  private readonly idleMs: number;
  private readonly scanners: string[];
  private readonly trusted: Set<string>;
  private readonly onEvent: ((e: SecurityEvent) => void) | undefined;
  private readonly now: () => number;
  private readonly sources = new Map<string, SourceState>();
  private checksSinceSweep = 0;

  constructor(options: GuardOptions = {}) {
    this.rate = options.ratePerSecond ?? 20;
    this.burst = options.burst ?? 40;
    this.banMs = options.banMs ?? 60_000;
    this.maxSources = options.maxSources ?? 10_000;
    this.idleMs = options.idleMs ?? 120_000;
    this.scanners = [...KNOWN_SCANNER_USER_AGENTS, ...(options.scannerUserAgents ?? [])].map((s) => s.toLowerCase());
    this.trusted = new Set(options.trustedSources ?? []);
    this.onEvent = options.onSecurityEvent;
    this.now = options.now ?? Date.now;
  }

  get trackedSources(): number {
    return this.sources.size;
  }

  /** Cheap pre-parse check: is this source currently banned? */
  isBanned(source: string): boolean {
    const s = this.sources.get(source);
    if (!s || s.bannedUntil === 0) return false;
    if (s.bannedUntil > this.now()) return true;
    s.bannedUntil = 0;
    s.tokens = this.burst;
    this.emit({ type: 'unban', source });
    return false;
  }

  ban(source: string, ms = this.banMs): void {
    const state = this.state(source);
    state.bannedUntil = this.now() + ms;
    state.tokens = 0;
    this.emit({ type: 'ban', source, detail: `${ms} ms` });
  }

  unban(source: string): void {
    const s = this.sources.get(source);
    if (s && s.bannedUntil) { s.bannedUntil = 0; s.tokens = this.burst; this.emit({ type: 'unban', source }); }
  }

  /** Decides what to do with a parsed request from `source` (an IP address). */
  check(req: SipRequest, source: string): GuardVerdict {
    if (++this.checksSinceSweep >= 1000) this.sweep();
    const ua = (req.headers.get('user-agent') ?? '').toLowerCase();
    if (ua && this.scanners.some((s) => ua.includes(s))) {
      this.emit({ type: 'scanner', source, detail: ua.slice(0, 64) });
      return { action: 'drop', reason: 'scanner' };
    }
    if (!this.trusted.has(source)) {
      if (this.isBanned(source)) return { action: 'drop', reason: 'banned' };
      if (!this.take(source)) {
        this.ban(source);
        return { action: 'drop', reason: 'rate' };
      }
    }
    const mf = req.headers.get('max-forwards');
    if (mf !== undefined) {
      const n = parseMaxForwards(mf);
      if (n === null) return { action: 'reject', status: 400, reason: 'Bad Max-Forwards' };
      if (n === 0 && req.method !== 'ACK') {
        this.emit({ type: 'max-forwards', source });
        return { action: 'reject', status: 483, reason: 'Too Many Hops' };
      }
    }
    return { action: 'accept' };
  }

  private take(source: string): boolean {
    const s = this.state(source);
    const now = this.now();
    s.tokens = Math.min(this.burst, s.tokens + ((now - s.updated) / 1000) * this.rate);
    s.updated = now;
    if (s.tokens < 1) return false;
    s.tokens -= 1;
    return true;
  }

  private state(source: string): SourceState {
    let s = this.sources.get(source);
    if (s) {
      // Refresh recency (Map keeps insertion order: oldest first).
      this.sources.delete(source);
    } else {
      s = { tokens: this.burst, updated: this.now(), bannedUntil: 0 };
    }
    this.sources.set(source, s);
    while (this.sources.size > this.maxSources) {
      const oldest = this.sources.keys().next().value;
      if (oldest === undefined) break;
      this.sources.delete(oldest);
    }
    return s;
  }

  /** Forgets idle sources; called every 1000 checks, may also be called from a timer. */
  sweep(): void {
    this.checksSinceSweep = 0;
    const now = this.now();
    for (const [source, s] of this.sources) {
      if (s.bannedUntil > now) continue;
      if (now - s.updated > this.idleMs) this.sources.delete(source);
    }
  }

  private emit(e: SecurityEvent): void {
    try { this.onEvent?.(e); } catch { /* a faulty listener must not break the guard */ }
  }
}
