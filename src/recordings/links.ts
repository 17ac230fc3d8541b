/**
 * Minting recording links (CLI and API share this) and naming who used one.
 * A link is tenant-bound, expires (default 15 minutes) and is signed with the
 * HKDF-derived link secret (storage/vault/links.ts). The signature is a bearer
 * credential until it expires, so audit rows carry only its fingerprint
 * (`link:<16 hex>`), the same at minting and at every use, which ties an
 * access back to whoever minted the link.
 */
import { createHash } from 'node:crypto';
import { audit, getRecording, isUuid, type Database } from '../../storage/index.ts';
import { DEFAULT_LINK_TTL_MS, signRecordingLink } from '../../storage/vault/index.ts';

export class RecordingLinkError extends Error {
  override name = 'RecordingLinkError';
  constructor(readonly status: 400 | 404, message: string) { super(message); }
}

/** `link:` + the first 16 hex digits of SHA-256 of the signature. */
export function linkActor(sig: string | undefined): string {
  if (!sig) return 'link:unsigned';
  return `link:${createHash('sha256').update(sig).digest('hex').slice(0, 16)}`;
}

/** Shorter links are refused: exp is whole seconds, so a link of a second or so could be dead on arrival. */
export const MIN_LINK_TTL_MS = 10_000;

/** "90s", "15m", "2h", "1d", plain seconds as text, or a whole number of seconds -> milliseconds. Anything else: a 400. */
export function parseTtl(text: unknown): number {
  if (typeof text === 'number') {
    if (!Number.isSafeInteger(text) || text <= 0) throw new RecordingLinkError(400, 'ttl must be a whole, positive number of seconds, or look like 90s, 15m, 2h or 1d');
    return text * 1000;
  }
  if (typeof text !== 'string') throw new RecordingLinkError(400, 'ttl must be a number of seconds or a string like 90s, 15m, 2h or 1d');
  const match = /^(\d{1,7})(s|m|h|d)?$/.exec(text.trim());
  if (!match || Number(match[1]) === 0) throw new RecordingLinkError(400, `ttl must look like 90s, 15m, 2h or 1d, got "${text}"`);
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[(match[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

export interface MintedLink {
  /** Path and query: `/v1/recordings/<tenant>/<recording>?exp=..&sig=..` */
  path: string;
  expiresAt: Date;
  /** The fingerprint audit rows use for this link. */
  linkId: string;
}

export interface MintLinkInput {
  tenantId: string;
  recordingId: string;
  ttlMs?: number;
  /** Largest lifetime allowed for this caller. */
  maxTtlMs: number;
  /** Who minted it: "operator:cli", "apikey:<id>". */
  actor: string;
  sourceIp?: string;
  now?: number;
}

/** Signs a link to an existing recording of the tenant and audits the minting. */
export async function mintRecordingLink(db: Database, secret: Buffer, input: MintLinkInput): Promise<MintedLink> {
  const ttlMs = input.ttlMs ?? DEFAULT_LINK_TTL_MS;
  if (!(ttlMs >= MIN_LINK_TTL_MS)) throw new RecordingLinkError(400, `ttl must be at least ${MIN_LINK_TTL_MS / 1000} seconds`);
  if (ttlMs > input.maxTtlMs) throw new RecordingLinkError(400, `ttl must be at most ${Math.floor(input.maxTtlMs / 60_000)} minutes`);
  if (!isUuid(input.recordingId) || !(await getRecording(db, input.tenantId, input.recordingId))) {
    throw new RecordingLinkError(404, 'recording not found');
  }
  const now = input.now ?? Date.now();
  const expiresAt = new Date(now + ttlMs);
  const path = signRecordingLink({ tenantId: input.tenantId, recordingId: input.recordingId, expiresAt }, secret, { now });
  const sig = new URL(path, 'http://link.invalid').searchParams.get('sig') ?? undefined;
  const linkId = linkActor(sig);
  await audit(db, input.tenantId, {
    actor: input.actor, action: 'recording.link.created', target: input.recordingId,
    detail: { link: linkId, expiresAt: new Date(Math.floor(expiresAt.getTime() / 1000) * 1000).toISOString() },
    ...(input.sourceIp ? { sourceIp: input.sourceIp } : {}),
  });
  return { path, expiresAt: new Date(Math.floor(expiresAt.getTime() / 1000) * 1000), linkId };
}
