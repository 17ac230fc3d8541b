/**
 * The server's security log. Writes security events (SIP: bans, scanners,
 * rejected sources, failed digest auth; HTTP: forged recording links, minting
 * without a valid API key) to the database without letting a flood turn into a database DoS:
 * events are coalesced by (tenant, type, source) in memory and flushed on a
 * timer, at most `maxRowsPerFlush` rows per flush; each row carries the count
 * of events it stands for. Whatever does not fit is counted in one summary
 * row. Memory is bounded by `maxPending` distinct keys.
 * Tenant-less events go to security_events; events about a tenant's number
 * also go to that tenant's audit log.
 */
import type { Database } from '../../storage/index.ts';
import { audit, recordSecurityEvent } from '../../storage/index.ts';
import type { Logger } from '../log.ts';

export interface CallSecurityEvent {
  type: string;
  source: string;
  /** Set when the event concerns one tenant's number (written to its audit log too). */
  tenantId?: string;
  detail?: Record<string, unknown>;
}

export interface SecurityLogOptions {
  flushIntervalMs?: number;
  maxRowsPerFlush?: number;
  maxPending?: number;
}

interface Pending { event: CallSecurityEvent; count: number; firstAt: string }

export class SecurityLog {
  private pending = new Map<string, Pending>();
  private overflow = 0;
  private readonly timer: NodeJS.Timeout;
  private flushing: Promise<void> = Promise.resolve();
  private readonly maxRows: number;
  private readonly maxPending: number;
  /** Events seen and rows written, for metrics and tests. */
  readonly stats = { events: 0, rows: 0, overflow: 0 };

  constructor(private readonly db: Database, private readonly logger: Logger, options: SecurityLogOptions = {}) {
    this.maxRows = options.maxRowsPerFlush ?? 20;
    this.maxPending = options.maxPending ?? 1000;
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 1000);
    this.timer.unref();
  }

  record(event: CallSecurityEvent): void {
    this.stats.events++;
    const key = `${event.tenantId ?? ''}|${event.type}|${event.source}`;
    const existing = this.pending.get(key);
    if (existing) { existing.count++; return; }
    if (this.pending.size >= this.maxPending) { this.overflow++; return; }
    this.pending.set(key, { event, count: 1, firstAt: new Date().toISOString() });
  }

  /** Writes what is pending (bounded); resolves when written. */
  flush(): Promise<void> {
    this.flushing = this.flushing.then(() => this.writeBatch());
    return this.flushing;
  }

  private async writeBatch(): Promise<void> {
    if (this.pending.size === 0 && this.overflow === 0) return;
    const batch = [...this.pending.values()];
    this.pending = new Map();
    let overflow = this.overflow;
    this.overflow = 0;
    if (batch.length > this.maxRows) {
      overflow += batch.slice(this.maxRows).reduce((n, p) => n + p.count, 0);
      batch.length = this.maxRows;
    }
    for (const p of batch) {
      const detail = { ...p.event.detail, count: p.count, firstAt: p.firstAt };
      try {
        await recordSecurityEvent(this.db, { type: p.event.type, sourceIp: p.event.source, detail });
        if (p.event.tenantId) {
          await audit(this.db, p.event.tenantId, { actor: 'system:sip', action: `sip.${p.event.type}`, detail, sourceIp: p.event.source });
        }
        this.stats.rows++;
      } catch (error) {
        this.logger.warn({ err: error, type: p.event.type }, 'could not write a security event');
      }
    }
    if (overflow > 0) {
      this.stats.overflow += overflow;
      await recordSecurityEvent(this.db, { type: 'coalesced-overflow', detail: { count: overflow } }).catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.flush().catch(() => undefined);
  }
}
