/**
 * `redact(text)`: the transcript with each PII span replaced by its typed tag
 * (`[CARD]`, `[PHONE]`...), and where each tag sits in the redacted text.
 * Pure and synchronous; the raw text is neither kept nor logged.
 */
import { findPii } from './detect.ts';
import { tagFor, type RedactedEntity, type RedactedType, type RedactionResult } from './types.ts';

/** Replace spans (original offsets, sorted, non-overlapping) by tags. */
export function applyRedaction(text: string, spans: ReadonlyArray<{ type: RedactedType; start: number; end: number }>): RedactionResult {
  if (spans.length === 0) return { text, entities: [] };
  let out = '';
  let cursor = 0;
  const entities: RedactedEntity[] = [];
  for (const s of spans) {
    out += text.slice(cursor, s.start);
    const tag = tagFor(s.type);
    entities.push({ type: s.type, start: out.length, end: out.length + tag.length });
    out += tag;
    cursor = s.end;
  }
  out += text.slice(cursor);
  return { text: out, entities };
}

export function redact(text: string): RedactionResult {
  if (typeof text !== 'string') throw new TypeError('redact() takes a string');
  return applyRedaction(text, findPii(text));
}
