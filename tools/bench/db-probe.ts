/**
 * The in-process server's database as the benchmark sees it: which backend
 * (embedded PGlite or a Postgres server), how many statements and
 * transactions ran during the measured window and which ones (per call), and
 * whether the event loop's stalls coincided with database work.
 *
 * Counting wraps the driver client under drizzle (`db.app.$client`):
 * PGlite's `query`/`exec`/`transaction` (and the transaction object's own
 * `query`/`exec`), postgres.js's `unsafe`/`begin`. PGlite runs Postgres as
 * WASM on the server's own thread, so a statement's wall time (call to
 * settle, queueing behind PGlite's lock included) is time the event loop may
 * be blocked; postgres.js statements are network I/O and are counted, not timed.
 *
 * Stall attribution: a 5 ms interval timer notices gaps over STALL_MS between
 * its runs; a gap counts as "with database work" when a statement was in
 * flight during it or settled inside it.
 */
import { performance } from 'node:perf_hooks';
import type { Database } from '../../storage/index.ts';

export const STALL_MS = 20;
const STALL_TICK_MS = 5;
const MAX_STATEMENTS = 40;

export interface DbStatementStat {
  statement: string;
  count: number;
  /** Sum of wall times (ms); null when not timed (postgres). */
  totalMs: number | null;
  maxMs: number | null;
}

export interface DbProbeResult {
  backend: 'pglite' | 'postgres';
  statements: number;
  transactions: number;
  /** Sum of statement wall times (PGlite), null when not timed. */
  statementMs: number | null;
  maxStatementMs: number | null;
  byStatement: DbStatementStat[];
  stalls: { thresholdMs: number; count: number; withDatabaseWork: number; maxMs: number };
}

type AnyFn = (...args: unknown[]) => unknown;
type Patchable = Record<string, unknown>;

/** Collapses a SQL text into a short, stable key. */
export function statementKey(text: unknown): string {
  const s = typeof text === 'string' ? text : String(text);
  return s.replace(/\s+/g, ' ').trim().slice(0, 160);
}

export class DbProbe {
  readonly backend: 'pglite' | 'postgres';
  private counting = false;
  private statements = 0;
  private transactions = 0;
  private statementMs = 0;
  private maxStatementMs = 0;
  private readonly stats = new Map<string, { count: number; totalMs: number; maxMs: number }>();
  private inFlight = 0;
  private lastSettledAt = -Infinity;
  private stallTimer: NodeJS.Timeout | undefined;
  private lastTick = 0;
  private stallCount = 0;
  private stallWithDb = 0;
  private stallMax = 0;
  private readonly restores: Array<() => void> = [];

  constructor(db: Database) {
    this.backend = db.kind;
    const client = (db.app as unknown as { $client?: unknown }).$client;
    if (!client || (typeof client !== 'object' && typeof client !== 'function')) return;
    if (db.kind === 'pglite') {
      this.wrapTimed(client as Patchable, 'query');
      this.wrapTimed(client as Patchable, 'exec');
      this.wrapTransaction(client as Patchable, 'transaction', (tx) => { this.wrapTimed(tx, 'query', false); this.wrapTimed(tx, 'exec', false); });
    } else {
      this.wrapCounted(client as Patchable, 'unsafe');
      this.wrapTransaction(client as Patchable, 'begin', (tx) => this.wrapCounted(tx, 'unsafe', false));
    }
  }

  start(): void {
    this.counting = true;
    this.statements = 0;
    this.transactions = 0;
    this.statementMs = 0;
    this.maxStatementMs = 0;
    this.stats.clear();
    this.stallCount = 0;
    this.stallWithDb = 0;
    this.stallMax = 0;
    this.lastTick = performance.now();
    this.stallTimer = setInterval(() => this.tick(), STALL_TICK_MS);
  }

  stop(): DbProbeResult {
    this.counting = false;
    if (this.stallTimer) clearInterval(this.stallTimer);
    this.stallTimer = undefined;
    const timed = this.backend === 'pglite';
    const byStatement = [...this.stats.entries()]
      .map(([statement, s]) => ({ statement, count: s.count, totalMs: timed ? round(s.totalMs) : null, maxMs: timed ? round(s.maxMs) : null }))
      .sort((a, b) => b.count - a.count || (b.totalMs ?? 0) - (a.totalMs ?? 0))
      .slice(0, MAX_STATEMENTS);
    return {
      backend: this.backend,
      statements: this.statements,
      transactions: this.transactions,
      statementMs: timed ? round(this.statementMs) : null,
      maxStatementMs: timed ? round(this.maxStatementMs) : null,
      byStatement,
      stalls: { thresholdMs: STALL_MS, count: this.stallCount, withDatabaseWork: this.stallWithDb, maxMs: round(this.stallMax) },
    };
  }

  /** Puts the driver's methods back. */
  dispose(): void {
    if (this.stallTimer) clearInterval(this.stallTimer);
    for (const restore of this.restores.splice(0).reverse()) restore();
  }

  private tick(): void {
    const now = performance.now();
    const gap = now - this.lastTick - STALL_TICK_MS;
    if (gap > STALL_MS) {
      this.stallCount++;
      if (gap > this.stallMax) this.stallMax = gap;
      if (this.inFlight > 0 || this.lastSettledAt > this.lastTick) this.stallWithDb++;
    }
    this.lastTick = now;
  }

  private record(text: unknown, ms: number | undefined): void {
    if (!this.counting) return;
    this.statements++;
    const key = statementKey(text);
    let s = this.stats.get(key);
    if (!s) {
      s = { count: 0, totalMs: 0, maxMs: 0 };
      this.stats.set(key, s);
    }
    s.count++;
    if (ms !== undefined) {
      s.totalMs += ms;
      if (ms > s.maxMs) s.maxMs = ms;
      this.statementMs += ms;
      if (ms > this.maxStatementMs) this.maxStatementMs = ms;
    }
  }

  private patch(target: Patchable, name: string, make: (original: AnyFn) => AnyFn, restorable = true): void {
    const original = target[name];
    if (typeof original !== 'function') return;
    const bound = (original as AnyFn).bind(target);
    target[name] = make(bound);
    if (restorable) this.restores.push(() => { target[name] = original; });
  }

  /** A promise-returning method whose settle time is the statement's time. */
  private wrapTimed(target: Patchable, name: string, restorable = true): void {
    this.patch(target, name, (original) => (...args: unknown[]) => {
      const t0 = performance.now();
      this.inFlight++;
      const settle = (): void => {
        this.inFlight--;
        const now = performance.now();
        this.lastSettledAt = now;
        this.record(args[0], now - t0);
      };
      let result: unknown;
      try {
        result = original(...args);
      } catch (error) {
        settle();
        throw error;
      }
      if (result && typeof (result as Promise<unknown>).then === 'function') {
        (result as Promise<unknown>).then(settle, settle);
      } else settle();
      return result;
    }, restorable);
  }

  /** postgres.js: queries are lazy thenables, so count at the call and do not touch them. */
  private wrapCounted(target: Patchable, name: string, restorable = true): void {
    this.patch(target, name, (original) => (...args: unknown[]) => {
      this.record(args[0], undefined);
      return original(...args);
    }, restorable);
  }

  private wrapTransaction(target: Patchable, name: string, wrapTx: (tx: Patchable) => void): void {
    this.patch(target, name, (original) => (...args: unknown[]) => {
      if (this.counting) this.transactions++;
      const cbIndex = args.findIndex((a) => typeof a === 'function');
      if (cbIndex < 0) return original(...args);
      const cb = args[cbIndex] as AnyFn;
      const wrapped = [...args];
      wrapped[cbIndex] = (tx: unknown, ...rest: unknown[]) => {
        if (tx && (typeof tx === 'object' || typeof tx === 'function')) wrapTx(tx as Patchable);
        return cb(tx, ...rest);
      };
      return original(...wrapped);
    });
  }
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
