/**
 * API key management for the control plane: list (never the key or its hash),
 * rotate (a new key with the same name and role; the old one keeps working
 * until its expires_at, the grace period), revoke, and "last used".
 * Issuance and the lookup are in tenants.ts.
 */
import { and, asc, eq, isNull, lt, or } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { apiKeys } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { issueApiKeyInTx, type IssuedApiKey } from './tenants.ts';

export type ApiKeyRow = Omit<typeof apiKeys.$inferSelect, 'keyHash'>;

const visible = {
  id: apiKeys.id, tenantId: apiKeys.tenantId, name: apiKeys.name, prefix: apiKeys.prefix, role: apiKeys.role,
  createdAt: apiKeys.createdAt, lastUsedAt: apiKeys.lastUsedAt, revokedAt: apiKeys.revokedAt, expiresAt: apiKeys.expiresAt,
};

/** Keys not revoked (expired-by-rotation ones included until they are revoked), oldest first. */
export async function listApiKeys(tx: Tx): Promise<ApiKeyRow[]> {
  return tx.select(visible).from(apiKeys).where(isNull(apiKeys.revokedAt)).orderBy(asc(apiKeys.createdAt), asc(apiKeys.id)).limit(500);
}

export async function getApiKey(tx: Tx, keyId: string): Promise<ApiKeyRow | undefined> {
  return (await tx.select(visible).from(apiKeys).where(eq(apiKeys.id, keyId)))[0];
}

/**
 * Issues a successor of `keyId` (same name and role) and makes the old key expire at `oldExpiresAt`;
 * undefined when the key is unknown, revoked or already rotated.
 */
export async function rotateApiKey(tx: Tx, tenantId: string, keyId: string, oldExpiresAt: Date): Promise<{ old: ApiKeyRow; issued: IssuedApiKey } | undefined> {
  const [old] = await tx.update(apiKeys).set({ expiresAt: oldExpiresAt })
    .where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt), isNull(apiKeys.expiresAt))).returning(visible);
  if (!old) return undefined;
  const issued = await issueApiKeyInTx(tx, tenantId, { name: old.name, role: old.role });
  return { old, issued };
}

export async function revokeApiKey(tx: Tx, keyId: string, now: Date): Promise<ApiKeyRow | undefined> {
  const [row] = await tx.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt))).returning(visible);
  return row;
}

/** Records a use; skipped when the recorded one is less than a minute old (one write per key per minute at most). */
export async function touchApiKey(db: Database, tenantId: string, keyId: string, now: Date): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    await tx.update(apiKeys).set({ lastUsedAt: now })
      .where(and(eq(apiKeys.id, keyId), or(isNull(apiKeys.lastUsedAt), lt(apiKeys.lastUsedAt, new Date(now.getTime() - 60_000)))));
  });
}
