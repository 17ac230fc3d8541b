/**
 * Per-agent web-widget keys (widget_keys, 0014_widget_keys.sql). The key is
 * public (a customer's page embeds it), so it is stored as it is; what guards
 * it lives in the route that uses it (origin allowlist, rate limits) and here
 * (revocation). Tenant reads and writes go through withTenant; the public
 * route finds a key before any tenant is known through the directory function
 * smartalex_find_widget_key, one exact key at a time.
 */
import { randomBytes } from 'node:crypto';
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { rows } from '../migrate.ts';
import { widgetKeys } from '../schema.ts';
import { withTenant, withoutTenant } from '../tenant-scope.ts';
import { afterTimestamp, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';

export type WidgetKeyRow = typeof widgetKeys.$inferSelect;

/** `saw_` and 24 base64url characters (144 random bits): unguessable, though not secret. */
export const WIDGET_KEY_PATTERN = /^saw_[A-Za-z0-9_-]{24}$/;

export async function createWidgetKey(
  db: Database, tenantId: string, input: { agentId: string; allowedOrigins: string[]; name?: string | undefined; createdBy: string },
): Promise<WidgetKeyRow> {
  const key = `saw_${randomBytes(18).toString('base64url')}`;
  return withTenant(db, tenantId, async (tx) => (await tx.insert(widgetKeys).values({
    tenantId, agentId: input.agentId, key, allowedOrigins: input.allowedOrigins, name: input.name ?? null, createdBy: input.createdBy,
  }).returning())[0]!);
}

/** The agent's keys (revoked ones too), oldest first, one page at a time. */
export async function listWidgetKeysPage(db: Database, tenantId: string, agentId: string, page: PageRequest): Promise<Page<WidgetKeyRow & { createdMicros: string }>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ row: widgetKeys, createdMicros: micros(widgetKeys.createdAt) }).from(widgetKeys)
    .where(and(eq(widgetKeys.agentId, agentId), afterTimestamp(widgetKeys.createdAt, widgetKeys.id, page.cursor, 'asc')))
    .orderBy(asc(widgetKeys.createdAt), asc(widgetKeys.id)).limit(page.limit + 1));
  return pageOf(found.map((r) => ({ ...r.row, createdMicros: r.createdMicros })), page.limit, (r) => encodeCursor(r.createdMicros, r.id));
}

/** Revokes the agent's key; undefined when the tenant has no such key or it was revoked already. */
export async function revokeWidgetKey(db: Database, tenantId: string, agentId: string, keyId: string, at: Date): Promise<WidgetKeyRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.update(widgetKeys).set({ revokedAt: at })
    .where(and(eq(widgetKeys.id, keyId), eq(widgetKeys.agentId, agentId), isNull(widgetKeys.revokedAt))).returning())[0]);
}

export interface FoundWidgetKey { tenantId: string; keyId: string; agentId: string; allowedOrigins: string[] }

/** The live key `presented` names, across tenants; undefined when it is malformed, unknown or revoked (indistinguishably). */
export async function findWidgetKey(db: Database, presented: string): Promise<FoundWidgetKey | undefined> {
  if (!WIDGET_KEY_PATTERN.test(presented)) return undefined;
  const found = await withoutTenant(db, async (tx) => rows<{ tenant_id: string; key_id: string; agent_id: string; allowed_origins: string[]; revoked: boolean }>(
    await tx.execute(sql`select * from smartalex_find_widget_key(${presented})`))[0]);
  if (!found || found.revoked) return undefined;
  return { tenantId: found.tenant_id, keyId: found.key_id, agentId: found.agent_id, allowedOrigins: found.allowed_origins };
}
