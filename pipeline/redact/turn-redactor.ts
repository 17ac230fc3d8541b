/**
 * Redaction for streaming speech-to-text: the final segments of one caller
 * turn are collected with `add()` and redacted together at `finish()`, so a
 * card number or email address split across segments ("four one one one" |
 * "one one one one ...") is still caught. One redactor serves a whole call:
 * the tail of the previous turn is carried as context into the next, so a card
 * number said across two turns ("my card number is 4111 1111" | "1111 1111")
 * is redacted in both (the first half by its card context, the second because
 * it completes the number). The raw segments and the carried tail live only in
 * private fields (the tail until the next `finish()` or `discard()`);
 * `toString()`, `inspect` and JSON show counts, and errors never quote the text.
 * `finish()` also says where each redacted span was in the joined raw text
 * (`sourceSpans`, offsets only), so the words' audio can be silenced in the
 * recording.
 */
import { inspect } from 'node:util';
import { findPii } from './detect.ts';
import { applyRedaction } from './redact.ts';
import type { PiiSpan, RedactionResult } from './types.ts';

/** How much of the previous turn is carried into the next (characters, cut at a space). */
const CARRY_CHARS = 240;

function tail(text: string): string {
  if (text.length <= CARRY_CHARS) return text;
  const cut = text.indexOf(' ', text.length - CARRY_CHARS);
  return cut < 0 ? '' : text.slice(cut + 1);
}

/** Sorted spans with overlaps merged (the earlier span's type wins). */
function mergeSpans(spans: PiiSpan[]): PiiSpan[] {
  spans.sort((a, b) => a.start - b.start || b.end - a.end);
  const out: PiiSpan[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if (last !== undefined && s.start < last.end) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

export interface TurnRedactorOptions {
  /** Upper bound on the raw characters held for one turn (default 64 KiB); beyond it add() throws. */
  maxChars?: number;
}

/** A redacted turn, plus where each span sat in the joined raw text (offsets and type only). */
export interface TurnRedaction extends RedactionResult {
  sourceSpans: PiiSpan[];
}

export class TurnRedactorError extends Error {
  override name = 'TurnRedactorError';
}

export class TurnRedactor {
  #segments: string[] = [];
  #chars = 0;
  #carried = '';
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
   * Join the segments with single spaces, redact (with the previous turn's
   * tail as context), and start a new turn. Entity offsets refer to the
   * redacted joined text.
   */
  finish(): TurnRedaction {
    const joined = this.#segments.map((s) => s.trim()).join(' ');
    this.#segments = [];
    this.#chars = 0;
    if (joined === '') return { text: '', entities: [], sourceSpans: [] };
    const spans = findPii(joined);
    if (this.#carried !== '') {
      // spans that reach into this turn from the carried context, clipped to this turn
      const offset = this.#carried.length + 1;
      for (const s of findPii(`${this.#carried} ${joined}`)) {
        if (s.end > offset) spans.push({ type: s.type, start: Math.max(0, s.start - offset), end: s.end - offset });
      }
    }
    this.#carried = tail(joined);
    const merged = mergeSpans(spans);
    return { ...applyRedaction(joined, merged), sourceSpans: merged };
  }

  /** Drop the current turn's raw segments and the carried context without redacting them. */
  discard(): void {
    this.#segments = [];
    this.#chars = 0;
    this.#carried = '';
  }

  toString(): string {
    return `TurnRedactor(segments=${this.#segments.length}, chars=${this.#chars}, carried=${this.#carried.length})`;
  }

  toJSON(): { segments: number; chars: number; carried: number } {
    return { segments: this.#segments.length, chars: this.#chars, carried: this.#carried.length };
  }

  [inspect.custom](): string {
    return this.toString();
  }
}
