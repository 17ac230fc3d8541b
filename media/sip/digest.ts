/**
 * SIP digest authentication (RFC 2617, RFC 7616 algorithms, RFC 8760 for SIP).
 *
 * Server side: stateless nonces (timestamp + random, HMAC-SHA256 signed, with
 * an expiry), one challenge per offered algorithm in the configured order,
 * qop=auth with nc/cnonce, verification against stored HA1 hashes (passwords
 * are never stored), constant-time comparison, stale=true for an expired
 * nonce, and a memory of nonce counts so a replayed nc is refused.
 *
 * Algorithms: only the offered ones are accepted, so an offer of SHA-256 alone
 * refuses an MD5 answer even with the right password. The shipped default
 * (DEFAULT_DIGEST_ALGORITHMS) is MD5 alone: deployed UAs cannot answer
 * SHA-256, and not all of them skip a challenge they cannot answer: baresip
 * (libre) fails the whole 401 with ENOSYS as soon as one of its challenges
 * names SHA-256, whatever the order (tested in test/e2e/baresip.test.ts), and
 * SIPp answers only the first. Offering SHA-256 (RFC 8760) too, or alone, is
 * a per-number or server setting for trunks whose UAs support it.
 *
 * Replay memory: every nonce that authenticated a request is remembered, with
 * its highest nc, until the nonce itself expires (then checkNonce answers
 * 'stale' before the memory is consulted, so forgetting it is safe). Its size
 * is bounded by the nonce lifetime (successful authentications within one
 * lifetime), never by a count that a busy peer could push an entry out of.
 * Client side: the Authorization/Proxy-Authorization value for a challenge.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { parseAuthValue, quote } from './header-values.ts';

export type DigestAlgorithm = 'MD5' | 'SHA-256';

/** The interop default: MD5 first for UAs that answer only the first challenge or know only MD5, SHA-256 for those that can. */
export const DEFAULT_DIGEST_ALGORITHMS: readonly DigestAlgorithm[] = ['MD5'];

/**
 * "MD5,SHA-256" (case-insensitive, spaces around commas allowed) -> ['MD5', 'SHA-256'].
 * Throws one line for an empty list, an unknown name or a repeated one.
 */
export function parseDigestAlgorithms(text: string): DigestAlgorithm[] {
  const names = text.split(',').map((n) => n.trim());
  if (names.length === 0 || names.some((n) => n === '')) throw new Error(`digest algorithms must be a comma-separated list of MD5 and SHA-256, got "${text}"`);
  const out: DigestAlgorithm[] = [];
  for (const name of names) {
    const algorithm = name.toUpperCase() === 'MD5' ? 'MD5' : name.toUpperCase() === 'SHA-256' ? 'SHA-256' : undefined;
    if (!algorithm) throw new Error(`unknown digest algorithm "${name}" (known: MD5, SHA-256)`);
    if (out.includes(algorithm)) throw new Error(`digest algorithm ${algorithm} is listed twice in "${text}"`);
    out.push(algorithm);
  }
  return out;
}

function hash(algorithm: DigestAlgorithm, text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(text, 'utf8').digest('hex');
}

function normalizeAlgorithm(a: string | undefined): DigestAlgorithm | undefined {
  const up = (a ?? 'MD5').toUpperCase();
  return up === 'MD5' ? 'MD5' : up === 'SHA-256' ? 'SHA-256' : undefined;
}

/** HA1 = H(user:realm:password): what a credential store keeps instead of the password. */
export function ha1(algorithm: DigestAlgorithm, user: string, realm: string, password: string): string {
  return hash(algorithm, `${user}:${realm}:${password}`);
}

/** The digest `response` value. With qop, nc and cnonce are required. */
export function digestResponse(p: {
  algorithm: DigestAlgorithm; ha1: string; nonce: string; method: string; uri: string;
  qop?: string; nc?: string; cnonce?: string;
}): string {
  const ha2 = hash(p.algorithm, `${p.method}:${p.uri}`);
  if (p.qop) return hash(p.algorithm, `${p.ha1}:${p.nonce}:${p.nc}:${p.cnonce}:${p.qop}:${ha2}`);
  return hash(p.algorithm, `${p.ha1}:${p.nonce}:${ha2}`);
}

function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ab.length !== bb.length) {
    timingSafeEqual(ab, ab); // keep the timing shape similar
    return false;
  }
  return timingSafeEqual(ab, bb);
}

// ---------------------------------------------------------------- server

/** Looks up the stored HA1 for a user, for the algorithm the client used; undefined when unknown. */
export type Ha1Lookup = (username: string, realm: string, algorithm: DigestAlgorithm) => string | undefined | Promise<string | undefined>;

export interface DigestServerOptions {
  realm: string;
  /** HMAC key for nonces; random per process when omitted (nonces then do not survive a restart). */
  secret?: Buffer;
  /** Nonce lifetime; default 5 minutes. */
  nonceTtlMs?: number;
  /** Offered (and accepted) algorithms, in order, unless a call names its own. Default DEFAULT_DIGEST_ALGORITHMS. */
  algorithms?: readonly DigestAlgorithm[];
  now?: () => number;
}

export type DigestVerifyResult =
  | { ok: true; username: string; algorithm: DigestAlgorithm }
  | { ok: false; reason: string; stale: boolean; username?: string };

export interface ChallengeHeaders {
  name: 'WWW-Authenticate' | 'Proxy-Authenticate';
  values: string[];
}

export class DigestServer {
  readonly realm: string;
  private readonly secret: Buffer;
  private readonly ttlMs: number;
  private readonly algorithms: readonly DigestAlgorithm[];
  private readonly now: () => number;
  /** Nonce -> highest nc seen and when the nonce was issued; entries leave when the nonce expires. */
  private readonly seenNc = new Map<string, { nc: number; issuedAt: number }>();
  private nextSweepAt = 0;

  constructor(options: DigestServerOptions) {
    this.realm = options.realm;
    this.secret = options.secret ?? randomBytes(32);
    this.ttlMs = options.nonceTtlMs ?? 300_000;
    this.algorithms = options.algorithms ?? DEFAULT_DIGEST_ALGORITHMS;
    this.now = options.now ?? Date.now;
  }

  createNonce(): string {
    const body = `${this.now().toString(36)}.${randomBytes(12).toString('base64url')}`;
    return `${body}.${this.sign(body)}`;
  }

  private sign(body: string): string {
    return createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 32);
  }

  /** 'valid', 'stale' (signed by us but expired) or 'invalid'. */
  checkNonce(nonce: string): 'valid' | 'stale' | 'invalid' {
    const issued = this.nonceIssuedAt(nonce);
    if (issued === undefined) return 'invalid';
    const age = this.now() - issued;
    if (age < -60_000) return 'invalid';
    return this.expired(issued) ? 'stale' : 'valid';
  }

  /** When one of our nonces was issued; undefined for anything we did not sign. */
  private nonceIssuedAt(nonce: string): number | undefined {
    const parts = nonce.split('.');
    if (parts.length !== 3) return undefined;
    const body = `${parts[0]}.${parts[1]}`;
    if (!safeEqual(this.sign(body), parts[2]!)) return undefined;
    const issued = parseInt(parts[0]!, 36);
    return Number.isFinite(issued) ? issued : undefined;
  }

  private expired(issuedAt: number): boolean {
    return this.now() - issuedAt > this.ttlMs;
  }

  /** Nonces in the replay memory (each until it expires). */
  get trackedNonces(): number {
    return this.seenNc.size;
  }

  /**
   * One challenge per offered algorithm, in order (`algorithms` overrides the server's list for this
   * request, e.g. a number that requires SHA-256). `proxy` selects Proxy-Authenticate (407).
   */
  challenge(options: { stale?: boolean; proxy?: boolean; algorithms?: readonly DigestAlgorithm[] } = {}): ChallengeHeaders {
    const values = (options.algorithms ?? this.algorithms).map((algorithm) =>
      `Digest realm=${quote(this.realm)}, nonce=${quote(this.createNonce())}, algorithm=${algorithm}, qop="auth"${options.stale ? ', stale=true' : ''}`);
    return { name: options.proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate', values };
  }

  /**
   * Verifies an Authorization / Proxy-Authorization value for a request.
   * `uri` is the Request-URI the credentials must be for. Only `algorithms` (default: the server's
   * list) are accepted: an MD5 answer to a SHA-256-only number is refused whatever its password.
   */
  async verify(
    request: { method: string; uri: string; authorization: string | undefined }, lookup: Ha1Lookup,
    options: { algorithms?: readonly DigestAlgorithm[] } = {},
  ): Promise<DigestVerifyResult> {
    const accepted = options.algorithms ?? this.algorithms;
    if (!request.authorization) return { ok: false, reason: 'no credentials', stale: false };
    const auth = parseAuthValue(request.authorization);
    if (!auth || auth.scheme.toLowerCase() !== 'digest') return { ok: false, reason: 'not a digest credential', stale: false };
    const p = auth.params;
    const username = p.username;
    if (!username || !p.nonce || !p.response || !p.uri || p.realm === undefined) return { ok: false, reason: 'incomplete credentials', stale: false };
    const algorithm = normalizeAlgorithm(p.algorithm);
    if (!algorithm || !accepted.includes(algorithm)) return { ok: false, reason: 'unsupported algorithm', stale: false, username };
    if (p.realm !== this.realm) return { ok: false, reason: 'wrong realm', stale: false, username };
    if (p.uri !== request.uri) return { ok: false, reason: 'credential uri does not match the Request-URI', stale: false, username };
    const nonceState = this.checkNonce(p.nonce);
    if (nonceState === 'invalid') return { ok: false, reason: 'invalid nonce', stale: false, username };
    if (p.qop !== undefined && (p.qop !== 'auth' || !p.nc || !/^[0-9a-fA-F]{8}$/.test(p.nc) || !p.cnonce)) {
      return { ok: false, reason: 'bad qop parameters', stale: false, username };
    }
    const stored = await lookup(username, this.realm, algorithm);
    if (!stored) return { ok: false, reason: 'unknown user', stale: false, username };
    const expected = digestResponse({ algorithm, ha1: stored, nonce: p.nonce, method: request.method, uri: p.uri, qop: p.qop, nc: p.nc, cnonce: p.cnonce });
    if (!safeEqual(expected, p.response.toLowerCase())) return { ok: false, reason: 'wrong credentials', stale: false, username };
    // Correct credentials on an expired nonce: ask again with stale=true, no new password prompt needed.
    if (nonceState === 'stale') return { ok: false, reason: 'nonce expired', stale: true, username };
    const nc = p.qop ? parseInt(p.nc!, 16) : 0;
    const last = this.seenNc.get(p.nonce);
    if (last !== undefined && nc <= last.nc) return { ok: false, reason: 'replayed nonce count', stale: false, username };
    this.rememberNc(p.nonce, nc);
    return { ok: true, username, algorithm };
  }

  private rememberNc(nonce: string, nc: number): void {
    this.forgetExpired();
    this.seenNc.set(nonce, { nc, issuedAt: this.nonceIssuedAt(nonce)! });
  }

  /** Drops the nonces that have expired; a full pass at most every fifth of a lifetime, so none outlives its nonce by more. */
  private forgetExpired(): void {
    const now = this.now();
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + Math.max(1, Math.floor(this.ttlMs / 5));
    for (const [nonce, entry] of this.seenNc) if (this.expired(entry.issuedAt)) this.seenNc.delete(nonce);
  }
}

// ---------------------------------------------------------------- client

export interface DigestChallenge {
  realm: string;
  nonce: string;
  algorithm: DigestAlgorithm;
  qop?: string;
  opaque?: string;
  stale: boolean;
}

/** Picks the strongest supported challenge among WWW-/Proxy-Authenticate values (SHA-256 over MD5). */
export function pickChallenge(values: readonly string[]): DigestChallenge | undefined {
  const parsed: DigestChallenge[] = [];
  for (const v of values) {
    const a = parseAuthValue(v);
    if (!a || a.scheme.toLowerCase() !== 'digest' || !a.params.nonce || a.params.realm === undefined) continue;
    const algorithm = normalizeAlgorithm(a.params.algorithm);
    if (!algorithm) continue;
    const qops = (a.params.qop ?? '').split(',').map((q) => q.trim());
    const c: DigestChallenge = { realm: a.params.realm, nonce: a.params.nonce, algorithm, stale: a.params.stale?.toLowerCase() === 'true' };
    if (qops.includes('auth')) c.qop = 'auth';
    if (a.params.opaque !== undefined) c.opaque = a.params.opaque;
    parsed.push(c);
  }
  return parsed.find((c) => c.algorithm === 'SHA-256') ?? parsed[0];
}

/** Builds the Authorization (or Proxy-Authorization) value answering a challenge. */
export function buildAuthorization(challenge: DigestChallenge, p: {
  method: string; uri: string; username: string; password: string; nc?: number; cnonce?: string;
}): string {
  const nc = (p.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = p.cnonce ?? randomBytes(12).toString('hex');
  const secret = ha1(challenge.algorithm, p.username, challenge.realm, p.password);
  const response = digestResponse({ algorithm: challenge.algorithm, ha1: secret, nonce: challenge.nonce, method: p.method, uri: p.uri, qop: challenge.qop, nc, cnonce });
  let out = `Digest username=${quote(p.username)}, realm=${quote(challenge.realm)}, nonce=${quote(challenge.nonce)}, uri=${quote(p.uri)}, response=${quote(response)}, algorithm=${challenge.algorithm}`;
  if (challenge.qop) out += `, qop=${challenge.qop}, nc=${nc}, cnonce=${quote(cnonce)}`;
  if (challenge.opaque !== undefined) out += `, opaque=${quote(challenge.opaque)}`;
  return out;
}
