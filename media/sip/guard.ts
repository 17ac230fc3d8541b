/**
 * Request guard in the spirit of Kamailio's route[REQINIT]: every datagram or
 * stream message is charged to its source before anything parses it, then the
 * parsed (or half-parsed) request is inspected.
 *
 * - `admit(source)`, before parsing: a per-source-IP token bucket (rate/burst);
 *   a source that empties its bucket is banned for a while and everything from
 *   it is dropped silently, malformed or not;
 * - `inspect(request)`, after parsing: known scanner User-Agents
 *   (friendly-scanner, sipvicious...) are dropped silently (answering them
 *   only confirms a target), also when the rest of the request is broken;
 *   Max-Forwards sanity (0 -> 483 Too Many Hops, RFC 3261 16.3).
 *
 * Memory is bounded and a spray cannot buy a ban back: buckets live in one
 * table of at most `maxSources` entries (least recently charged evicted first,
 * idle ones expire), bans in another of at most `maxSources` entries that
 * other sources never displace. When the ban table is full a new offender is
 * not banned but keeps its empty bucket, so it is held to the sustained rate.
 */
import { parseCidr } from './cidr.ts';
import { CidrSet } from './cidr-set.ts';
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
  /** Tracked sources at most, and banned sources at most (two tables). Default 10000. */
  maxSources?: number;
  /** A source not seen for this long is forgotten (unless banned). Default 120 s. */
  idleMs?: number;
  /** Extra scanner User-Agent substrings (case-insensitive). */
  scannerUserAgents?: string[];
  /**
   * Sources never rate-limited or banned: addresses or CIDRs (strict, cidr.ts; a whole family is refused), e.g. the
   * Kamailio proxies in front of the node (every call arrives from them) and carriers' signalling addresses.
   */
  trustedSources?: readonly string[];
  onSecurityEvent?: (event: SecurityEvent) => void;
  now?: () => number;
}

export type AdmitVerdict = { action: 'accept' } | { action: 'drop'; reason: 'banned' | 'rate' };

export type GuardVerdict =
  | { action: 'accept' }
  | { action: 'drop'; reason: 'banned' | 'rate' | 'scanner' }
  | { action: 'reject'; status: number; reason: string };

export const KNOWN_SCANNER_USER_AGENTS: readonly string[] = [
  'friendly-scanner', 'sipvicious', 'sipcli', 'sip-scan', 'vaxsipuseragent', 'iwar', 'sundayddr',
  'sipptk', 'siparmyknife', 'pplsip', 'voip-scanner', 'sip-scanner', 'fpbx-scanner', 'vaxip',
];

interface Bucket { tokens: number; updated: number }

export class SipGuard {
  private readonly rate: number;
  private readonly burst: number;
  private readonly banMs: number;
  private readonly maxSources: number;
  private readonly idleMs: number;
  private readonly scanners: string[];
  private readonly trusted: CidrSet;
  private readonly onEvent: ((e: SecurityEvent) => void) | undefined;
  private readonly now: () => number;
  /** Unbanned sources' buckets, least recently charged first. */
  private readonly buckets = new Map<string, Bucket>();
  /** Banned sources and when their ban ends. */
  private readonly bans = new Map<string, number>();
  private chargesSinceSweep = 0;

  constructor(options: GuardOptions = {}) {
    this.rate = options.ratePerSecond ?? 20;
    this.burst = options.burst ?? 40;
    this.banMs = options.banMs ?? 60_000;
    this.maxSources = options.maxSources ?? 10_000;
    this.idleMs = options.idleMs ?? 120_000;
    this.scanners = [...KNOWN_SCANNER_USER_AGENTS, ...(options.scannerUserAgents ?? [])].map((s) => s.toLowerCase());
    this.trusted = new CidrSet((options.trustedSources ?? []).map((entry) => parseCidr(entry)));
    this.onEvent = options.onSecurityEvent;
    this.now = options.now ?? Date.now;
  }

  /** Sources with a bucket (banned ones not included). */
  get trackedSources(): number {
    return this.buckets.size;
  }

  get bannedSources(): number {
    return this.bans.size;
  }

  /** Is this source currently banned? (An expired ban is lifted here.) */
  isBanned(source: string): boolean {
    const until = this.bans.get(source);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.unban(source);
    return false;
  }

  ban(source: string, ms = this.banMs): void {
    if (!this.bans.has(source) && this.bans.size >= this.maxSources) {
      // Full: existing bans stay; this source keeps its empty bucket (held to the sustained rate).
      const bucket = this.bucket(source);
      bucket.tokens = 0;
      return;
    }
    this.buckets.delete(source);
    this.bans.set(source, this.now() + ms);
    this.emit({ type: 'ban', source, detail: `${ms} ms` });
  }

  unban(source: string): void {
    if (!this.bans.delete(source)) return;
    this.emit({ type: 'unban', source });
  }

  /**
   * Charges one datagram or stream message to `source` (an IP address) before
   * anything parses it: dropped when the source is banned or has just run dry.
   */
  admit(source: string): AdmitVerdict {
    if (++this.chargesSinceSweep >= 1000) this.sweep();
    if (this.trusted.has(source)) return { action: 'accept' };
    if (this.isBanned(source)) return { action: 'drop', reason: 'banned' };
    if (this.take(source)) return { action: 'accept' };
    this.ban(source);
    return { action: 'drop', reason: 'rate' };
  }

  /** Checks a request already charged by `admit`; works on the partial request of a parse failure too. */
  inspect(req: SipRequest, source: string): GuardVerdict {
    const ua = (req.headers.get('user-agent') ?? '').toLowerCase();
    if (ua && this.scanners.some((s) => ua.includes(s))) {
      this.emit({ type: 'scanner', source, detail: ua.slice(0, 64) });
      return { action: 'drop', reason: 'scanner' };
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

  /** `admit` then `inspect`, for a request parsed before it was charged. */
  check(req: SipRequest, source: string): GuardVerdict {
    const admitted = this.admit(source);
    return admitted.action === 'accept' ? this.inspect(req, source) : admitted;
  }

  private take(source: string): boolean {
    const b = this.bucket(source);
    const now = this.now();
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.updated) / 1000) * this.rate);
    b.updated = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** The source's bucket, moved to the most-recent end; the least recent unbanned sources make room. */
  private bucket(source: string): Bucket {
    let b = this.buckets.get(source);
    if (b) this.buckets.delete(source);
    else b = { tokens: this.burst, updated: this.now() };
    this.buckets.set(source, b);
    while (this.buckets.size > this.maxSources) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
    return b;
  }

  /** Forgets idle sources and lifts expired bans; called every 1000 charges, may also be called from a timer. */
  sweep(): void {
    this.chargesSinceSweep = 0;
    const now = this.now();
    for (const [source, until] of this.bans) if (until <= now) this.unban(source);
    for (const [source, b] of this.buckets) if (now - b.updated > this.idleMs) this.buckets.delete(source);
  }

  private emit(e: SecurityEvent): void {
    try { this.onEvent?.(e); } catch { /* a faulty listener must not break the guard */ }
  }
}
