/** The audit log (per tenant, append-only for the application) and tenant-less security events. */
import { and, desc, eq, gte, like, lt, sql, type SQL } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { auditLog, securityEvents } from '../schema.ts';
import { withoutTenant, withTenant } from '../tenant-scope.ts';
import { decodeCursor, encodeCursor, pageOf, type Page, type PageRequest } from './page.ts';

export interface AuditEntry { actor: string; action: string; target?: string; detail?: Record<string, unknown>; sourceIp?: string }

export async function audit(db: Database, tenantId: string, entry: AuditEntry): Promise<void> {
  await withTenant(db, tenantId, (tx) => auditInTx(tx, tenantId, entry));
}

/** `audit` inside a transaction the caller already holds in the tenant's scope (so the entry commits with its work). */
export async function auditInTx(tx: Tx, tenantId: string, entry: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({ tenantId, actor: entry.actor, action: entry.action, target: entry.target ?? null, detail: entry.detail ?? {}, sourceIp: entry.sourceIp ?? null });
}

export async function listAudit(db: Database, tenantId: string, limit = 100): Promise<(typeof auditLog.$inferSelect)[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(auditLog).orderBy(desc(auditLog.id)).limit(limit));
}

export type AuditRow = typeof auditLog.$inferSelect;

export interface AuditFilter {
  /** Exactly this actor ("user:<id>", "apikey:<id>", "operator:cli"...). */
  actor?: string | undefined;
  /** Exactly this action, or every action starting with the text before a trailing `*` ("recording.*"). */
  action?: string | undefined;
  /** At or after. */
  from?: Date | undefined;
  /** Before. */
  to?: Date | undefined;
}

/** The tenant's audit log, newest first, filtered, one page at a time (the cursor is the entry id). */
export async function listAuditPage(db: Database, tenantId: string, filter: AuditFilter, page: PageRequest): Promise<Page<AuditRow>> {
  const action = filter.action;
  const where: (SQL | undefined)[] = [
    filter.actor !== undefined ? eq(auditLog.actor, filter.actor) : undefined,
    action === undefined ? undefined
      : action.endsWith('*') ? like(auditLog.action, `${action.slice(0, -1).replace(/[\\%_]/g, (c) => `\\${c}`)}%`)
        : eq(auditLog.action, action),
    filter.from ? gte(auditLog.at, filter.from) : undefined,
    filter.to ? lt(auditLog.at, filter.to) : undefined,
    page.cursor !== undefined ? sql`${auditLog.id} < ${Number(decodeCursor(page.cursor, { key: 'int', id: 'int' })[1])}` : undefined,
  ];
  const found = await withTenant(db, tenantId, (tx) => tx.select().from(auditLog).where(and(...where)).orderBy(desc(auditLog.id)).limit(page.limit + 1));
  return pageOf(found, page.limit, (row) => encodeCursor(row.id, row.id));
}

export interface SecurityEvent { type: string; sourceIp?: string; detail?: Record<string, unknown> }

export async function recordSecurityEvent(db: Database, event: SecurityEvent): Promise<void> {
  await withoutTenant(db, async (tx) => {
    await tx.insert(securityEvents).values({ type: event.type, sourceIp: event.sourceIp ?? null, detail: event.detail ?? {} });
  });
}
