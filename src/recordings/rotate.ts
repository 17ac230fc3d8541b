/**
 * Tenant key rotation for a tenant's stored recordings: a new tenant key
 * version, every recording's data key re-wrapped under it (only the header
 * key block is rewritten; audio is never re-encrypted) and the rows' key ids
 * updated. Audited. Master-key rotation is KeyRing.rotateMasterKey.
 */
import { audit, listRecordings, setRecordingKeyId, type Database } from '../../storage/index.ts';
import type { RecordingVault } from '../../storage/vault/index.ts';

export async function rotateTenantRecordingKey(db: Database, vault: RecordingVault, tenantId: string, actor: string): Promise<{ keyId: string; version: number; rewrapped: number }> {
  const rows = await listRecordings(db, tenantId, { limit: 1_000_000 });
  const present: string[] = [];
  for (const row of rows) if (await vault.store.stat({ tenantId, recordingId: row.id })) present.push(row.id);
  const rotated = await vault.rotateTenantKey(tenantId, present);
  for (const id of present) await setRecordingKeyId(db, tenantId, id, rotated.keyId);
  await audit(db, tenantId, { actor, action: 'tenant.key.rotated', detail: { version: rotated.version, rewrapped: rotated.rewrapped } });
  return { keyId: rotated.keyId, version: rotated.version, rewrapped: rotated.rewrapped };
}
