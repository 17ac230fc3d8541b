/**
 * API key checks for the control plane (storage/repos/tenants.ts holds issuance
 * and the lookup): a rotated key stops at its expires_at, and each use updates
 * "last used" at most once a minute per key (remembered here, so a busy key
 * costs no extra write per request).
 */
import { authenticateApiKey, touchApiKey, type ApiPrincipal, type Database } from '../../../storage/index.ts';

const TOUCH_EVERY_MS = 60_000;
const touched = new Map<string, number>();

export async function authenticateApiKeyAt(db: Database, presented: string, now: Date): Promise<ApiPrincipal | undefined> {
  const key = await authenticateApiKey(db, presented, now);
  if (!key) return undefined;
  const last = touched.get(key.keyId);
  if (last === undefined || now.getTime() - last >= TOUCH_EVERY_MS || now.getTime() < last) {
    touched.set(key.keyId, now.getTime());
    if (touched.size > 10_000) touched.delete(touched.keys().next().value!);
    await touchApiKey(db, key.tenantId, key.keyId, now);
  }
  return key;
}
