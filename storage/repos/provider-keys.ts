/**
 * A tenant's own provider API keys (tenant_provider_keys). The key is sealed
 * with the tenant's current key from the key ring (AAD binds tenant id and
 * provider) before it reaches the database; listing returns provider names and
 * dates only. Every read and write goes through withTenant.
 */
import { and, asc, eq } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { tenantProviderKeys } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import type { KeyRing } from '../vault/keys.ts';

export const PROVIDER_KEY_PROVIDERS = ['deepgram', 'openai'] as const;
export type ProviderKeyProvider = (typeof PROVIDER_KEY_PROVIDERS)[number];

export function isProviderKeyProvider(value: string): value is ProviderKeyProvider {
  return (PROVIDER_KEY_PROVIDERS as readonly string[]).includes(value);
}

/** What a listing shows: never the key. */
export interface ProviderKeyInfo { provider: ProviderKeyProvider; createdAt: Date }

/** A stored row as the loader needs it: still sealed. */
export interface SealedProviderKey { provider: ProviderKeyProvider; sealed: Buffer; keyId: string }

type SecretSealer = Pick<KeyRing, 'sealTenantSecret'>;

function sealLabel(provider: ProviderKeyProvider): string {
  return `provider-key/${provider}`;
}

/** Seals `apiKey` with the tenant's current key and stores it, replacing any earlier key for the provider. */
export async function setProviderKey(db: Database, keyRing: SecretSealer, tenantId: string, provider: ProviderKeyProvider, apiKey: string): Promise<void> {
  if (!isProviderKeyProvider(provider)) throw new Error(`unknown provider "${String(provider)}" (expected ${PROVIDER_KEY_PROVIDERS.join(' or ')})`);
  if (apiKey.length === 0) throw new Error('the provider API key is empty');
  const plain = Buffer.from(apiKey, 'utf8');
  let sealed: { sealed: Buffer; keyId: string };
  try {
    sealed = await keyRing.sealTenantSecret(tenantId, sealLabel(provider), plain);
  } finally {
    plain.fill(0);
  }
  await withTenant(db, tenantId, async (tx) => {
    await tx.insert(tenantProviderKeys)
      .values({ tenantId, provider, sealed: sealed.sealed, keyId: sealed.keyId })
      .onConflictDoUpdate({
        target: [tenantProviderKeys.tenantId, tenantProviderKeys.provider],
        set: { sealed: sealed.sealed, keyId: sealed.keyId, createdAt: new Date() },
      });
  });
}

/** True when a key was removed. */
export async function removeProviderKey(db: Database, tenantId: string, provider: ProviderKeyProvider): Promise<boolean> {
  return withTenant(db, tenantId, async (tx) => {
    const gone = await tx.delete(tenantProviderKeys)
      .where(and(eq(tenantProviderKeys.tenantId, tenantId), eq(tenantProviderKeys.provider, provider)))
      .returning({ provider: tenantProviderKeys.provider });
    return gone.length > 0;
  });
}

/** Provider names and dates only. */
export async function listProviderKeys(db: Database, tenantId: string): Promise<ProviderKeyInfo[]> {
  const found = await withTenant(db, tenantId, (tx) =>
    tx.select({ provider: tenantProviderKeys.provider, createdAt: tenantProviderKeys.createdAt })
      .from(tenantProviderKeys).orderBy(asc(tenantProviderKeys.provider)));
  return found.filter((r): r is ProviderKeyInfo => isProviderKeyProvider(r.provider));
}

/** The sealed rows, for the loader that unseals them (src/agents/tenant-keys.ts). */
export async function getSealedProviderKeys(db: Database, tenantId: string): Promise<SealedProviderKey[]> {
  const found = await withTenant(db, tenantId, (tx) =>
    tx.select({ provider: tenantProviderKeys.provider, sealed: tenantProviderKeys.sealed, keyId: tenantProviderKeys.keyId })
      .from(tenantProviderKeys));
  return found.filter((r): r is SealedProviderKey => isProviderKeyProvider(r.provider));
}

/** Unseals one stored row; throws (KeyDestroyedError, WrongKeyError, ...) when it cannot. */
export async function unsealProviderKey(keyRing: Pick<KeyRing, 'unsealTenantSecret'>, tenantId: string, row: SealedProviderKey): Promise<string> {
  const plain = await keyRing.unsealTenantSecret(tenantId, sealLabel(row.provider), row.keyId, row.sealed);
  try {
    return plain.toString('utf8');
  } finally {
    plain.fill(0);
  }
}

/**
 * After a tenant key rotation: re-seals every stored provider key that an
 * older tenant key version sealed under the current one (same AAD, creation
 * date kept), so the older versions can be retired. Returns what was
 * re-sealed and the providers whose key could not be (the old version must
 * then be kept).
 */
export async function resealProviderKeys(
  db: Database, keyRing: Pick<KeyRing, 'sealTenantSecret' | 'unsealTenantSecret'>, tenantId: string, currentKeyId: string,
): Promise<{ resealed: number; failed: ProviderKeyProvider[] }> {
  let resealed = 0;
  const failed: ProviderKeyProvider[] = [];
  for (const row of await getSealedProviderKeys(db, tenantId)) {
    if (row.keyId === currentKeyId) continue;
    try {
      const plain = await keyRing.unsealTenantSecret(tenantId, sealLabel(row.provider), row.keyId, row.sealed);
      let sealed: { sealed: Buffer; keyId: string };
      try {
        sealed = await keyRing.sealTenantSecret(tenantId, sealLabel(row.provider), plain);
      } finally {
        plain.fill(0);
      }
      if (sealed.keyId !== currentKeyId) throw new Error(`tenant ${tenantId} has a newer key than ${currentKeyId}`);
      await withTenant(db, tenantId, async (tx) => {
        await tx.update(tenantProviderKeys).set({ sealed: sealed.sealed, keyId: sealed.keyId })
          .where(and(eq(tenantProviderKeys.provider, row.provider), eq(tenantProviderKeys.keyId, row.keyId)));
      });
      resealed++;
    } catch {
      failed.push(row.provider);
    }
  }
  return { resealed, failed };
}
