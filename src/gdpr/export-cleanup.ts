/**
 * GDPR export ZIPs do not outlive their retention (24 h after the export
 * finished unless configured): they hold a person's data in the clear
 * (decrypted recordings included), so they are deleted and their job reads
 * `expired` (a download is then a 410).
 *
 * The ZIPs live on the disk of the node that ran the job (the recordings'
 * object store holds ciphertext only), so the cleanup has two halves:
 *   - `expireExports`, in the leader's retention sweep: every tenant's done
 *     jobs past retention become expired (whichever node made them) and the
 *     files this node holds are deleted; audited per tenant with a count;
 *   - `removeStaleExportFiles`, on every node: ZIPs under its own export
 *     directory older than the retention are deleted (jobs expired by a
 *     leader elsewhere, and partial files of jobs cut short by a crash).
 * Reads settle expiry too (export-jobs.ts), so a job never reads `done`
 * after its retention even between sweeps.
 */
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { audit, expireFinishedJobs, listTenantIds, type Database } from '../../storage/index.ts';
import type { Logger } from '../log.ts';

export const EXPORT_RETENTION_MS = 24 * 60 * 60_000;

/** The end of a finished export's retention. */
export function exportExpiresAt(finishedAt: Date, retentionMs = EXPORT_RETENTION_MS): Date {
  return new Date(finishedAt.getTime() + retentionMs);
}

export interface ExpireExportsResult { expired: number; filesDeleted: number }

/** Leader-run: done exports past retention expired in every tenant, their files deleted where this node has them. */
export async function expireExports(db: Database, options: { now: Date; retentionMs?: number; logger?: Logger }): Promise<ExpireExportsResult> {
  const cutoff = new Date(options.now.getTime() - (options.retentionMs ?? EXPORT_RETENTION_MS));
  const result: ExpireExportsResult = { expired: 0, filesDeleted: 0 };
  for (const tenantId of await listTenantIds(db)) {
    const jobs = await expireFinishedJobs(db, tenantId, cutoff);
    if (!jobs.length) continue;
    let deleted = 0;
    for (const job of jobs) if (job.filePath && await removeFile(job.filePath)) deleted++;
    await audit(db, tenantId, { actor: 'system:retention', action: 'gdpr.exports.expired', detail: { expired: jobs.length, filesDeleted: deleted } });
    options.logger?.info({ tenantId, expired: jobs.length, filesDeleted: deleted }, 'retention: expired GDPR exports');
    result.expired += jobs.length;
    result.filesDeleted += deleted;
  }
  return result;
}

/** Every node: ZIPs under `dir` (<dir>/<tenant>/<job>.zip) last written before the retention's start are deleted; the count. */
export async function removeStaleExportFiles(dir: string, options: { now: Date; retentionMs?: number }): Promise<number> {
  const cutoff = options.now.getTime() - (options.retentionMs ?? EXPORT_RETENTION_MS);
  let removed = 0;
  for (const tenant of await entries(dir)) {
    if (!tenant.isDirectory()) continue;
    for (const file of await entries(join(dir, tenant.name))) {
      if (!file.isFile() || !file.name.endsWith('.zip')) continue;
      const path = join(dir, tenant.name, file.name);
      const info = await stat(path).catch(() => undefined);
      if (info && info.mtimeMs < cutoff && await removeFile(path)) removed++;
    }
  }
  return removed;
}

async function entries(dir: string) {
  return readdir(dir, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
}

/** Deletes a file; false when it was not there (another node's, or gone already). */
export async function removeFile(path: string): Promise<boolean> {
  const there = await stat(path).then(() => true, () => false);
  if (there) await rm(path, { force: true });
  return there;
}
