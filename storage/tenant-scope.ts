/**
 * The one way the application reaches tenant data (DESIGN.md: "Tenant context
 * is explicit"). Opens a transaction, switches to the runtime role, and sets
 * app.tenant_id transaction-locally with set_config(..., true), so the setting
 * cannot leak to the next user of a pooled connection. The set_config
 * statement goes with the transaction's BEGIN on embedded PGlite
 * (Database.transactionWithSetup), so it adds no round trip.
 */
import { sql } from 'drizzle-orm';
import type { Database, Tx } from './database.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class TenantScopeError extends Error {
  override name = 'TenantScopeError';
}

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export async function withTenant<T>(db: Database, tenantId: string, work: (tx: Tx) => Promise<T>): Promise<T> {
  if (!isUuid(tenantId)) throw new TenantScopeError('tenant id must be a UUID');
  // set_config('role', ..., true) is SET LOCAL ROLE (same membership check).
  return db.transactionWithSetup(sql`select set_config('role', ${db.appRole}, true), set_config('app.tenant_id', ${tenantId}, true)`, work);
}

/** Runtime-role work with no tenant set: the directory functions and security events only. */
export async function withoutTenant<T>(db: Database, work: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transactionWithSetup(sql`select set_config('role', ${db.appRole}, true)`, work);
}
