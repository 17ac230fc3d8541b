/**
 * RFC 4733 telephone-events (DTMF over RTP). The payload is 4 bytes: event
 * code, end bit + volume, duration in timestamp units. Every packet of one
 * event carries the same RTP timestamp (the event's start), and the end packet
 * is sent three times, so the receiver keys events on that timestamp and
 * reports each digit exactly once, when it ends (or when a newer event shows
 * that the end packets were lost). The sender side builds the packet sequence
 * for one digit: a start packet with the marker bit, updates every packet
 * interval, and three end packets with the final duration.
 */

export const DTMF_EVENTS = '0123456789*#ABCD';

export interface TelephoneEvent {
  /** 0-9 digits, 10 '*', 11 '#', 12-15 'A'-'D'. */
  event: number;
  end: boolean;
  /** Power level in -dBm0 (0..63). */
  volume: number;
  /** Duration so far, in timestamp units. */
  duration: number;
}

export function digitOfEvent(event: number): string | undefined {
  return event >= 0 && event < DTMF_EVENTS.length ? DTMF_EVENTS[event] : undefined;
}

export function eventOfDigit(digit: string): number | undefined {
  const i = DTMF_EVENTS.indexOf(digit.toUpperCase());
  return digit.length === 1 && i >= 0 ? i : undefined;
}

export function parseTelephoneEvent(payload: Uint8Array): TelephoneEvent | undefined {
  if (payload.length < 4) return undefined;
  return {
    event: payload[0]!,
    end: (payload[1]! & 0x80) !== 0,
    volume: payload[1]! & 0x3f,
    duration: (payload[2]! << 8) | payload[3]!,
  };
}

export function writeTelephoneEvent(out: Uint8Array, offset: number, e: TelephoneEvent): number {
  out[offset] = e.event & 0xff;
  out[offset + 1] = (e.end ? 0x80 : 0) | (e.volume & 0x3f);
  const d = Math.min(0xffff, e.duration);
  out[offset + 2] = (d >> 8) & 0xff;
  out[offset + 3] = d & 0xff;
  return 4;
}

export interface DetectedDigit {
  digit: string;
  /** Duration in ms (from the event's duration field). */
  durationMs: number;
  /** RTP timestamp of the event start. */
  timestamp: number;
}

/** Receiver side: feed every telephone-event packet, get each digit once. */
export class DtmfReceiver {
  private readonly clockRate: number;
  private current: { timestamp: number; event: number; duration: number } | undefined;
  private lastEndedTimestamp: number | undefined;

  constructor(clockRate = 8000) {
    this.clockRate = clockRate;
  }

  /** Returns the digits completed by this packet (usually none or one; two if an end was lost). */
  push(timestamp: number, payload: Uint8Array): DetectedDigit[] {
    const e = parseTelephoneEvent(payload);
    if (!e) return [];
    const done: DetectedDigit[] = [];
    if (timestamp === this.lastEndedTimestamp) return done; // repeated end packet or a straggler
    const cur = this.current;
    if (cur && cur.timestamp !== timestamp) {
      // A new event began before the old one's end arrived: the old one is over.
      const d = this.finish(cur);
      if (d) done.push(d);
      this.lastEndedTimestamp = cur.timestamp;
      this.current = undefined;
    }
    if (!this.current) this.current = { timestamp, event: e.event, duration: e.duration };
    else this.current.duration = Math.max(this.current.duration, e.duration);
    if (e.end) {
      const d = this.finish(this.current);
      if (d) done.push(d);
      this.lastEndedTimestamp = timestamp;
      this.current = undefined;
    }
    return done;
  }

  /** Ends an event whose end packets never came (call this on a timeout). */
  flush(): DetectedDigit[] {
    const cur = this.current;
    this.current = undefined;
    if (!cur) return [];
    this.lastEndedTimestamp = cur.timestamp;
    const d = this.finish(cur);
    return d ? [d] : [];
  }

  /** True while an event has started and not ended. */
  get inEvent(): boolean {
    return this.current !== undefined;
  }

  private finish(c: { timestamp: number; event: number; duration: number }): DetectedDigit | undefined {
    const digit = digitOfEvent(c.event);
    if (digit === undefined) return undefined;
    return { digit, durationMs: Math.round((c.duration * 1000) / this.clockRate), timestamp: c.timestamp };
  }
}

export interface DtmfPacketPlan {
  marker: boolean;
  /** 4-byte telephone-event payload. */
  payload: Uint8Array;
}

/**
 * The packets for one digit, one per packet interval (send them on successive
 * 20 ms ticks with the same RTP timestamp). Durations are cumulative; the last
 * three repeat the end with the final duration.
 */
export function dtmfPacketSequence(
  digit: string,
  options: { durationMs?: number; volume?: number; clockRate?: number; packetMs?: number } = {},
): DtmfPacketPlan[] {
  const event = eventOfDigit(digit);
  if (event === undefined) throw new RangeError(`not a DTMF digit: ${JSON.stringify(digit)}`);
  const clockRate = options.clockRate ?? 8000;
  const packetMs = options.packetMs ?? 20;
  const durationMs = Math.max(packetMs, options.durationMs ?? 100);
  const volume = options.volume ?? 10;
  const step = (clockRate * packetMs) / 1000;
  const total = Math.min(0xffff, Math.round((clockRate * durationMs) / 1000));
  const plans: DtmfPacketPlan[] = [];
  for (let d = step; d < total; d += step) {
    const payload = new Uint8Array(4);
    writeTelephoneEvent(payload, 0, { event, end: false, volume, duration: d });
    plans.push({ marker: plans.length === 0, payload });
  }
  for (let i = 0; i < 3; i++) {
    const payload = new Uint8Array(4);
    writeTelephoneEvent(payload, 0, { event, end: true, volume, duration: total });
    plans.push({ marker: plans.length === 0, payload });
  }
  return plans;
}
