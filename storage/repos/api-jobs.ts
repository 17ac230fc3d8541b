/**
 * Asynchronous API jobs (0011_api_jobs.sql), inside the tenant scope: a job is
 * written queued with a lease, claimed (running), its lease renewed while it
 * works, and finished (done, with its file and a summary) or failed. A job
 * whose lease ran out before it finished was interrupted (its process died):
 * `settleInterruptedJob` reports it failed, so no client waits forever. A
 * done job whose file's retention ended is `expired` (its file deleted).
 */
import { and, eq, inArray, lt } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { apiJobs } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { auditInTx, type AuditEntry } from './audit.ts';

export type ApiJobRow = typeof apiJobs.$inferSelect;
export type ApiJobState = 'queued' | 'running' | 'done' | 'failed' | 'expired';

export interface NewApiJob { kind: 'gdpr.export'; request: Record<string, unknown>; requestedBy: string; leaseUntil: Date }

/** Writes a queued job and its audit entry in one transaction. */
export async function insertApiJob(db: Database, tenantId: string, job: NewApiJob, entry: (id: string) => AuditEntry): Promise<ApiJobRow> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.insert(apiJobs).values({ tenantId, kind: job.kind, request: job.request, requestedBy: job.requestedBy, leaseUntil: job.leaseUntil }).returning();
    await auditInTx(tx, tenantId, entry(row!.id));
    return row!;
  });
}

export async function getApiJob(db: Database, tenantId: string, id: string): Promise<ApiJobRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(apiJobs).where(eq(apiJobs.id, id)))[0]);
}

/** Queued -> running; undefined when the job is not queued (someone else has it, or it is over). */
export async function claimApiJob(db: Database, tenantId: string, id: string, now: Date, leaseUntil: Date): Promise<ApiJobRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.update(apiJobs).set({ state: 'running', startedAt: now, leaseUntil })
    .where(and(eq(apiJobs.id, id), eq(apiJobs.state, 'queued'))).returning())[0]);
}

export async function renewApiJobLease(db: Database, tenantId: string, id: string, leaseUntil: Date): Promise<void> {
  await withTenant(db, tenantId, (tx) => tx.update(apiJobs).set({ leaseUntil }).where(and(eq(apiJobs.id, id), eq(apiJobs.state, 'running'))));
}

export async function finishApiJob(db: Database, tenantId: string, id: string, done: { filePath: string; result: Record<string, unknown>; at: Date }): Promise<void> {
  await withTenant(db, tenantId, (tx) => tx.update(apiJobs).set({ state: 'done', filePath: done.filePath, result: done.result, finishedAt: done.at, leaseUntil: null })
    .where(eq(apiJobs.id, id)));
}

/** `error` is a short code or class name, never a message that could quote data. */
export async function failApiJob(db: Database, tenantId: string, id: string, error: string, at: Date): Promise<void> {
  await withTenant(db, tenantId, (tx) => tx.update(apiJobs).set({ state: 'failed', error: error.slice(0, 200), finishedAt: at, leaseUntil: null })
    .where(and(eq(apiJobs.id, id), inArray(apiJobs.state, ['queued', 'running']))));
}

/** A queued or running job whose lease ran out is failed ("interrupted"); returns the row as it now stands. */
export async function settleInterruptedJob(db: Database, tenantId: string, id: string, now: Date): Promise<ApiJobRow | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    const [settled] = await tx.update(apiJobs).set({ state: 'failed', error: 'interrupted', finishedAt: now, leaseUntil: null })
      .where(and(eq(apiJobs.id, id), inArray(apiJobs.state, ['queued', 'running']), lt(apiJobs.leaseUntil, now))).returning();
    return settled ?? (await tx.select().from(apiJobs).where(eq(apiJobs.id, id)))[0];
  });
}

/** Done -> expired for one job finished before `finishedBefore`; returns the row as it now stands. */
export async function settleExpiredJob(db: Database, tenantId: string, id: string, finishedBefore: Date): Promise<ApiJobRow | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    const [expired] = await tx.update(apiJobs).set({ state: 'expired' })
      .where(and(eq(apiJobs.id, id), eq(apiJobs.state, 'done'), lt(apiJobs.finishedAt, finishedBefore))).returning();
    return expired ?? (await tx.select().from(apiJobs).where(eq(apiJobs.id, id)))[0];
  });
}

/** Done -> expired for every job of the tenant finished before `finishedBefore`; the jobs expired (their file paths, for deletion). */
export async function expireFinishedJobs(db: Database, tenantId: string, finishedBefore: Date): Promise<{ id: string; filePath: string | null }[]> {
  return withTenant(db, tenantId, (tx) => tx.update(apiJobs).set({ state: 'expired' })
    .where(and(eq(apiJobs.state, 'done'), lt(apiJobs.finishedAt, finishedBefore))).returning({ id: apiJobs.id, filePath: apiJobs.filePath }));
}
