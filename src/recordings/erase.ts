/**
 * Tenant erasure (GDPR right to erasure). Order matters: the tenant's keys
 * are destroyed first (crypto-shredding: every copy of its recordings,
 * backups included, becomes unreadable at that moment), then the recording
 * objects, then the tenant row, which cascades to every tenant table. The
 * tenant's audit log goes with it, so the erasure itself is kept as a
 * tenant-less security event (ids and counts only). Destroying the keys also
 * erases the wrapped bytes from the database files (table rewrite, WAL
 * retired); the result says whether that was complete and, if not, why.
 */
import { deleteTenantRecordingsAndRows, getTenant, recordSecurityEvent, type Database } from '../../storage/index.ts';
import type { KeyErasure, RecordingVault } from '../../storage/vault/index.ts';

export class TenantNotFoundError extends Error {
  override name = 'TenantNotFoundError';
}

export async function eraseTenant(db: Database, vault: RecordingVault, tenantId: string, actor: string): Promise<{ recordings: number; keyErasure: KeyErasure }> {
  if (!(await getTenant(db, tenantId))) throw new TenantNotFoundError(`no tenant ${tenantId}`);
  const keyErasure = await vault.keys.destroyTenantKey(tenantId);
  const { recordings } = await deleteTenantRecordingsAndRows(db, vault.store, tenantId);
  await recordSecurityEvent(db, {
    type: 'tenant.erased',
    detail: { tenantId, recordings, actor, keyBytesErased: keyErasure.complete, caveats: keyErasure.caveats },
  });
  return { recordings, keyErasure };
}
