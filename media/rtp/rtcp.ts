/**
 * RTCP (RFC 3550 section 6): build and parse compound packets made of a
 * sender report (SR) or receiver report (RR), an SDES chunk with our CNAME,
 * and BYE; plus the receiver-side statistics behind a report block, following
 * the algorithms of appendix A.1 (sequence validation), A.3 (expected and lost
 * packets) and A.8 (interarrival jitter). Parsing never throws.
 */
import { putU32, u32 } from './packet.ts';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;

export interface ReportBlock {
  ssrc: number;
  /** Fraction of packets lost since the previous report, 0..255 (x/256). */
  fractionLost: number;
  /** Cumulative packets lost (24-bit signed; may be negative with duplicates). */
  cumulativeLost: number;
  extendedHighestSeq: number;
  /** Interarrival jitter in timestamp units. */
  jitter: number;
  /** Middle 32 bits of the NTP timestamp of the last SR received from this source, 0 if none. */
  lastSr: number;
  /** Delay since that SR, in 1/65536 s. */
  delaySinceLastSr: number;
}

export interface SenderInfo {
  ntpSeconds: number;
  ntpFraction: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export type RtcpPacket =
  | { type: 'sr'; ssrc: number; sender: SenderInfo; reports: ReportBlock[] }
  | { type: 'rr'; ssrc: number; reports: ReportBlock[] }
  | { type: 'sdes'; chunks: Array<{ ssrc: number; cname?: string }> }
  | { type: 'bye'; ssrcs: number[]; reason?: string }
  | { type: 'other'; packetType: number };

export type RtcpParseResult = { ok: true; packets: RtcpPacket[] } | { ok: false; reason: string };


const NTP_EPOCH_OFFSET_S = 2208988800;

/** NTP timestamp (seconds since 1900 and 2^-32 fraction) for a wall-clock time in ms. */
export function ntpFromUnixMs(ms: number): { seconds: number; fraction: number } {
  const seconds = Math.floor(ms / 1000);
  const fraction = Math.floor(((ms - seconds * 1000) / 1000) * 0x100000000);
  return { seconds: (seconds + NTP_EPOCH_OFFSET_S) >>> 0, fraction: fraction >>> 0 };
}

/** The "middle 32 bits" of an NTP timestamp, as used in LSR. */
export function ntpMiddle32(seconds: number, fraction: number): number {
  return (((seconds & 0xffff) << 16) | (fraction >>> 16)) >>> 0;
}

function writeReportBlock(out: Uint8Array, o: number, r: ReportBlock): void {
  putU32(out, o, r.ssrc);
  out[o + 4] = r.fractionLost & 0xff;
  const lost = Math.max(-0x800000, Math.min(0x7fffff, r.cumulativeLost)) & 0xffffff;
  out[o + 5] = (lost >> 16) & 0xff;
  out[o + 6] = (lost >> 8) & 0xff;
  out[o + 7] = lost & 0xff;
  putU32(out, o + 8, r.extendedHighestSeq);
  putU32(out, o + 12, Math.min(0xffffffff, Math.floor(r.jitter)));
  putU32(out, o + 16, r.lastSr);
  putU32(out, o + 20, r.delaySinceLastSr);
}

function readReportBlock(b: Uint8Array, o: number): ReportBlock {
  let lost = (b[o + 5]! << 16) | (b[o + 6]! << 8) | b[o + 7]!;
  if (lost & 0x800000) lost -= 0x1000000;
  return {
    ssrc: u32(b, o),
    fractionLost: b[o + 4]!,
    cumulativeLost: lost,
    extendedHighestSeq: u32(b, o + 8),
    jitter: u32(b, o + 12),
    lastSr: u32(b, o + 16),
    delaySinceLastSr: u32(b, o + 20),
  };
}

function header(out: Uint8Array, o: number, count: number, type: number, lengthBytes: number): void {
  out[o] = 0x80 | (count & 0x1f);
  out[o + 1] = type;
  const words = lengthBytes / 4 - 1;
  out[o + 2] = (words >> 8) & 0xff;
  out[o + 3] = words & 0xff;
}

export function buildSenderReport(ssrc: number, sender: SenderInfo, reports: ReportBlock[] = []): Buffer {
  const len = 28 + 24 * reports.length;
  const out = Buffer.alloc(len);
  header(out, 0, reports.length, RTCP_SR, len);
  putU32(out, 4, ssrc);
  putU32(out, 8, sender.ntpSeconds);
  putU32(out, 12, sender.ntpFraction);
  putU32(out, 16, sender.rtpTimestamp);
  putU32(out, 20, sender.packetCount);
  putU32(out, 24, sender.octetCount);
  reports.forEach((r, i) => writeReportBlock(out, 28 + 24 * i, r));
  return out;
}

export function buildReceiverReport(ssrc: number, reports: ReportBlock[] = []): Buffer {
  const len = 8 + 24 * reports.length;
  const out = Buffer.alloc(len);
  header(out, 0, reports.length, RTCP_RR, len);
  putU32(out, 4, ssrc);
  reports.forEach((r, i) => writeReportBlock(out, 8 + 24 * i, r));
  return out;
}

export function buildSdesCname(ssrc: number, cname: string): Buffer {
  const text = Buffer.from(cname, 'utf8').subarray(0, 255);
  // ssrc + CNAME item (type, length, text) + at least one null terminator, padded to 32 bits.
  const chunk = 4 + 2 + text.length + 1;
  const padded = Math.ceil(chunk / 4) * 4;
  const out = Buffer.alloc(4 + padded);
  header(out, 0, 1, RTCP_SDES, out.length);
  putU32(out, 4, ssrc);
  out[8] = 1; // CNAME
  out[9] = text.length;
  out.set(text, 10);
  return out;
}

export function buildBye(ssrcs: number[], reason?: string): Buffer {
  const text = reason ? Buffer.from(reason, 'utf8').subarray(0, 255) : undefined;
  const body = 4 * ssrcs.length + (text ? 1 + text.length : 0);
  const len = 4 + Math.ceil(body / 4) * 4;
  const out = Buffer.alloc(len);
  header(out, 0, ssrcs.length, RTCP_BYE, len);
  ssrcs.forEach((s, i) => putU32(out, 4 + 4 * i, s));
  if (text) {
    out[4 + 4 * ssrcs.length] = text.length;
    out.set(text, 5 + 4 * ssrcs.length);
  }
  return out;
}

/** A compound packet: the report first (RFC 3550 6.1), then SDES CNAME, then an optional BYE. */
export function buildCompound(parts: { report: Buffer; ssrc: number; cname: string; bye?: { reason?: string } }): Buffer {
  const list = [parts.report, buildSdesCname(parts.ssrc, parts.cname)];
  if (parts.bye) list.push(buildBye([parts.ssrc], parts.bye.reason));
  return Buffer.concat(list);
}

export function parseRtcp(buf: Uint8Array): RtcpParseResult {
  if (buf.length < 4) return { ok: false, reason: 'too-short' };
  const packets: RtcpPacket[] = [];
  let o = 0;
  while (o < buf.length) {
    if (o + 4 > buf.length) return { ok: false, reason: 'truncated-header' };
    const b0 = buf[o]!;
    if (b0 >> 6 !== 2) return { ok: false, reason: 'bad-version' };
    const count = b0 & 0x1f;
    const type = buf[o + 1]!;
    const len = (((buf[o + 2]! << 8) | buf[o + 3]!) + 1) * 4;
    if (o + len > buf.length) return { ok: false, reason: 'truncated-packet' };
    const end = o + len;
    if (type === RTCP_SR || type === RTCP_RR) {
      const fixed = type === RTCP_SR ? 28 : 8;
      if (len < fixed + 24 * count) return { ok: false, reason: 'bad-report-length' };
      const reports: ReportBlock[] = [];
      for (let i = 0; i < count; i++) reports.push(readReportBlock(buf, o + fixed + 24 * i));
      const ssrc = u32(buf, o + 4);
      if (type === RTCP_SR) {
        const sender: SenderInfo = {
          ntpSeconds: u32(buf, o + 8),
          ntpFraction: u32(buf, o + 12),
          rtpTimestamp: u32(buf, o + 16),
          packetCount: u32(buf, o + 20),
          octetCount: u32(buf, o + 24),
        };
        packets.push({ type: 'sr', ssrc, sender, reports });
      } else packets.push({ type: 'rr', ssrc, reports });
    } else if (type === RTCP_SDES) {
      const chunks: Array<{ ssrc: number; cname?: string }> = [];
      let c = o + 4;
      for (let i = 0; i < count && c + 4 <= end; i++) {
        const chunk: { ssrc: number; cname?: string } = { ssrc: u32(buf, c) };
        c += 4;
        while (c < end && buf[c] !== 0) {
          if (c + 2 > end) break;
          const itemType = buf[c]!;
          const itemLen = buf[c + 1]!;
          if (c + 2 + itemLen > end) return { ok: false, reason: 'bad-sdes' };
          if (itemType === 1) chunk.cname = Buffer.from(buf.subarray(c + 2, c + 2 + itemLen)).toString('utf8');
          c += 2 + itemLen;
        }
        c = Math.ceil((c + 1 - o) / 4) * 4 + o; // skip the null terminator(s) to the next 32-bit boundary
        chunks.push(chunk);
      }
      packets.push({ type: 'sdes', chunks });
    } else if (type === RTCP_BYE) {
      if (len < 4 + 4 * count) return { ok: false, reason: 'bad-bye' };
      const ssrcs: number[] = [];
      for (let i = 0; i < count; i++) ssrcs.push(u32(buf, o + 4 + 4 * i));
      const bye: { type: 'bye'; ssrcs: number[]; reason?: string } = { type: 'bye', ssrcs };
      const r = o + 4 + 4 * count;
      if (r < end) {
        const rl = buf[r]!;
        if (r + 1 + rl <= end) bye.reason = Buffer.from(buf.subarray(r + 1, r + 1 + rl)).toString('utf8');
      }
      packets.push(bye);
    } else packets.push({ type: 'other', packetType: type });
    o = end;
  }
  return { ok: true, packets };
}

const RTP_SEQ_MOD = 0x10000;
const MAX_DROPOUT = 3000;
const MAX_MISORDER = 100;
const MIN_SEQUENTIAL = 2;

/**
 * Reception statistics for one remote source (RFC 3550 A.1, A.3, A.8).
 * `update` returns false for a packet the validation rejects (probation or a
 * wild jump not yet confirmed); such packets should not be played.
 */
export class ReceptionStats {
  readonly ssrc: number;
  private readonly clockRate: number;
  private maxSeq = 0;
  private cycles = 0;
  private baseSeq = 0;
  private badSeq = RTP_SEQ_MOD + 1;
  private probation = MIN_SEQUENTIAL;
  private received = 0;
  private expectedPrior = 0;
  private receivedPrior = 0;
  private transit = 0;
  private haveTransit = false;
  private jitterValue = 0;
  private lastSrMiddle = 0;
  private lastSrArrivalMs = 0;
  private started = false;

  constructor(ssrc: number, clockRate: number) {
    this.ssrc = ssrc;
    this.clockRate = clockRate;
  }

  private initSeq(seq: number): void {
    this.baseSeq = seq;
    this.maxSeq = seq;
    this.badSeq = RTP_SEQ_MOD + 1;
    this.cycles = 0;
    this.received = 0;
    this.receivedPrior = 0;
    this.expectedPrior = 0;
  }

  /** Feed every received packet; `arrivalMs` from a monotonic clock. */
  update(seq: number, rtpTimestamp: number, arrivalMs: number): boolean {
    if (!this.started) {
      this.started = true;
      this.initSeq(seq);
      this.maxSeq = seq - 1;
      this.probation = MIN_SEQUENTIAL;
    }
    const accepted = this.updateSeq(seq);
    if (accepted) this.updateJitter(rtpTimestamp, arrivalMs);
    return accepted;
  }

  private updateSeq(seq: number): boolean {
    const udelta = (seq - this.maxSeq) & 0xffff;
    if (this.probation) {
      if (seq === ((this.maxSeq + 1) & 0xffff)) {
        this.probation--;
        this.maxSeq = seq;
        if (this.probation === 0) {
          this.initSeq(seq);
          this.received++;
          return true;
        }
      } else {
        this.probation = MIN_SEQUENTIAL - 1;
        this.maxSeq = seq;
      }
      return false;
    }
    if (udelta < MAX_DROPOUT) {
      if (seq < this.maxSeq) this.cycles += RTP_SEQ_MOD;
      this.maxSeq = seq;
    } else if (udelta <= RTP_SEQ_MOD - MAX_MISORDER) {
      if (seq === this.badSeq) {
        this.initSeq(seq); // the source restarted: resync
      } else {
        this.badSeq = (seq + 1) & 0xffff;
        return false;
      }
    }
    // else: duplicate or reordered packet, counted
    this.received++;
    return true;
  }

  private updateJitter(rtpTimestamp: number, arrivalMs: number): void {
    const arrival = Math.round((arrivalMs * this.clockRate) / 1000);
    const transit = (arrival - rtpTimestamp) | 0;
    if (this.haveTransit) {
      const d = Math.abs((transit - this.transit) | 0);
      this.jitterValue += (d - this.jitterValue) / 16;
    }
    this.transit = transit;
    this.haveTransit = true;
  }

  /** Remember an SR from this source so our next report carries LSR/DLSR. */
  onSenderReport(ntpSeconds: number, ntpFraction: number, arrivalMs: number): void {
    this.lastSrMiddle = ntpMiddle32(ntpSeconds, ntpFraction);
    this.lastSrArrivalMs = arrivalMs;
  }

  get extendedHighestSeq(): number {
    return (this.cycles + this.maxSeq) >>> 0;
  }
  get expected(): number {
    return this.received === 0 && this.probation ? 0 : this.cycles + this.maxSeq - this.baseSeq + 1;
  }
  get packetsReceived(): number {
    return this.received;
  }
  get cumulativeLost(): number {
    return this.expected - this.received;
  }
  /** Interarrival jitter in timestamp units. */
  get jitter(): number {
    return this.jitterValue;
  }
  get jitterMs(): number {
    return (this.jitterValue * 1000) / this.clockRate;
  }

  /** Builds a report block and starts a new interval for the fraction-lost figure. */
  reportBlock(nowMs: number): ReportBlock {
    const expected = this.expected;
    const expectedInterval = expected - this.expectedPrior;
    const receivedInterval = this.received - this.receivedPrior;
    this.expectedPrior = expected;
    this.receivedPrior = this.received;
    const lostInterval = expectedInterval - receivedInterval;
    const fractionLost = expectedInterval === 0 || lostInterval <= 0 ? 0 : Math.floor((lostInterval << 8) / expectedInterval);
    return {
      ssrc: this.ssrc,
      fractionLost: Math.min(255, fractionLost),
      cumulativeLost: this.cumulativeLost,
      extendedHighestSeq: this.extendedHighestSeq,
      jitter: Math.floor(this.jitterValue),
      lastSr: this.lastSrMiddle,
      delaySinceLastSr: this.lastSrMiddle === 0 ? 0 : Math.floor(((nowMs - this.lastSrArrivalMs) / 1000) * 65536) >>> 0,
    };
  }
}
