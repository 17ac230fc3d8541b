/**
 * Redaction for streaming speech-to-text: the final segments of one caller
 * turn are collected with `add()` and redacted together at `finish()`, so a
 * card number or email address split across segments ("four one one one" |
 * "one one one one ...") is still caught. The raw segments live only in a
 * private field until `finish()`/`discard()`; `toString()`, `inspect` and JSON
 * show counts, and errors never quote the text.
 */
import { inspect } from 'node:util';
import { redact } from './redact.ts';
import type { RedactionResult } from './types.ts';

export interface TurnRedactorOptions {
  /** Upper bound on the raw characters held for one turn (default 64 KiB); beyond it add() throws. */
  maxChars?: number;
}

export class TurnRedactorError extends Error {
  override name = 'TurnRedactorError';
}

export class TurnRedactor {
  #segments: string[] = [];
  #chars = 0;
  readonly #maxChars: number;

  constructor(options: TurnRedactorOptions = {}) {
    this.#maxChars = options.maxChars ?? 65_536;
  }

  /** Number of segments held for the current turn. */
  get segmentCount(): number { return this.#segments.length; }

  /** Add one FINAL STT segment of the current turn. Empty segments are ignored. */
  add(segment: string): void {
    if (typeof segment !== 'string') throw new TurnRedactorError('segment must be a string');
    if (segment.trim() === '') return;
    if (this.#chars + segment.length > this.#maxChars) {
      throw new TurnRedactorError(`turn exceeds ${this.#maxChars} characters (segment of ${segment.length} after ${this.#chars})`);
    }
    this.#segments.push(segment);
    this.#chars += segment.length;
  }

  /**
   * Join the segments with single spaces, redact, and start a new turn.
   * Entity offsets refer to the redacted joined text.
   */
  finish(): RedactionResult {
    const joined = this.#segments.map((s) => s.trim()).join(' ');
    this.discard();
    return redact(joined);
  }

  /** Drop the current turn's raw segments without redacting them. */
  discard(): void {
    this.#segments = [];
    this.#chars = 0;
  }

  toString(): string {
    return `TurnRedactor(segments=${this.#segments.length}, chars=${this.#chars})`;
  }

  toJSON(): { segments: number; chars: number } {
    return { segments: this.#segments.length, chars: this.#chars };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
