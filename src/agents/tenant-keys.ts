/**
 * A tenant's own provider API keys, unsealed for one call's provider choice
 * (src/agents/provider-choice.ts prefers them over the server-wide keys). The keys
 * are never logged; a key that cannot be unsealed (tenant keys destroyed, a
 * different master key) is skipped, so the server-wide key applies instead.
 */
import { getSealedProviderKeys, unsealProviderKey, type Database } from '../../storage/index.ts';
import type { KeyRing } from '../../storage/vault/index.ts';
import type { TenantProviderKeys } from './provider-choice.ts';

export type TenantKeyUnsealer = Pick<KeyRing, 'unsealTenantSecret'>;

export interface LoadOptions {
  /** Called (with the provider name and the error's name only) when a stored key does not unseal. */
  onUnsealFailure?: (provider: string, errorName: string) => void;
}

export async function loadTenantProviderKeys(db: Database, keyRing: TenantKeyUnsealer, tenantId: string, options: LoadOptions = {}): Promise<TenantProviderKeys | undefined> {
  const out: TenantProviderKeys = {};
  for (const row of await getSealedProviderKeys(db, tenantId)) {
    let key: string;
    try {
      key = await unsealProviderKey(keyRing, tenantId, row);
    } catch (error) {
      options.onUnsealFailure?.(row.provider, error instanceof Error ? error.name : 'Error');
      continue;
    }
    if (row.provider === 'deepgram') out.deepgramApiKey = key;
    else out.openaiApiKey = key;
  }
  return out.deepgramApiKey !== undefined || out.openaiApiKey !== undefined ? out : undefined;
}

/**
 * A per-tenant cache in front of a loader (default 60 s), so the call path
 * costs one database round trip per tenant per minute. Concurrent calls for
 * one tenant share a load; a failed load is not cached.
 */
export function cachedTenantKeys(
  load: (tenantId: string) => Promise<TenantProviderKeys | undefined>,
  options: { ttlMs?: number; now?: () => number } = {},
): (tenantId: string) => Promise<TenantProviderKeys | undefined> {
  const ttlMs = options.ttlMs ?? 60_000;
  const now = options.now ?? Date.now;
  const entries = new Map<string, { at: number; value: Promise<TenantProviderKeys | undefined> }>();
  return (tenantId) => {
    const hit = entries.get(tenantId);
    if (hit && now() - hit.at < ttlMs) return hit.value;
    const value = load(tenantId);
    const entry = { at: now(), value };
    entries.set(tenantId, entry);
    value.catch(() => { if (entries.get(tenantId) === entry) entries.delete(tenantId); });
    return value;
  };
}
