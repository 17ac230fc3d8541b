/**
 * Tenant key rotation for a tenant's stored data: a new tenant key version,
 * every recording's data key re-wrapped under it (only the header key block is
 * rewritten; audio is never re-encrypted) and the rows' key ids updated, the
 * tenant's sealed provider keys, carrier credentials, TOTP and webhook
 * secrets re-sealed, and then, when nothing is left that
 * an older version wrapped, the older versions destroyed (KeyRing.
 * retireOlderTenantKeys), so a rotation after a suspected compromise cuts the
 * old key off. If any re-wrap fails, the older versions are kept (and the
 * result says which and why); running the rotation again retries. Audited.
 * Master-key rotation is rotate-master.ts.
 */
import { audit, listRecordings, resealNumberCarriers, resealProviderKeys, resealTenantSecrets, setRecordingKeyId, type Database } from '../../storage/index.ts';
import { VaultError, type KeyErasure, type RecordingVault, type TenantKeyInfo } from '../../storage/vault/index.ts';

export interface TenantKeyRotation {
  keyId: string;
  version: number;
  rewrapped: number;
  /** Recordings whose data key could not be re-wrapped: they still name an older version. */
  failed: { recordingId: string; reason: string }[];
  providerKeysResealed: number;
  /** Providers whose sealed key could not be re-sealed. */
  providerKeysFailed: string[];
  /** Numbers' carrier credentials (media-stream webhooks) re-sealed, and the numbers (ids) whose credential could not be. */
  carrierCredentialsResealed: number;
  carrierCredentialsFailed: string[];
  /** Users' TOTP secrets and webhook signing secrets re-sealed, and what could not be (`kind/id`). */
  secretsResealed: number;
  secretsFailed: string[];
  /** Older versions destroyed by this rotation (none when something failed). */
  retired: Pick<TenantKeyInfo, 'keyId' | 'version'>[];
  /** Older versions kept because something they wrap could not be re-wrapped. */
  kept: Pick<TenantKeyInfo, 'keyId' | 'version'>[];
  /** How far the retired versions' wrapped bytes were erased from the database files; null when none were retired. */
  erasure: KeyErasure | null;
}

/** A recording that started just before the new version existed may add its row while the first pass runs. */
const PASSES = 3;

function failureReason(error: unknown): string {
  if (error instanceof VaultError) return error.code;
  return error instanceof Error ? error.name : 'ERROR';
}

export async function rotateTenantRecordingKey(db: Database, vault: RecordingVault, tenantId: string, actor: string): Promise<TenantKeyRotation> {
  const next = await vault.keys.rotateTenantKey(tenantId);
  const seen = new Set<string>();
  const failed: TenantKeyRotation['failed'] = [];
  let rewrapped = 0;
  for (let pass = 0; pass < PASSES; pass++) {
    const todo = (await listRecordings(db, tenantId, { limit: 1_000_000 })).filter((r) => r.keyId !== next.keyId && !seen.has(r.id));
    if (todo.length === 0) break;
    for (const row of todo) {
      seen.add(row.id);
      const ref = { tenantId, recordingId: row.id };
      // A row whose object is gone has nothing left to decrypt.
      if (!(await vault.store.stat(ref))) continue;
      try {
        if (await vault.rewrapRecording(ref, next.keyId)) rewrapped++;
        await setRecordingKeyId(db, tenantId, row.id, next.keyId);
      } catch (error) {
        failed.push({ recordingId: row.id, reason: failureReason(error) });
      }
    }
  }
  const providers = await resealProviderKeys(db, vault.keys, tenantId, next.keyId);
  const carriers = await resealNumberCarriers(db, vault.keys, tenantId, next.keyId);
  const secrets = await resealTenantSecrets(db, vault.keys, tenantId, next.keyId);
  await audit(db, tenantId, {
    actor, action: 'tenant.key.rotated',
    detail: {
      version: next.version, rewrapped, failed: failed.length, providerKeysResealed: providers.resealed, providerKeysFailed: providers.failed.length,
      carrierCredentialsResealed: carriers.resealed, carrierCredentialsFailed: carriers.failed.length,
      secretsResealed: secrets.resealed, secretsFailed: secrets.failed.length,
    },
  });

  const result: TenantKeyRotation = {
    keyId: next.keyId, version: next.version, rewrapped, failed,
    providerKeysResealed: providers.resealed, providerKeysFailed: providers.failed,
    carrierCredentialsResealed: carriers.resealed, carrierCredentialsFailed: carriers.failed,
    secretsResealed: secrets.resealed, secretsFailed: secrets.failed, retired: [], kept: [], erasure: null,
  };
  if (failed.length > 0 || providers.failed.length > 0 || carriers.failed.length > 0 || secrets.failed.length > 0) {
    result.kept = (await vault.keys.liveTenantKeys(tenantId)).filter((k) => k.keyId !== next.keyId).map(({ keyId, version }) => ({ keyId, version }));
    await audit(db, tenantId, {
      actor, action: 'tenant.key.retire.skipped',
      detail: { keptVersions: result.kept.map((k) => k.version), failedRecordings: failed.length, failedProviderKeys: providers.failed, failedCarrierCredentials: carriers.failed.length, failedSecrets: secrets.failed },
    });
    return result;
  }
  const { retired, erasure } = await vault.keys.retireOlderTenantKeys(tenantId, next.keyId);
  result.retired = retired.map(({ keyId, version }) => ({ keyId, version }));
  result.erasure = erasure;
  if (retired.length > 0) {
    await audit(db, tenantId, {
      actor, action: 'tenant.key.retired',
      detail: { versions: retired.map((k) => k.version), keyIds: retired.map((k) => k.keyId), bytesErased: erasure.complete, caveats: erasure.caveats },
    });
  }
  return result;
}
