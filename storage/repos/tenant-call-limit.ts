/**
 * The tenant's own concurrent call limit (tenants.max_concurrent_calls) as call admission reads it: every
 * new call asks, so the value is kept per opened database for TENANT_CALL_LIMIT_TTL_MS, and concurrent
 * askers for one tenant share one read.
 *
 * How stale it may be: a change written through this module's `setTenantMaxConcurrentCalls` (or
 * `forgetTenantCallLimit`) on this process's database handle is seen by the next call at once; that is
 * every change made on this node (the API, and the CLI, which runs inside `serve` over its admin socket).
 * Another node (or a CLI process of its own against a Postgres server) sees it within
 * TENANT_CALL_LIMIT_TTL_MS, until then admitting by the old value.
 */
import { eq } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { tenants } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';

export const TENANT_CALL_LIMIT_TTL_MS = 5_000;

interface Entry { limit: number | undefined; expiresAt: number }

class TenantCallLimitCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<number | undefined>>();
  /** Bumped by every forget: a read that began before it does not store its (maybe older) answer. */
  private readonly generations = new Map<string, number>();

  constructor(private readonly db: Database, private readonly now: () => number = Date.now) {}

  get(tenantId: string): Promise<number | undefined> {
    const entry = this.entries.get(tenantId);
    if (entry && entry.expiresAt > this.now()) return Promise.resolve(entry.limit);
    const pending = this.loading.get(tenantId);
    if (pending) return pending;
    const generation = this.generations.get(tenantId) ?? 0;
    const load = readLimit(this.db, tenantId).then((limit) => {
      if ((this.generations.get(tenantId) ?? 0) === generation) this.entries.set(tenantId, { limit, expiresAt: this.now() + TENANT_CALL_LIMIT_TTL_MS });
      return limit;
    }).finally(() => { if (this.loading.get(tenantId) === load) this.loading.delete(tenantId); });
    this.loading.set(tenantId, load);
    return load;
  }

  forget(tenantId: string): void {
    this.entries.delete(tenantId);
    this.loading.delete(tenantId);
    this.generations.set(tenantId, (this.generations.get(tenantId) ?? 0) + 1);
  }
}

async function readLimit(db: Database, tenantId: string): Promise<number | undefined> {
  return withTenant(db, tenantId, async (tx) =>
    (await tx.select({ limit: tenants.maxConcurrentCalls }).from(tenants).where(eq(tenants.id, tenantId)))[0]?.limit);
}

const caches = new WeakMap<Database, TenantCallLimitCache>();

function cacheOf(db: Database): TenantCallLimitCache {
  let cache = caches.get(db);
  if (!cache) {
    cache = new TenantCallLimitCache(db);
    caches.set(db, cache);
  }
  return cache;
}

/** The tenant's own concurrent call limit (cached, see the header); undefined when there is no such tenant. */
export function tenantCallLimit(db: Database, tenantId: string): Promise<number | undefined> {
  return cacheOf(db).get(tenantId);
}

/** Drops the cached limit: the next call of the tenant reads it again. */
export function forgetTenantCallLimit(db: Database, tenantId: string): void {
  cacheOf(db).forget(tenantId);
}

/** Sets the tenant's own concurrent call limit (a positive whole number); the previous value, undefined when there is no such tenant. */
export async function setTenantMaxConcurrentCalls(db: Database, tenantId: string, maxConcurrentCalls: number): Promise<{ before: number; after: number } | undefined> {
  if (!Number.isInteger(maxConcurrentCalls) || maxConcurrentCalls < 1) throw new RangeError('the concurrent call limit must be a positive whole number');
  try {
    return await withTenant(db, tenantId, async (tx) => {
      const [current] = await tx.select({ limit: tenants.maxConcurrentCalls }).from(tenants).where(eq(tenants.id, tenantId)).for('update');
      if (!current) return undefined;
      await tx.update(tenants).set({ maxConcurrentCalls }).where(eq(tenants.id, tenantId));
      return { before: current.limit, after: maxConcurrentCalls };
    });
  } finally {
    forgetTenantCallLimit(db, tenantId);
  }
}
