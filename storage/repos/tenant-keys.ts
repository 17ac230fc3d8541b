/**
 * PostgresTenantKeyStore: the vault's TenantKeyStore on the tenant_keys table.
 * One row per tenant key version, wrapped by the master key; every read and
 * write goes through withTenant, and the one cross-tenant walk (master-key
 * rotation) lists tenants through the directory first. Destroying a version
 * (tenant erasure, or retirement after a rotation) sets wrapped_key NULL and
 * stamps destroyed_at, keeping the row as a tombstone, then rewrites the table
 * and retires the WAL (physical-erasure.ts): Postgres keeps the old row
 * version with the wrapped bytes otherwise. Master-key rotation (rewrapAll)
 * is one runtime-role transaction that steps app.tenant_id through every
 * tenant of the directory, so RLS still scopes each statement to one tenant.
 */
import { and, asc, desc, eq, inArray, isNull, ne, sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { rows } from '../migrate.ts';
import { eraseDeadRowVersions } from '../physical-erasure.ts';
import { securityEvents, tenantKeys } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import type { KeyErasure, MasterKeyRotationRecord, StoredTenantKey, TenantKeyStore } from '../vault/keys.ts';
import { auditInTx } from './audit.ts';
import { listTenantIds } from './tenants.ts';

type Row = typeof tenantKeys.$inferSelect;

function fromRow(row: Row): StoredTenantKey {
  return {
    tenantId: row.tenantId,
    keyId: row.keyId,
    version: row.version,
    wrapped: row.wrappedKey ? Buffer.from(row.wrappedKey) : Buffer.alloc(0),
    masterKeyId: row.masterKeyId,
    createdAt: row.createdAt,
    destroyedAt: row.destroyedAt,
  };
}

export class PostgresTenantKeyStore implements TenantKeyStore {
  constructor(private readonly db: Database) {}

  async get(tenantId: string): Promise<StoredTenantKey | null> {
    const [row] = await withTenant(this.db, tenantId, (tx) =>
      tx.select().from(tenantKeys).where(eq(tenantKeys.tenantId, tenantId)).orderBy(desc(tenantKeys.version)).limit(1));
    return row ? fromRow(row) : null;
  }

  async getByKeyId(tenantId: string, keyId: string): Promise<StoredTenantKey | null> {
    const [row] = await withTenant(this.db, tenantId, (tx) =>
      tx.select().from(tenantKeys).where(and(eq(tenantKeys.tenantId, tenantId), eq(tenantKeys.keyId, keyId))));
    return row ? fromRow(row) : null;
  }

  /** Live keys of every tenant in the directory (erased tenants have none). */
  async listLive(): Promise<StoredTenantKey[]> {
    const out: StoredTenantKey[] = [];
    for (const tenantId of await listTenantIds(this.db)) {
      const live = await withTenant(this.db, tenantId, (tx) =>
        tx.select().from(tenantKeys).where(isNull(tenantKeys.destroyedAt)).orderBy(tenantKeys.version));
      out.push(...live.map(fromRow));
    }
    return out;
  }

  async versions(tenantId: string): Promise<StoredTenantKey[]> {
    const found = await withTenant(this.db, tenantId, (tx) =>
      tx.select().from(tenantKeys).where(eq(tenantKeys.tenantId, tenantId)).orderBy(asc(tenantKeys.version)));
    return found.map(fromRow);
  }

  async put(key: StoredTenantKey): Promise<void> {
    const values = {
      tenantId: key.tenantId,
      keyId: key.keyId,
      version: key.version,
      wrappedKey: key.destroyedAt ? null : Buffer.from(key.wrapped),
      masterKeyId: key.masterKeyId,
      createdAt: key.createdAt,
      destroyedAt: key.destroyedAt,
    };
    await withTenant(this.db, key.tenantId, async (tx) => {
      await tx.insert(tenantKeys).values(values).onConflictDoUpdate({
        target: [tenantKeys.tenantId, tenantKeys.keyId],
        set: { version: values.version, wrappedKey: values.wrappedKey, masterKeyId: values.masterKeyId, destroyedAt: values.destroyedAt },
      });
    });
  }

  async delete(tenantId: string): Promise<KeyErasure> {
    await withTenant(this.db, tenantId, async (tx) => {
      await tx.update(tenantKeys).set({ wrappedKey: null, destroyedAt: new Date() }).where(isNull(tenantKeys.destroyedAt));
      // A tenant that never had a key still gets a tombstone, so no key can be created for it later.
      const any = await tx.select({ keyId: tenantKeys.keyId }).from(tenantKeys).limit(1);
      if (!any.length) {
        await tx.insert(tenantKeys).values({ tenantId, keyId: 'destroyed', version: 0, wrappedKey: null, masterKeyId: 'none', destroyedAt: new Date() });
      }
    });
    return this.eraseDestroyedBytes();
  }

  async destroyVersions(tenantId: string, keyIds: readonly string[]): Promise<KeyErasure> {
    if (keyIds.length === 0) return { complete: true, caveats: [] };
    await withTenant(this.db, tenantId, async (tx) => {
      await tx.update(tenantKeys).set({ wrappedKey: null, destroyedAt: new Date() })
        .where(and(inArray(tenantKeys.keyId, [...keyIds]), isNull(tenantKeys.destroyedAt)));
    });
    return this.eraseDestroyedBytes();
  }

  /**
   * Every live version not wrapped by `toMasterKeyId` re-wrapped, each tenant's log told (action
   * master-key.rotated) and a tenant-less security event written, all in one transaction.
   */
  async rewrapAll(toMasterKeyId: string, rewrap: (row: StoredTenantKey) => Promise<Buffer>, record: MasterKeyRotationRecord): Promise<{ rewrapped: number; tenants: number }> {
    return this.db.transactionWithSetup(sql`select set_config('role', ${this.db.appRole}, true)`, async (tx) => {
      const tenantIds = rows<{ id: string }>(await tx.execute(sql`select smartalex_tenant_ids() as id`)).map((r) => r.id);
      let rewrapped = 0;
      let tenants = 0;
      const detail = { fromMasterKeyId: record.fromMasterKeyId, toMasterKeyId: record.toMasterKeyId };
      for (const tenantId of tenantIds) {
        await tx.execute(sql`select set_config('app.tenant_id', ${tenantId}, true)`);
        const live = await tx.select().from(tenantKeys)
          .where(and(eq(tenantKeys.tenantId, tenantId), isNull(tenantKeys.destroyedAt), ne(tenantKeys.masterKeyId, toMasterKeyId)))
          .orderBy(asc(tenantKeys.version));
        if (live.length === 0) continue;
        for (const row of live) {
          const wrapped = await rewrap(fromRow(row));
          await tx.update(tenantKeys).set({ wrappedKey: wrapped, masterKeyId: toMasterKeyId })
            .where(and(eq(tenantKeys.tenantId, tenantId), eq(tenantKeys.keyId, row.keyId), isNull(tenantKeys.destroyedAt)));
        }
        await auditInTx(tx, tenantId, { actor: record.actor, action: 'master-key.rotated', detail: { ...detail, versions: live.map((r) => r.version) } });
        rewrapped += live.length;
        tenants++;
      }
      await tx.insert(securityEvents).values({ type: 'master-key.rotated', detail: { ...detail, actor: record.actor, rewrapped, tenants } });
      return { rewrapped, tenants };
    });
  }

  /** The tombstoned rows' old versions, which still hold the wrapped bytes, out of the table files and the WAL. */
  private async eraseDestroyedBytes(): Promise<KeyErasure> {
    const done = await eraseDeadRowVersions(this.db, 'tenant_keys');
    return { complete: done.tableRewritten && done.statisticsErased && done.walPurged, caveats: done.caveats };
  }
}
