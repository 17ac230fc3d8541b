/**
 * RTP packets (RFC 3550 section 5.1): parse and serialize. Parsing never
 * throws: a bad packet from the network is an expected event, so it returns a
 * reason instead ('too-short', 'bad-version', ...) that the session counts.
 * The parsed payload is a view into the received buffer (no copy).
 */

export const RTP_HEADER_BYTES = 12;

export interface RtpHeaderExtension {
  /** The 16-bit "defined by profile" field (0xBEDE for RFC 8285 one-byte headers). */
  profile: number;
  data: Uint8Array;
}

export interface RtpPacket {
  padding: boolean;
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrc: number[];
  extension?: RtpHeaderExtension;
  payload: Uint8Array;
}

export type RtpParseError = 'too-short' | 'bad-version' | 'bad-csrc' | 'bad-extension' | 'bad-padding';

export type RtpParseResult = { ok: true; packet: RtpPacket } | { ok: false; reason: RtpParseError };

const NO_CSRC: number[] = [];
Object.freeze(NO_CSRC);

/** Big-endian 32-bit read and write, shared with RTCP. */
export function u32(b: Uint8Array, o: number): number {
  return ((b[o]! << 24) | (b[o + 1]! << 16) | (b[o + 2]! << 8) | b[o + 3]!) >>> 0;
}

export function putU32(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 24) & 0xff;
  b[o + 1] = (v >>> 16) & 0xff;
  b[o + 2] = (v >>> 8) & 0xff;
  b[o + 3] = v & 0xff;
}

export function parseRtp(buf: Uint8Array): RtpParseResult {
  if (buf.length < RTP_HEADER_BYTES) return { ok: false, reason: 'too-short' };
  const b0 = buf[0]!;
  if (b0 >> 6 !== 2) return { ok: false, reason: 'bad-version' };
  const padding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  const b1 = buf[1]!;
  let offset = RTP_HEADER_BYTES + csrcCount * 4;
  if (offset > buf.length) return { ok: false, reason: 'bad-csrc' };
  let csrc = NO_CSRC;
  if (csrcCount > 0) {
    csrc = new Array<number>(csrcCount);
    for (let i = 0; i < csrcCount; i++) csrc[i] = u32(buf, RTP_HEADER_BYTES + i * 4);
  }
  let extension: RtpHeaderExtension | undefined;
  if (hasExtension) {
    if (offset + 4 > buf.length) return { ok: false, reason: 'bad-extension' };
    const profile = (buf[offset]! << 8) | buf[offset + 1]!;
    const words = (buf[offset + 2]! << 8) | buf[offset + 3]!;
    const dataStart = offset + 4;
    const dataEnd = dataStart + words * 4;
    if (dataEnd > buf.length) return { ok: false, reason: 'bad-extension' };
    extension = { profile, data: buf.subarray(dataStart, dataEnd) };
    offset = dataEnd;
  }
  let end = buf.length;
  if (padding) {
    const padCount = buf[buf.length - 1]!;
    if (padCount === 0 || end - padCount < offset) return { ok: false, reason: 'bad-padding' };
    end -= padCount;
  }
  const packet: RtpPacket = {
    padding,
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: (buf[2]! << 8) | buf[3]!,
    timestamp: u32(buf, 4),
    ssrc: u32(buf, 8),
    csrc,
    payload: buf.subarray(offset, end),
  };
  if (extension) packet.extension = extension;
  return { ok: true, packet };
}

export interface RtpHeaderFields {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
}

/**
 * Writes a plain 12-byte header (no CSRC, extension or padding) at `offset`:
 * the hot-path form, used with a preallocated send buffer. Returns 12.
 */
export function writeRtpHeader(out: Uint8Array, offset: number, h: RtpHeaderFields): number {
  out[offset] = 0x80;
  out[offset + 1] = (h.marker ? 0x80 : 0) | (h.payloadType & 0x7f);
  out[offset + 2] = (h.sequenceNumber >> 8) & 0xff;
  out[offset + 3] = h.sequenceNumber & 0xff;
  putU32(out, offset + 4, h.timestamp >>> 0);
  putU32(out, offset + 8, h.ssrc >>> 0);
  return RTP_HEADER_BYTES;
}

export interface RtpPacketInit extends RtpHeaderFields {
  payload: Uint8Array;
  csrc?: number[];
  extension?: RtpHeaderExtension;
  /** Pad the packet to a multiple of this many bytes (e.g. 4); omitted means no padding. */
  padTo?: number;
}

/** Serializes a full packet into a new Buffer. */
export function serializeRtp(p: RtpPacketInit): Buffer {
  const csrc = p.csrc ?? NO_CSRC;
  if (csrc.length > 15) throw new RangeError('RTP allows at most 15 CSRCs');
  const ext = p.extension;
  if (ext && ext.data.length % 4 !== 0) throw new RangeError('RTP header extension data must be a multiple of 4 bytes');
  const headerLen = RTP_HEADER_BYTES + csrc.length * 4 + (ext ? 4 + ext.data.length : 0);
  const unpadded = headerLen + p.payload.length;
  let pad = 0;
  if (p.padTo && p.padTo > 1) {
    pad = (p.padTo - (unpadded % p.padTo)) % p.padTo;
  }
  const out = Buffer.alloc(unpadded + pad);
  writeRtpHeader(out, 0, p);
  out[0] = 0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | csrc.length;
  let o = RTP_HEADER_BYTES;
  for (const c of csrc) {
    putU32(out, o, c);
    o += 4;
  }
  if (ext) {
    out[o] = (ext.profile >> 8) & 0xff;
    out[o + 1] = ext.profile & 0xff;
    const words = ext.data.length / 4;
    out[o + 2] = (words >> 8) & 0xff;
    out[o + 3] = words & 0xff;
    out.set(ext.data, o + 4);
    o += 4 + ext.data.length;
  }
  out.set(p.payload, o);
  if (pad) out[out.length - 1] = pad;
  return out;
}

/** True when `a` comes after `b` in 16-bit sequence space (wraparound aware). */
export function seqNewer(a: number, b: number): boolean {
  return a !== b && ((a - b) & 0xffff) < 0x8000;
}

/** Signed distance a - b in 16-bit sequence space, in [-32768, 32767]. */
export function seqDiff(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/** Cheap pre-check for demultiplexing: RTCP packet types 192..223 sit where RTP's marker+PT would (RFC 5761). */
export function looksLikeRtcp(buf: Uint8Array): boolean {
  return buf.length >= 8 && buf[0]! >> 6 === 2 && buf[1]! >= 192 && buf[1]! <= 223;
}
