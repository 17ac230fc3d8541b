/**
 * What the caller actually heard. Every piece of agent audio handed to the
 * transport is counted on one timeline (ms of audio submitted since the call
 * began); each spoken sentence remembers where it starts and ends on it. At a
 * barge-in, audio submitted minus audio dropped is what left the server, so a
 * sentence is heard in full, in part (words in proportion) or not at all.
 * A cut never splits a piece of PII (a card number, a phone number): the
 * part heard would be too short to be recognised, and the transcript would
 * keep its first digits in clear; the cut moves to the end of the piece, so
 * redaction sees it whole.
 */
import { findPii } from '../redact/index.ts';

export interface SpokenSpan {
  text: string;
  startMs: number;
  endMs: number;
}

export class PlayoutLedger {
  /** Agent audio handed to the transport and not dropped, in ms. */
  submittedMs = 0;

  add(ms: number): void {
    this.submittedMs += ms;
  }

  /** After a clearPlayback() that dropped `droppedMs`: the dropped audio never happened. */
  drop(droppedMs: number): void {
    this.submittedMs = Math.max(0, this.submittedMs - droppedMs);
  }

  /** Ms of agent audio that has left, given what the transport still has queued. */
  playedMs(queuedMs: number): number {
    return Math.max(0, this.submittedMs - queuedMs);
  }
}

/** The part of `spans` heard once `playedMs` of the timeline has played. */
export function heardText(spans: readonly SpokenSpan[], playedMs: number): string {
  const parts: string[] = [];
  for (const span of spans) {
    if (span.startMs >= playedMs) break;
    if (span.endMs <= playedMs) {
      parts.push(span.text);
      continue;
    }
    const fraction = (playedMs - span.startMs) / Math.max(1, span.endMs - span.startMs);
    const words = [...span.text.matchAll(/\S+/g)];
    const n = Math.floor(words.length * fraction);
    if (n > 0) {
      const lastWord = words[n - 1]!;
      let cut = lastWord.index + lastWord[0].length;
      for (const pii of findPii(span.text)) if (pii.start < cut && pii.end > cut) cut = pii.end;
      parts.push(cut >= span.text.trimEnd().length ? span.text : `${span.text.slice(0, cut)}...`);
    }
    break;
  }
  return parts.join(' ');
}
