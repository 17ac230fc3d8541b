/**
 * SDES (RFC 4568): SRTP master keys in SDP a=crypto lines. Reads an offer's
 * crypto lines, picks the first one whose suite we support with a usable key
 * (AES_CM_128_HMAC_SHA1_80, AEAD_AES_256_GCM per RFC 7714; a single inline key
 * without an MKI, whose lifetime if given is at least 2^31), and makes our
 * answer's line with a fresh random key of the same suite under the same tag.
 * Keys are call secrets: they live in the negotiated result only and never
 * reach a log (the SIP layer redacts SDP from logs).
 */
import { randomBytes } from 'node:crypto';

export type SdesSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AEAD_AES_256_GCM';

/** Master key + salt bytes of each suite's inline key. */
const INLINE_BYTES: Readonly<Record<SdesSuite, number>> = { AES_CM_128_HMAC_SHA1_80: 30, AEAD_AES_256_GCM: 44 };
/** Our preference when an offer lists several usable lines: AEAD first. */
const PREFERENCE: readonly SdesSuite[] = ['AEAD_AES_256_GCM', 'AES_CM_128_HMAC_SHA1_80'];

export interface CryptoLine {
  id: number;
  suite: string;
  config: string;
  sessionConfig?: string;
}

export interface SdesChoice {
  suite: SdesSuite;
  tag: number;
  /** The offerer's master key || salt (base64): what it sends with. */
  remoteKey: string;
}

/** The inline key of a key-params string when it is one we can use (see the header), else undefined. */
function usableKey(suite: SdesSuite, config: string, sessionConfig: string | undefined): string | undefined {
  if (sessionConfig !== undefined && sessionConfig.trim() !== '') return undefined; // session parameters (UNENCRYPTED_SRTP...) we do not honour
  const params = config.split(';');
  if (params.length !== 1) return undefined; // several keys (MKIs)
  const m = /^inline:([A-Za-z0-9+/=]+)(?:\|([^|]+))?(?:\|([^|]+))?$/.exec(params[0]!.trim());
  if (!m) return undefined;
  const [, key, second, third] = m;
  const lifetime = second !== undefined && !second.includes(':') ? second : undefined;
  const mki = third ?? (second?.includes(':') ? second : undefined);
  if (mki !== undefined) return undefined;
  if (lifetime !== undefined) {
    const bits = /^2\^(\d+)$/.exec(lifetime);
    const n = bits ? 2 ** Number(bits[1]) : Number(lifetime);
    if (!Number.isFinite(n) || n < 2 ** 31) return undefined;
  }
  return Buffer.from(key!, 'base64').length === INLINE_BYTES[suite] ? key : undefined;
}

/** The crypto line of an offer we answer, or undefined when none is usable. */
export function chooseSdes(lines: readonly CryptoLine[]): SdesChoice | undefined {
  for (const suite of PREFERENCE) {
    for (const line of lines) {
      if (line.suite.toUpperCase() !== suite) continue;
      const key = usableKey(suite, line.config, line.sessionConfig);
      if (key) return { suite, tag: line.id, remoteKey: key };
    }
  }
  return undefined;
}

/** A fresh master key || salt for `suite`, base64 (the inline key of our a=crypto line). */
export function newSdesKey(suite: SdesSuite): string {
  return randomBytes(INLINE_BYTES[suite]).toString('base64');
}
