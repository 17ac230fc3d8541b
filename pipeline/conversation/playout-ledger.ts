/**
 * What the caller actually heard. Every piece of agent audio handed to the
 * transport is counted on one timeline (ms of audio submitted since the call
 * began); each spoken sentence remembers where it starts and ends on it. At a
 * barge-in, audio submitted minus audio dropped is what left the server, so a
 * sentence is heard in full, in part (words in proportion) or not at all.
 */

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
    const ws = span.text.split(/\s+/).filter((w) => w !== '');
    const n = Math.floor(ws.length * fraction);
    if (n > 0) parts.push(`${ws.slice(0, n).join(' ')}...`);
    break;
  }
  return parts.join(' ');
}
