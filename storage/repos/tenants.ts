/** Tenants, API keys and users: creation and lookup, always inside a tenant scope. */
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { rows } from '../migrate.ts';
import { apiKeys, tenants } from '../schema.ts';
import { withoutTenant, withTenant } from '../tenant-scope.ts';

export type Role = 'owner' | 'admin' | 'manager' | 'viewer';

export interface TenantRow { id: string; name: string; plan: string; retentionDays: number; maxConcurrentCalls: number }

const PLAN_RETENTION_DAYS: Record<string, number> = { professional: 30, dental: 90, 'real-estate': 365 };

export async function createTenant(db: Database, input: { name: string; plan?: string }): Promise<TenantRow> {
  const plan = input.plan ?? 'professional';
  const retentionDays = PLAN_RETENTION_DAYS[plan];
  if (retentionDays === undefined) throw new Error(`unknown plan "${plan}" (professional, dental or real-estate)`);
  const id = randomUUID();
  return withTenant(db, id, async (tx) => {
    const [row] = await tx.insert(tenants).values({ id, name: input.name, plan, retentionDays }).returning();
    return row!;
  });
}

export async function getTenant(db: Database, tenantId: string): Promise<TenantRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(tenants).where(eq(tenants.id, tenantId)))[0]);
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
