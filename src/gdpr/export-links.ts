/**
 * Download links for finished exports: the recording links' scheme
 * (storage/vault/links.ts: HMAC-SHA256 over tenant, id and expiry with the
 * HKDF-derived link secret, compared in constant time) with its own purpose
 * tag, so a recording link never opens an export nor the reverse. A link is
 * `/v1/gdpr/downloads/<tenant>/<export>?exp=..&sig=..`, valid 15 minutes.
 */
import { signRecordingLink, verifyRecordingLink, type LinkVerification } from '../../storage/vault/index.ts';

export const EXPORT_LINK_BASE_PATH = '/v1/gdpr/downloads';
export const EXPORT_LINK_TTL_MS = 15 * 60_000;

export function signExportLink(secret: Buffer, tenantId: string, exportId: string, now: Date, ttlMs = EXPORT_LINK_TTL_MS): { path: string; expiresAt: Date } {
  const expiresAt = new Date(Math.floor((now.getTime() + ttlMs) / 1000) * 1000);
  const path = signRecordingLink({ tenantId, recordingId: exportId, expiresAt }, secret, { now: now.getTime(), basePath: EXPORT_LINK_BASE_PATH, purpose: 'gdpr-export' });
  return { path, expiresAt };
}

export function verifyExportLink(
  parts: { tenantId: string; exportId: string; exp: string | undefined; sig: string | undefined }, secret: Buffer, now: Date,
): LinkVerification {
  return verifyRecordingLink({ tenantId: parts.tenantId, recordingId: parts.exportId, exp: parts.exp, sig: parts.sig }, secret, { now: now.getTime(), purpose: 'gdpr-export' });
}
