/**
 * Splits a TCP/TLS byte stream into SIP messages (RFC 3261 18.3): the header
 * block ends at the first blank line and Content-Length, mandatory on streams,
 * gives the body size. CRLF keep-alives between messages (RFC 5626 3.5.1) are
 * skipped and reported so the caller can answer a double-CRLF ping. Buffered
 * bytes are capped; exceeding the cap or a missing/invalid Content-Length is a
 * framing error after which the connection should be closed.
 */

export type FramerEvent =
  | { type: 'message'; data: Buffer }
  | { type: 'keepalive'; pong: boolean }
  | { type: 'error'; reason: string };

export interface StreamFramerOptions {
  /** Maximum bytes of one message (headers + body) and of buffered input. Default 64 KiB. */
  maxMessageSize?: number;
}

export class StreamFramer {
  private buffer: Buffer = Buffer.alloc(0);
  private failed = false;
  private readonly maxSize: number;

  constructor(options: StreamFramerOptions = {}) {
    this.maxSize = options.maxMessageSize ?? 64 * 1024;
  }

  get bufferedBytes(): number {
    return this.buffer.length;
  }

  /** Feeds bytes; returns the complete messages (and keep-alives, errors) found. */
  push(chunk: Buffer): FramerEvent[] {
    if (this.failed) return [];
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const events: FramerEvent[] = [];
    for (;;) {
      // Skip keep-alives: CRLFCRLF is a ping (answer CRLF), a lone CRLF is a pong.
      let skip = 0;
      while (skip < this.buffer.length && (this.buffer[skip] === 0x0d || this.buffer[skip] === 0x0a)) skip++;
      if (skip > 0) {
        if (skip === this.buffer.length && skip < 4 && this.buffer[skip - 1] !== 0x0a) break; // wait for the LF
        events.push({ type: 'keepalive', pong: skip < 4 });
        this.buffer = this.buffer.subarray(skip);
      }
      if (this.buffer.length === 0) break;
      const headerEnd = this.buffer.indexOf('\r\n\r\n');
      if (headerEnd < 0) {
        if (this.buffer.length > this.maxSize) return this.fail(events, 'header block exceeds the size limit');
        break;
      }
      const head = this.buffer.toString('latin1', 0, headerEnd);
      const lengths = [...head.matchAll(/(?:^|\r\n)(?:content-length|l)[ \t]*:[ \t]*(?:\r\n[ \t]+)?([^\r\n]*)/gi)].map((m) => m[1]!.trim());
      if (lengths.length === 0) return this.fail(events, 'missing Content-Length on a stream');
      if (!lengths.every((v) => /^\d{1,10}$/.test(v)) || new Set(lengths.map(Number)).size > 1) return this.fail(events, 'invalid Content-Length');
      const total = headerEnd + 4 + Number(lengths[0]);
      if (total > this.maxSize) return this.fail(events, 'message exceeds the size limit');
      if (this.buffer.length < total) break;
      events.push({ type: 'message', data: Buffer.from(this.buffer.subarray(0, total)) });
      this.buffer = this.buffer.subarray(total);
    }
    if (this.buffer.length > this.maxSize) return this.fail(events, 'buffered input exceeds the size limit');
    return events;
  }

  private fail(events: FramerEvent[], reason: string): FramerEvent[] {
    this.failed = true;
    this.buffer = Buffer.alloc(0);
    events.push({ type: 'error', reason });
    return events;
  }
}
