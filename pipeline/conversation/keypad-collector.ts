/**
 * Collects keypad keys (DTMF digits) into runs, the way an IVR reads them: a
 * run ends at the terminator key (`#` by default, kept in the run), when no
 * key comes for the inter-digit timeout, or at `maxKeys`. The collector keeps
 * no timer of its own: its owner hands it each key with the time it arrived
 * and asks `due(now)` on its own clock (the conversation on its frame clock,
 * a call session on a timer). Keys are call content: the collector never
 * logs them, and toString/inspect/JSON show only a count.
 */
import { inspect } from 'node:util';

export interface KeypadSettings {
  /** A run ends when no key comes for this long. */
  interDigitTimeoutMs: number;
  /** The key that ends a run at once (kept in the run), or '' for none. */
  terminator: '#' | '*' | '';
  /** A run is cut at this many keys. */
  maxKeys: number;
}

export const DEFAULT_KEYPAD_SETTINGS: KeypadSettings = { interDigitTimeoutMs: 3000, terminator: '#', maxKeys: 32 };

export interface KeypadRun {
  /** The keys as typed, e.g. "4111111111111111#" or "2". */
  keys: string;
  endedBy: 'terminator' | 'timeout' | 'length' | 'flush';
  /** Clock time the run ended (the terminator's arrival, or the timeout's expiry). */
  atMs: number;
}

const KEYS = /^[0-9*#A-D]$/;

export class KeypadCollector {
  #keys = '';
  #lastAtMs = 0;

  constructor(readonly settings: KeypadSettings = DEFAULT_KEYPAD_SETTINGS) {}

  /** Keys are waiting for their run to end. */
  get pending(): boolean {
    return this.#keys !== '';
  }

  /** When the waiting run times out (clock ms), or undefined when nothing waits. */
  get deadlineMs(): number | undefined {
    return this.#keys === '' ? undefined : this.#lastAtMs + this.settings.interDigitTimeoutMs;
  }

  /**
   * Adds one key; returns the runs that ended: none, the run this key completed, or also the run before it
   * when its timeout had passed unnoticed. Anything but 0-9 * # A-D is ignored.
   */
  push(key: string, atMs: number): KeypadRun[] {
    if (!KEYS.test(key)) return [];
    const ended: KeypadRun[] = [];
    const timedOut = this.due(atMs);
    if (timedOut) ended.push(timedOut);
    this.#keys += key;
    this.#lastAtMs = atMs;
    if (this.settings.terminator !== '' && key === this.settings.terminator) ended.push(this.#take('terminator', atMs));
    else if (this.#keys.length >= this.settings.maxKeys) ended.push(this.#take('length', atMs));
    return ended;
  }

  /** The waiting run, if its inter-digit timeout has passed at `nowMs`. */
  due(nowMs: number): KeypadRun | undefined {
    const deadline = this.deadlineMs;
    if (deadline === undefined || nowMs < deadline) return undefined;
    return this.#take('timeout', deadline);
  }

  /** Ends the waiting run now (the call is ending). */
  flush(nowMs: number): KeypadRun | undefined {
    return this.#keys === '' ? undefined : this.#take('flush', nowMs);
  }

  #take(endedBy: KeypadRun['endedBy'], atMs: number): KeypadRun {
    const run = { keys: this.#keys, endedBy, atMs };
    this.#keys = '';
    return run;
  }

  toString(): string {
    return `KeypadCollector(keys=${this.#keys.length})`;
  }

  toJSON(): { keys: number } {
    return { keys: this.#keys.length };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
