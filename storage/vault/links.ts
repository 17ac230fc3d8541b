/**
 * Expiring recording links. A link is a URL path naming the tenant and the
 * recording plus `exp` (unix seconds) and `sig` = base64url HMAC-SHA256 over
 * a domain tag, tenant id, recording id and exp. Changing any of them, or
 * moving the link to another tenant, breaks the signature; it stops working at
 * `exp` (default 15 minutes). Verification compares in constant time and
 * answers ok, or why not: 'malformed', 'bad-signature', 'expired'. The same
 * scheme signs GDPR export downloads (purpose 'gdpr-export', its own domain tag).
 * Hand-written: it is one HMAC, and the format must match our HTTP route.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { isSafeId } from './ids.ts';

export const DEFAULT_LINK_TTL_MS = 15 * 60 * 1000;
/** Links longer-lived than this are refused at signing time. */
export const MAX_LINK_TTL_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_LINK_BASE_PATH = '/v1/recordings';
const MIN_SECRET_BYTES = 32;
const SIG_BYTES = 32;

export interface RecordingLinkClaims {
  tenantId: string;
  recordingId: string;
  /** When the link stops working; default now + 15 minutes. */
  expiresAt?: Date;
}

/**
 * What a link opens. The purpose is part of the signed text (domain separation): a recording link's
 * signature never verifies as an export download's, even for the same ids.
 */
export type LinkPurpose = 'recording' | 'gdpr-export';

export interface LinkOptions {
  /** Path prefix of the route serving recordings (default /v1/recordings). */
  basePath?: string;
  /** Default 'recording'. */
  purpose?: LinkPurpose;
  /** Clock, for tests (ms since epoch). */
  now?: number;
}

export type LinkVerification =
  | { ok: true; tenantId: string; recordingId: string; expiresAt: Date }
  | { ok: false; reason: 'expired' | 'bad-signature' | 'malformed' };

function secretBytes(secret: Buffer | string): Buffer {
  const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
  if (bytes.length < MIN_SECRET_BYTES) throw new RangeError(`recording link secret must be at least ${MIN_SECRET_BYTES} bytes`);
  return bytes;
}

function signature(secret: Buffer, tenantId: string, recordingId: string, exp: number, purpose: LinkPurpose = 'recording'): Buffer {
  return createHmac('sha256', secret).update(`smartalex-${purpose}-link/v1\n${tenantId}\n${recordingId}\n${exp}`).digest();
}

/** `<basePath>/<tenantId>/<recordingId>?exp=<unix s>&sig=<base64url>` */
export function signRecordingLink(claims: RecordingLinkClaims, secret: Buffer | string, opts: LinkOptions = {}): string {
  const { tenantId, recordingId } = claims;
  if (!isSafeId(tenantId) || !isSafeId(recordingId)) throw new RangeError('recording link needs a valid tenant id and recording id');
  const now = opts.now ?? Date.now();
  const expiresAtMs = claims.expiresAt?.getTime() ?? now + DEFAULT_LINK_TTL_MS;
  if (!Number.isFinite(expiresAtMs) || expiresAtMs <= now) throw new RangeError('recording link must expire in the future');
  if (expiresAtMs - now > MAX_LINK_TTL_MS) throw new RangeError('recording link lifetime exceeds 7 days');
  const exp = Math.floor(expiresAtMs / 1000);
  const sig = signature(secretBytes(secret), tenantId, recordingId, exp, opts.purpose).toString('base64url');
  return `${opts.basePath ?? DEFAULT_LINK_BASE_PATH}/${tenantId}/${recordingId}?exp=${exp}&sig=${sig}`;
}

export interface LinkParts {
  tenantId: string;
  recordingId: string;
  exp: string | undefined;
  sig: string | undefined;
}

/** Splits a signed path (or full URL) into its parts; null if it is not a recording link under basePath. */
export function parseRecordingLink(link: string, basePath = DEFAULT_LINK_BASE_PATH): LinkParts | null {
  let url: URL;
  try {
    url = new URL(link, 'http://link.invalid');
  } catch {
    return null;
  }
  const prefix = basePath.endsWith('/') ? basePath : basePath + '/';
  if (!url.pathname.startsWith(prefix)) return null;
  const rest = url.pathname.slice(prefix.length).split('/');
  if (rest.length !== 2) return null;
  return {
    tenantId: rest[0]!,
    recordingId: rest[1]!,
    exp: url.searchParams.get('exp') ?? undefined,
    sig: url.searchParams.get('sig') ?? undefined,
  };
}

/**
 * Checks a link, given either the path/URL or its parts (as an HTTP route
 * sees them: path params + query). Signature before expiry, so a forged link
 * is always 'bad-signature'.
 */
export function verifyRecordingLink(link: string | LinkParts, secret: Buffer | string, opts: LinkOptions = {}): LinkVerification {
  const parts = typeof link === 'string' ? parseRecordingLink(link, opts.basePath) : link;
  if (!parts || !isSafeId(parts.tenantId) || !isSafeId(parts.recordingId)) return { ok: false, reason: 'malformed' };
  const { exp, sig } = parts;
  if (!exp || !/^[1-9][0-9]{0,11}$/.test(exp) || !sig || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return { ok: false, reason: 'malformed' };
  const given = Buffer.from(sig, 'base64url');
  if (given.length !== SIG_BYTES || given.toString('base64url') !== sig) return { ok: false, reason: 'malformed' };
  const expected = signature(secretBytes(secret), parts.tenantId, parts.recordingId, Number(exp), opts.purpose);
  if (!timingSafeEqual(given, expected)) return { ok: false, reason: 'bad-signature' };
  const expiresAtMs = Number(exp) * 1000;
  if ((opts.now ?? Date.now()) >= expiresAtMs) return { ok: false, reason: 'expired' };
  return { ok: true, tenantId: parts.tenantId, recordingId: parts.recordingId, expiresAt: new Date(expiresAtMs) };
}
