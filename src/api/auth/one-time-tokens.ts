/**
 * One-time tokens (invitations, setup links): `sai_<tenant id, 32 hex>_<256-bit secret>`.
 * The tenant part only says where to look (withTenant); the SHA-256 of the
 * whole token is what is stored and matched.
 */
import { createHash, randomBytes } from 'node:crypto';

export function newOneTimeToken(tenantId: string): { token: string; hash: string } {
  const token = `sai_${tenantId.replace(/-/g, '')}_${randomBytes(32).toString('base64url')}`;
  return { token, hash: hashOneTimeToken(token) };
}

export function hashOneTimeToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The tenant a token points at, or undefined when it is not shaped like one. */
export function tenantOfToken(token: string): string | undefined {
  const match = /^sai_([0-9a-f]{32})_[A-Za-z0-9_-]{43}$/.exec(token);
  if (!match) return undefined;
  const h = match[1]!;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
