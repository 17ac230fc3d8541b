/** The audit log (per tenant, append-only for the application) and tenant-less security events. */
import { desc } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { auditLog, securityEvents } from '../schema.ts';
import { withoutTenant, withTenant } from '../tenant-scope.ts';

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

export interface SecurityEvent { type: string; sourceIp?: string; detail?: Record<string, unknown> }

export async function recordSecurityEvent(db: Database, event: SecurityEvent): Promise<void> {
  await withoutTenant(db, async (tx) => {
    await tx.insert(securityEvents).values({ type: event.type, sourceIp: event.sourceIp ?? null, detail: event.detail ?? {} });
  });
}
