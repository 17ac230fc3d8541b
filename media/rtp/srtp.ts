/**
 * The SRTP and SRTCP packet transform (RFC 3711) for SDES-keyed calls
 * (RFC 4568), with two suites:
 *
 *  - AES_CM_128_HMAC_SHA1_80 (RFC 3711 4.1.1, 4.2.1): AES-128 in counter
 *    mode, IV = (salt << 16) ^ (SSRC << 64) ^ (index << 16); an 80-bit
 *    HMAC-SHA1 tag over the packet and the rollover counter (RTP) or over the
 *    packet and its E||SRTCP-index word (RTCP);
 *  - AEAD_AES_256_GCM (RFC 7714): AES-256-GCM, 96-bit IV = (00 00 || SSRC ||
 *    ROC || SEQ) ^ salt for RTP, (00 00 || SSRC || 00 00 || index) ^ salt for
 *    RTCP; the header (and for RTCP the E||index word) is the associated
 *    data; a 16-byte tag.
 *
 * Session keys come from the master key and salt through the AES-CM key
 * derivation of RFC 3711 4.3 (key derivation rate 0: derived once). Each
 * direction is one SrtpContext; the receiving one estimates the 48-bit packet
 * index from the sequence number and its rollover counter (RFC 3711 3.3.1,
 * Appendix A), updates them only for packets that authenticate, and refuses
 * replays with a 128-packet window (3.3.2). SRTCP carries its own 31-bit index.
 *
 * Hand-written on node:crypto (AES-CTR, HMAC-SHA1, AES-GCM): the npm SRTP
 * packages wrap libsrtp natively or are unmaintained. Keys are Buffers held
 * only here; nothing in this module logs, and no error message carries key
 * material or packet content.
 */
import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto';

export type SrtpSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AEAD_AES_256_GCM';

export interface SrtpSuiteInfo {
  /** Master key and master salt lengths, in bytes (the a=crypto inline key is both, concatenated). */
  masterKeyBytes: number;
  masterSaltBytes: number;
  /** Authentication tag appended to each packet. */
  tagBytes: number;
}

export const SRTP_SUITES: Readonly<Record<SrtpSuite, SrtpSuiteInfo>> = {
  AES_CM_128_HMAC_SHA1_80: { masterKeyBytes: 16, masterSaltBytes: 14, tagBytes: 10 },
  AEAD_AES_256_GCM: { masterKeyBytes: 32, masterSaltBytes: 12, tagBytes: 16 },
};

/** Key derivation labels (RFC 3711 4.3.1, 4.3.2). */
export const SRTP_LABEL = { rtpKey: 0, rtpAuth: 1, rtpSalt: 2, rtcpKey: 3, rtcpAuth: 4, rtcpSalt: 5 } as const;

/** Why a packet was refused (never anything about its content or the keys). */
export type SrtpRefusal = 'too-short' | 'auth-failed' | 'replayed' | 'too-old';

export class SrtpError extends Error {
  override name = 'SrtpError';
  constructor(readonly reason: SrtpRefusal) {
    super(`SRTP packet refused: ${reason}`);
  }
}

const REPLAY_WINDOW = 128;
const HMAC_SHA1_AUTH_KEY_BYTES = 20;

function aesCtr(key: Buffer): string {
  return key.length === 32 ? 'aes-256-ctr' : key.length === 24 ? 'aes-192-ctr' : 'aes-128-ctr';
}

/** The AES-CM PRF of RFC 3711 4.3.1 with key derivation rate 0: `length` bytes for `label`. */
export function deriveSessionKey(masterKey: Uint8Array, masterSalt: Uint8Array, label: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.set(masterSalt.subarray(0, 14));
  iv[7]! ^= label; // key_id = label || r (r = 0), aligned right in the 112-bit salt field
  const key = Buffer.from(masterKey);
  const cipher = createCipheriv(aesCtr(key), key, iv);
  return Buffer.concat([cipher.update(Buffer.alloc(length)), cipher.final()]).subarray(0, length);
}

export interface SrtpSessionKeys {
  /** Encryption key. */
  key: Buffer;
  /** Session salt (14 bytes for AES-CM, 12 for GCM). */
  salt: Buffer;
  /** HMAC-SHA1 key (AES-CM suites only). */
  auth?: Buffer;
}

/** RTP and RTCP session keys of one direction, derived from its master key and salt. */
export function deriveSessionKeys(suite: SrtpSuite, masterKey: Uint8Array, masterSalt: Uint8Array): { rtp: SrtpSessionKeys; rtcp: SrtpSessionKeys } {
  const info = SRTP_SUITES[suite];
  if (masterKey.length !== info.masterKeyBytes || masterSalt.length !== info.masterSaltBytes) {
    throw new RangeError(`${suite} needs a ${info.masterKeyBytes}-byte master key and a ${info.masterSaltBytes}-byte salt`);
  }
  const keys = (enc: number, auth: number, salt: number): SrtpSessionKeys => {
    const out: SrtpSessionKeys = {
      key: deriveSessionKey(masterKey, masterSalt, enc, info.masterKeyBytes),
      salt: deriveSessionKey(masterKey, masterSalt, salt, info.masterSaltBytes),
    };
    if (suite === 'AES_CM_128_HMAC_SHA1_80') out.auth = deriveSessionKey(masterKey, masterSalt, auth, HMAC_SHA1_AUTH_KEY_BYTES);
    return out;
  };
  return { rtp: keys(SRTP_LABEL.rtpKey, SRTP_LABEL.rtpAuth, SRTP_LABEL.rtpSalt), rtcp: keys(SRTP_LABEL.rtcpKey, SRTP_LABEL.rtcpAuth, SRTP_LABEL.rtcpSalt) };
}

/** Bytes of an RTP header with its CSRCs and extension; -1 when the packet is shorter than that. */
function rtpHeaderLength(p: Uint8Array): number {
  if (p.length < 12) return -1;
  let n = 12 + 4 * (p[0]! & 0x0f);
  if (p[0]! & 0x10) {
    if (p.length < n + 4) return -1;
    n += 4 + 4 * ((p[n + 2]! << 8) | p[n + 3]!);
  }
  return n <= p.length ? n : -1;
}

/** The AES-CM IV of RFC 3711 4.1.1 for a 48-bit index (RTP) or 31-bit SRTCP index. */
function cmIv(salt: Buffer, ssrc: number, index: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.set(salt.subarray(0, 14));
  iv[4]! ^= ssrc >>> 24; iv[5]! ^= (ssrc >>> 16) & 0xff; iv[6]! ^= (ssrc >>> 8) & 0xff; iv[7]! ^= ssrc & 0xff;
  const high = Math.floor(index / 0x100000000);
  const low = index >>> 0;
  iv[8]! ^= (high >>> 8) & 0xff; iv[9]! ^= high & 0xff;
  iv[10]! ^= low >>> 24; iv[11]! ^= (low >>> 16) & 0xff; iv[12]! ^= (low >>> 8) & 0xff; iv[13]! ^= low & 0xff;
  return iv;
}

/** The GCM IV of RFC 7714 8.1 (RTP: ROC and SEQ) and 9.1 (RTCP: the SRTCP index). */
function gcmIv(salt: Buffer, ssrc: number, high: number, low16or32: number, rtcp: boolean): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(ssrc >>> 0, 2);
  if (rtcp) iv.writeUInt32BE(low16or32 >>> 0, 8);
  else {
    iv.writeUInt32BE(high >>> 0, 6);
    iv.writeUInt16BE(low16or32 & 0xffff, 10);
  }
  for (let i = 0; i < 12; i++) iv[i]! ^= salt[i]!;
  return iv;
}

/** AES-GCM of the key's size (the suite is AES-256; RFC 7714's AES-128 vectors run through the same code). */
function gcmName(key: Buffer): 'aes-128-gcm' | 'aes-256-gcm' {
  return key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm';
}

function ctr(keys: SrtpSessionKeys, iv: Buffer, data: Uint8Array): Buffer {
  const c = createCipheriv(aesCtr(keys.key), keys.key, iv);
  return Buffer.concat([c.update(data), c.final()]);
}

function hmac80(keys: SrtpSessionKeys, ...parts: Uint8Array[]): Buffer {
  const h = createHmac('sha1', keys.auth!);
  for (const p of parts) h.update(p);
  return h.digest().subarray(0, 10);
}

/** The replay window of one stream (RFC 3711 3.3.2): indexes seen within the last REPLAY_WINDOW of the highest. */
class ReplayWindow {
  private highest = -1;
  private readonly seen = new Float64Array(REPLAY_WINDOW).fill(-1);

  check(index: number): SrtpRefusal | undefined {
    if (this.highest >= 0 && index <= this.highest - REPLAY_WINDOW) return 'too-old';
    if (this.seen[index % REPLAY_WINDOW] === index) return 'replayed';
    return undefined;
  }

  accept(index: number): void {
    this.seen[index % REPLAY_WINDOW] = index;
    if (index > this.highest) this.highest = index;
  }
}

/** Receive state of one SSRC: the highest sequence number and rollover counter (RFC 3711 3.3.1). */
interface ReceiveStream {
  roc: number;
  highestSeq: number;
  rtp: ReplayWindow;
  rtcp: ReplayWindow;
}

/** Send state of one SSRC. */
interface SendStream {
  roc: number;
  lastSeq: number;
  rtcpIndex: number;
}

/** RFC 3711 Appendix A: the rollover counter a received sequence number most likely belongs to. */
function estimateRoc(stream: ReceiveStream, seq: number): number {
  const { roc, highestSeq } = stream;
  if (highestSeq < 32768) return seq - highestSeq > 32768 && roc > 0 ? roc - 1 : roc;
  return highestSeq - 32768 > seq ? roc + 1 : roc;
}

/**
 * One direction of an SRTP session: protect (outgoing) or unprotect (incoming) RTP and RTCP packets.
 * Use one context per direction (each has its own master key in SDES).
 */
export class SrtpContext {
  readonly suite: SrtpSuite;
  private readonly rtpKeys: SrtpSessionKeys;
  private readonly rtcpKeys: SrtpSessionKeys;
  private readonly tagBytes: number;
  private readonly sending = new Map<number, SendStream>();
  private readonly receiving = new Map<number, ReceiveStream>();

  constructor(suite: SrtpSuite, keys: { rtp: SrtpSessionKeys; rtcp: SrtpSessionKeys }) {
    this.suite = suite;
    this.rtpKeys = keys.rtp;
    this.rtcpKeys = keys.rtcp;
    this.tagBytes = SRTP_SUITES[suite].tagBytes;
  }

  /** A context keyed from the master key and salt (an SDES a=crypto inline key, decoded). */
  static fromMaster(suite: SrtpSuite, masterKey: Uint8Array, masterSalt: Uint8Array): SrtpContext {
    return new SrtpContext(suite, deriveSessionKeys(suite, masterKey, masterSalt));
  }

  private get gcm(): boolean {
    return this.suite === 'AEAD_AES_256_GCM';
  }

  /** An outgoing RTP packet, encrypted and tagged. `roc` overrides the tracked rollover counter (test vectors). */
  protectRtp(packet: Uint8Array, roc?: number): Buffer {
    const h = rtpHeaderLength(packet);
    if (h < 0) throw new SrtpError('too-short');
    const ssrc = readU32(packet, 8);
    const seq = (packet[2]! << 8) | packet[3]!;
    let s = this.sending.get(ssrc);
    if (!s) {
      s = { roc: 0, lastSeq: seq, rtcpIndex: 0 };
      this.sending.set(ssrc, s);
    } else if (seq < s.lastSeq && s.lastSeq - seq > 32768) s.roc = (s.roc + 1) >>> 0;
    s.lastSeq = seq;
    const useRoc = roc ?? s.roc;
    const header = packet.subarray(0, h);
    const payload = packet.subarray(h);
    const k = this.rtpKeys;
    if (this.gcm) {
      const c = createCipheriv(gcmName(k.key), k.key, gcmIv(k.salt, ssrc, useRoc, seq, false), { authTagLength: 16 });
      c.setAAD(header);
      return Buffer.concat([header, c.update(payload), c.final(), c.getAuthTag()]);
    }
    const encrypted = Buffer.concat([header, ctr(k, cmIv(k.salt, ssrc, useRoc * 65536 + seq), payload)]);
    return Buffer.concat([encrypted, hmac80(k, encrypted, u32(useRoc))]);
  }

  /** An incoming SRTP packet, authenticated and decrypted; throws SrtpError (too short, forged, replayed). */
  unprotectRtp(packet: Uint8Array): Buffer {
    const h = rtpHeaderLength(packet);
    if (h < 0 || packet.length < h + this.tagBytes) throw new SrtpError('too-short');
    const ssrc = readU32(packet, 8);
    const seq = (packet[2]! << 8) | packet[3]!;
    let s = this.receiving.get(ssrc);
    const fresh = !s;
    if (!s) s = { roc: 0, highestSeq: seq, rtp: new ReplayWindow(), rtcp: new ReplayWindow() };
    const roc = fresh ? 0 : estimateRoc(s, seq);
    const index = roc * 65536 + seq;
    const refusal = s.rtp.check(index);
    if (refusal) throw new SrtpError(refusal);
    const header = packet.subarray(0, h);
    const body = packet.subarray(h, packet.length - this.tagBytes);
    const tag = packet.subarray(packet.length - this.tagBytes);
    const k = this.rtpKeys;
    let plain: Buffer;
    if (this.gcm) {
      const d = createDecipheriv(gcmName(k.key), k.key, gcmIv(k.salt, ssrc, roc, seq, false), { authTagLength: 16 });
      d.setAAD(header);
      d.setAuthTag(tag);
      try {
        plain = Buffer.concat([header, d.update(body), d.final()]);
      } catch {
        throw new SrtpError('auth-failed');
      }
    } else {
      const expected = hmac80(k, packet.subarray(0, packet.length - this.tagBytes), u32(roc));
      if (!timingSafeEqual(expected, tag)) throw new SrtpError('auth-failed');
      plain = Buffer.concat([header, ctr(k, cmIv(k.salt, ssrc, index), body)]);
    }
    // Only an authenticated packet moves the stream's state (RFC 3711 3.3.1).
    if (fresh) this.receiving.set(ssrc, s);
    s.rtp.accept(index);
    if (roc > s.roc || (roc === s.roc && seq > s.highestSeq) || fresh) {
      s.roc = roc;
      s.highestSeq = seq;
    }
    return plain;
  }

  /** An outgoing RTCP packet (compound), encrypted, with its E||index word and tag. `index` overrides the counter (test vectors). */
  protectRtcp(packet: Uint8Array, index?: number): Buffer {
    if (packet.length < 8) throw new SrtpError('too-short');
    const ssrc = readU32(packet, 4);
    let s = this.sending.get(ssrc);
    if (!s) {
      s = { roc: 0, lastSeq: -1, rtcpIndex: 0 };
      this.sending.set(ssrc, s);
    }
    const i = index ?? s.rtcpIndex;
    s.rtcpIndex = (i + 1) & 0x7fffffff;
    const eIndex = u32((0x80000000 | i) >>> 0);
    const first = packet.subarray(0, 8);
    const rest = packet.subarray(8);
    const k = this.rtcpKeys;
    if (this.gcm) {
      const c = createCipheriv(gcmName(k.key), k.key, gcmIv(k.salt, ssrc, 0, i, true), { authTagLength: 16 });
      c.setAAD(Buffer.concat([first, eIndex]));
      return Buffer.concat([first, c.update(rest), c.final(), c.getAuthTag(), eIndex]);
    }
    const encrypted = Buffer.concat([first, ctr(k, cmIv(k.salt, ssrc, i), rest), eIndex]);
    return Buffer.concat([encrypted, hmac80(k, encrypted)]);
  }

  /** An incoming SRTCP packet, authenticated and (when its E flag says so) decrypted; throws SrtpError. */
  unprotectRtcp(packet: Uint8Array): Buffer {
    const tagBytes = this.tagBytes;
    if (packet.length < 8 + 4 + tagBytes) throw new SrtpError('too-short');
    const ssrc = readU32(packet, 4);
    const k = this.rtcpKeys;
    // AES-CM: ... || E||index || tag. GCM (RFC 7714 9.2): ... || tag || E||index.
    const indexAt = this.gcm ? packet.length - 4 : packet.length - tagBytes - 4;
    const word = readU32(packet, indexAt);
    const encrypted = (word & 0x80000000) !== 0;
    const i = word & 0x7fffffff;
    let s = this.receiving.get(ssrc);
    const fresh = !s;
    if (!s) s = { roc: 0, highestSeq: 0, rtp: new ReplayWindow(), rtcp: new ReplayWindow() };
    const refusal = s.rtcp.check(i);
    if (refusal) throw new SrtpError(refusal);
    const first = packet.subarray(0, 8);
    let plain: Buffer;
    if (this.gcm) {
      const body = packet.subarray(8, packet.length - 4 - tagBytes);
      const tag = packet.subarray(packet.length - 4 - tagBytes, packet.length - 4);
      const d = createDecipheriv(gcmName(k.key), k.key, gcmIv(k.salt, ssrc, 0, i, true), { authTagLength: 16 });
      d.setAuthTag(tag);
      try {
        if (encrypted) {
          d.setAAD(Buffer.concat([first, packet.subarray(indexAt)]));
          plain = Buffer.concat([first, d.update(body), d.final()]);
        } else {
          // RFC 7714 9.2: without encryption the whole packet is associated data.
          d.setAAD(Buffer.concat([packet.subarray(0, 8 + body.length), packet.subarray(indexAt)]));
          d.final();
          plain = Buffer.from(packet.subarray(0, 8 + body.length));
        }
      } catch {
        throw new SrtpError('auth-failed');
      }
    } else {
      const expected = hmac80(k, packet.subarray(0, packet.length - tagBytes));
      if (!timingSafeEqual(expected, packet.subarray(packet.length - tagBytes))) throw new SrtpError('auth-failed');
      const body = packet.subarray(8, indexAt);
      plain = Buffer.concat([first, encrypted ? ctr(k, cmIv(k.salt, ssrc, i), body) : body]);
    }
    if (fresh) this.receiving.set(ssrc, s);
    s.rtcp.accept(i);
    return plain;
  }
}

function readU32(p: Uint8Array, o: number): number {
  return ((p[o]! << 24) | (p[o + 1]! << 16) | (p[o + 2]! << 8) | p[o + 3]!) >>> 0;
}

function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v >>> 0);
  return b;
}
