/** Tenants, API keys and users: creation and lookup, always inside a tenant scope. */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, sql } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { rows } from '../migrate.ts';
import { agents, apiKeys, tenants } from '../schema.ts';
import { withoutTenant, withTenant } from '../tenant-scope.ts';

export type Role = 'owner' | 'admin' | 'manager' | 'viewer';

export interface TenantRow {
  id: string; name: string; plan: string; retentionDays: number; maxConcurrentCalls: number; createdAt: Date;
  /** ISO 3166 alpha-2: where a contact's number written without + is read. */
  defaultCountry: string;
}

/** The plans and their recording retention (the seeds' "Data retention varies by plan"): the most a tenant may keep. */
export const PLAN_RETENTION_DAYS = { professional: 30, dental: 90, 'real-estate': 365 } as const;
export type Plan = keyof typeof PLAN_RETENTION_DAYS;
export const PLANS = Object.keys(PLAN_RETENTION_DAYS) as Plan[];

/** The plan's retention maximum in days; undefined for a name that is not a plan. */
export function planRetentionDays(plan: string): number | undefined {
  return Object.hasOwn(PLAN_RETENTION_DAYS, plan) ? PLAN_RETENTION_DAYS[plan as Plan] : undefined;
}

/** A new tenant; `maxConcurrentCalls` (a positive whole number) defaults to the column's 20. */
export async function createTenant(db: Database, input: { name: string; plan?: string; maxConcurrentCalls?: number }): Promise<TenantRow> {
  const plan = input.plan ?? 'professional';
  const retentionDays = planRetentionDays(plan);
  if (retentionDays === undefined) throw new Error(`unknown plan "${plan}" (professional, dental or real-estate)`);
  const max = input.maxConcurrentCalls;
  if (max !== undefined && (!Number.isInteger(max) || max < 1)) throw new RangeError('the concurrent call limit must be a positive whole number');
  const id = randomUUID();
  return withTenant(db, id, async (tx) => {
    const [row] = await tx.insert(tenants).values({ id, name: input.name, plan, retentionDays, ...(max !== undefined ? { maxConcurrentCalls: max } : {}) }).returning();
    return row!;
  });
}

export async function getTenant(db: Database, tenantId: string): Promise<TenantRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(tenants).where(eq(tenants.id, tenantId)))[0]);
}

/** Changes the tenant's name, retention (checked against the plan by the caller) and/or default country (checked by the caller). Undefined: no such tenant. */
export async function updateTenant(
  db: Database, tenantId: string, changes: { name?: string | undefined; retentionDays?: number | undefined; defaultCountry?: string | undefined },
): Promise<TenantRow | undefined> {
  const set = {
    ...(changes.name !== undefined ? { name: changes.name } : {}),
    ...(changes.retentionDays !== undefined ? { retentionDays: changes.retentionDays } : {}),
    ...(changes.defaultCountry !== undefined ? { defaultCountry: changes.defaultCountry } : {}),
  };
  if (Object.keys(set).length === 0) return getTenant(db, tenantId);
  return withTenant(db, tenantId, async (tx) => (await tx.update(tenants).set(set).where(eq(tenants.id, tenantId)).returning())[0]);
}

/**
 * Moves the tenant to another plan in one transaction: a retention at the old
 * plan's maximum follows the plan to its maximum, a shorter one is kept up to
 * the new maximum, and agents' retention overrides above it come down to it.
 */
export async function changeTenantPlan(db: Database, tenantId: string, plan: Plan): Promise<{ tenant: TenantRow; agentsClamped: number } | undefined> {
  const max = PLAN_RETENTION_DAYS[plan];
  return withTenant(db, tenantId, async (tx) => {
    const [current] = await tx.select().from(tenants).where(eq(tenants.id, tenantId)).for('update');
    if (!current) return undefined;
    const oldMax = planRetentionDays(current.plan);
    const retentionDays = current.retentionDays === oldMax ? max : Math.min(current.retentionDays, max);
    const [tenant] = await tx.update(tenants).set({ plan, retentionDays }).where(eq(tenants.id, tenantId)).returning();
    const clamped = await tx.update(agents).set({ retentionDays: max }).where(and(eq(agents.tenantId, tenantId), gt(agents.retentionDays, max))).returning({ id: agents.id });
    return { tenant: tenant!, agentsClamped: clamped.length };
  });
}

export async function listTenantIds(db: Database): Promise<string[]> {
  return withoutTenant(db, async (tx) => rows<{ id: string }>(await tx.execute(sql`select smartalex_tenant_ids() as id`)).map((r) => r.id));
}

/** API keys look like `sak_<prefix>_<secret>`; only the prefix and a SHA-256 of the whole key are stored. */
export interface IssuedApiKey { id: string; prefix: string; key: string }

const hashKey = (key: string): string => createHash('sha256').update(key).digest('hex');

export async function issueApiKey(db: Database, tenantId: string, input: { name: string; role: Role }): Promise<IssuedApiKey> {
  return withTenant(db, tenantId, (tx) => issueApiKeyInTx(tx, tenantId, input));
}

/** `issueApiKey` inside a transaction the caller holds in the tenant's scope. */
export async function issueApiKeyInTx(tx: Tx, tenantId: string, input: { name: string; role: Role }): Promise<IssuedApiKey> {
  const prefix = `sak_${randomBytes(6).toString('base64url')}`;
  const key = `${prefix}_${randomBytes(32).toString('base64url')}`;
  const [row] = await tx.insert(apiKeys).values({ tenantId, name: input.name, prefix, keyHash: hashKey(key), role: input.role }).returning({ id: apiKeys.id });
  return { id: row!.id, prefix, key };
}

export interface ApiPrincipal { tenantId: string; keyId: string; prefix: string; role: Role }

/** Checks a presented API key; undefined when unknown, revoked, past its rotation grace (expires_at) or wrong (indistinguishably). */
export async function authenticateApiKey(db: Database, presented: string, now: Date = new Date()): Promise<ApiPrincipal | undefined> {
  const match = /^(sak_[A-Za-z0-9_-]{8})_[A-Za-z0-9_-]{43}$/.exec(presented);
  if (!match) return undefined;
  const prefix = match[1]!;
  const found = await withoutTenant(db, async (tx) =>
    rows<{ tenant_id: string; key_id: string; key_hash: string; role: Role; revoked: boolean; expires_at: string | Date | null }>(
      await tx.execute(sql`select * from smartalex_find_api_key(${prefix})`),
    )[0]);
  if (!found || found.revoked) return undefined;
  if (found.expires_at !== null && new Date(found.expires_at).getTime() <= now.getTime()) return undefined;
  const expected = Buffer.from(found.key_hash, 'hex');
  const actual = Buffer.from(hashKey(presented), 'hex');
  if (!timingSafeEqual(expected, actual)) return undefined;
  return { tenantId: found.tenant_id, keyId: found.key_id, prefix, role: found.role };
}
