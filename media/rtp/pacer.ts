/**
 * The 20 ms clock that drives media. One timer for the whole process ticks
 * every session's send and playout step, so a thousand calls cost one timer,
 * not a thousand. Ticks are anchored to a monotonic clock (performance.now):
 * each wake-up is scheduled for the next tick's due time, so timer lateness
 * never accumulates into drift. When the process was busy and several ticks
 * are overdue, they run back to back (catching up), but never more than
 * `maxCatchUpTicks` at once; older missed ticks are skipped, and handlers see
 * the gap in the tick number (so RTP timestamps can follow real time).
 */
import { performance } from 'node:perf_hooks';

/** `tick` counts from 0 at the pacer's start (skipped ticks included); `dueMs` is its nominal monotonic time. */
export type TickHandler = (tick: number, dueMs: number) => void;

export interface PacerOptions {
  intervalMs?: number;
  maxCatchUpTicks?: number;
  /** Monotonic clock in ms; default performance.now. */
  now?: () => number;
  /** Timer functions (tests inject fakes). The clock only runs while it has handlers, so a closed session lets the process exit. */
  setTimer?: (fn: () => void, delayMs: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  /** Called when a handler throws; the other handlers still run. */
  onError?: (error: unknown) => void;
}

export interface PacerStats {
  ticks: number;
  skippedTicks: number;
  /** Ticks that ran late by at least one interval (caught up). */
  lateTicks: number;
  handlerErrors: number;
}

function defaultSetTimer(fn: () => void, delayMs: number): unknown {
  return setTimeout(fn, delayMs);
}

export class Pacer {
  readonly intervalMs: number;
  private readonly maxCatchUpTicks: number;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, delayMs: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;
  private readonly onError: ((error: unknown) => void) | undefined;
  private handlers: TickHandler[] = [];
  private timer: unknown;
  private running = false;
  private epochMs = 0;
  /** Next tick number to run. */
  private nextTick = 0;
  readonly stats: PacerStats = { ticks: 0, skippedTicks: 0, lateTicks: 0, handlerErrors: 0 };

  constructor(options: PacerOptions = {}) {
    this.intervalMs = options.intervalMs ?? 20;
    this.maxCatchUpTicks = Math.max(1, options.maxCatchUpTicks ?? 3);
    this.now = options.now ?? (() => performance.now());
    this.setTimer = options.setTimer ?? defaultSetTimer;
    this.clearTimer = options.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
    this.onError = options.onError;
  }

  /** Adds a handler; returns its removal function. The clock starts with the first handler and stops with the last. */
  add(handler: TickHandler): () => void {
    this.handlers = [...this.handlers, handler];
    if (!this.running) this.start();
    return () => this.remove(handler);
  }

  remove(handler: TickHandler): void {
    const next = this.handlers.filter((h) => h !== handler);
    if (next.length === this.handlers.length) return;
    this.handlers = next;
    if (next.length === 0) this.stop();
  }

  get handlerCount(): number {
    return this.handlers.length;
  }

  /** The tick number current at monotonic time `ms` (for mapping times to ticks). */
  tickAt(ms: number): number {
    return Math.floor((ms - this.epochMs) / this.intervalMs);
  }

  private start(): void {
    this.running = true;
    this.epochMs = this.now();
    this.nextTick = 1;
    this.schedule();
  }

  private stop(): void {
    this.running = false;
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    const due = this.epochMs + this.nextTick * this.intervalMs;
    this.timer = this.setTimer(() => this.fire(), Math.max(0, due - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    if (!this.running) return;
    const now = this.now();
    const current = Math.floor((now - this.epochMs) / this.intervalMs);
    let owed = current - this.nextTick + 1;
    if (owed > this.maxCatchUpTicks) {
      const skip = owed - this.maxCatchUpTicks;
      this.stats.skippedTicks += skip;
      this.nextTick += skip;
      owed = this.maxCatchUpTicks;
    }
    if (owed > 1) this.stats.lateTicks += owed - 1;
    for (let i = 0; i < owed && this.running; i++) {
      const tick = this.nextTick++;
      this.stats.ticks++;
      const dueMs = this.epochMs + tick * this.intervalMs;
      for (const h of this.handlers) {
        try {
          h(tick, dueMs);
        } catch (err) {
          this.stats.handlerErrors++;
          this.onError?.(err);
        }
      }
    }
    if (this.running) this.schedule();
  }
}

let shared: Pacer | undefined;

/** The process-wide 20 ms pacer that all RTP sessions share. */
export function sharedPacer(): Pacer {
  shared ??= new Pacer();
  return shared;
}
