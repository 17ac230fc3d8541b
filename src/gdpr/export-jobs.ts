/**
 * GDPR export jobs: POST /v1/gdpr/exports writes a queued job (state in
 * Postgres, storage/repos/api-jobs.ts) and this runner produces its ZIP in the
 * background with export.ts (streamed to disk, mode 0600) under
 * <dir>/<tenant>/<job>.zip. While it works it renews the job's lease; a job
 * whose lease runs out (the process died) reads as failed ("interrupted"), so
 * a client polling it is never left waiting. Errors are stored as their class
 * name only (a message could quote data). close() waits for running jobs.
 *
 * The file lives on the disk of the node that ran the job: behind several
 * nodes the download link must reach that node (or the directory be shared).
 * It is kept for `retentionMs` (24 h) after the job finished: a read after
 * that finds the job `expired` and the file deleted, and every node deletes
 * its own stale files every `fileSweepMs` (export-cleanup.ts; the leader's
 * retention sweep expires the jobs of every node).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  claimApiJob, failApiJob, finishApiJob, insertApiJob, renewApiJobLease, settleExpiredJob, settleInterruptedJob, type ApiJobRow, type Database,
} from '../../storage/index.ts';
import type { RecordingVault } from '../../storage/vault/index.ts';
import type { Logger } from '../log.ts';
import type { DataSubject } from './data-subject.ts';
import { EXPORT_RETENTION_MS, exportExpiresAt, removeFile, removeStaleExportFiles } from './export-cleanup.ts';
import { exportDataSubject, WHOLE_TENANT } from './export.ts';

/** What an export covers: the whole tenant, or one data subject. */
export type ExportRequest = { scope: 'tenant' } | { scope: 'data-subject'; contactId?: string; phone?: string };

export interface ExportJobsOptions {
  db: Database;
  vault?: RecordingVault;
  /** Directory the ZIPs are written under (the server's data directory + /exports). */
  dir: string;
  logger: Logger;
  /** A running job renews its lease this often; it is presumed dead this long after the last renewal. Default 60 s. */
  leaseMs?: number;
  /** How long a finished export's ZIP is kept. Default 24 h. */
  retentionMs?: number;
  /** When set, this node deletes its own ZIPs past retention this often (first after one interval). */
  fileSweepMs?: number;
  now?: () => Date;
}

export class GdprExportJobs {
  private readonly running = new Set<Promise<void>>();
  private readonly leaseMs: number;
  readonly retentionMs: number;
  private readonly now: () => Date;
  private readonly fileSweep: NodeJS.Timeout | undefined;
  private sweeping: Promise<number> | undefined;

  constructor(private readonly options: ExportJobsOptions) {
    this.leaseMs = options.leaseMs ?? 60_000;
    this.retentionMs = options.retentionMs ?? EXPORT_RETENTION_MS;
    this.now = options.now ?? (() => new Date());
    if (options.fileSweepMs) {
      this.fileSweep = setInterval(() => {
        this.sweepFiles().catch((error: unknown) => this.options.logger.warn({ err: { name: (error as Error)?.name } }, 'export file sweep failed'));
      }, options.fileSweepMs);
      this.fileSweep.unref();
    }
  }

  /** When a finished export's file goes (null while it is not done). */
  expiresAt(row: ApiJobRow): Date | null {
    return row.finishedAt && (row.state === 'done' || row.state === 'expired') ? exportExpiresAt(row.finishedAt, this.retentionMs) : null;
  }

  /** Deletes this node's ZIPs past retention (or joins the sweep in progress); how many. */
  sweepFiles(): Promise<number> {
    this.sweeping ??= removeStaleExportFiles(this.options.dir, { now: this.now(), retentionMs: this.retentionMs }).then((removed) => {
      if (removed) this.options.logger.info({ removed }, 'stale GDPR export files deleted');
      return removed;
    }).finally(() => { this.sweeping = undefined; });
    return this.sweeping;
  }

  /** Queues an export (audited as requested) and starts it in the background; the job's row. */
  async start(tenantId: string, request: ExportRequest, who: { actor: string; sourceIp?: string }): Promise<ApiJobRow> {
    const row = await insertApiJob(this.options.db, tenantId, {
      kind: 'gdpr.export', request, requestedBy: who.actor, leaseUntil: new Date(this.now().getTime() + this.leaseMs),
    }, (id) => ({ actor: who.actor, action: 'gdpr.export.requested', target: `export:${id}`, detail: { scope: request.scope }, ...(who.sourceIp ? { sourceIp: who.sourceIp } : {}) }));
    const work = this.run(tenantId, row, who).catch((error: unknown) => {
      this.options.logger.error({ tenantId, jobId: row.id, err: { name: (error as Error)?.name } }, 'export job bookkeeping failed');
    });
    this.running.add(work);
    void work.finally(() => this.running.delete(work));
    return row;
  }

  /**
   * The job as it stands (an interrupted one settled as failed, a done one past
   * retention as expired, its file deleted when this node has it); undefined
   * when the tenant has no such job.
   */
  async get(tenantId: string, id: string): Promise<ApiJobRow | undefined> {
    const now = this.now();
    const row = await settleInterruptedJob(this.options.db, tenantId, id, now);
    if (!row || row.state !== 'done' || !row.finishedAt || exportExpiresAt(row.finishedAt, this.retentionMs) >= now) return row;
    const expired = await settleExpiredJob(this.options.db, tenantId, id, new Date(now.getTime() - this.retentionMs));
    if (expired?.state === 'expired' && expired.filePath) await removeFile(expired.filePath);
    return expired;
  }

  /** Stops the file sweep and waits for the jobs this process is running. */
  async close(): Promise<void> {
    clearInterval(this.fileSweep);
    await this.sweeping?.catch(() => undefined);
    while (this.running.size) await Promise.allSettled([...this.running]);
  }

  private async run(tenantId: string, row: ApiJobRow, who: { actor: string; sourceIp?: string }): Promise<void> {
    const { db } = this.options;
    const claimed = await claimApiJob(db, tenantId, row.id, this.now(), new Date(this.now().getTime() + this.leaseMs));
    if (!claimed) return;
    const renew = setInterval(() => {
      renewApiJobLease(db, tenantId, row.id, new Date(this.now().getTime() + this.leaseMs)).catch(() => undefined);
    }, Math.max(1000, Math.floor(this.leaseMs / 3)));
    renew.unref();
    try {
      const dir = join(this.options.dir, tenantId);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const filePath = join(dir, `${row.id}.zip`);
      const request = row.request as ExportRequest;
      const subject: DataSubject | typeof WHOLE_TENANT = request.scope === 'tenant' ? WHOLE_TENANT : { contactId: request.contactId, phone: request.phone };
      const manifest = await exportDataSubject(db, this.options.vault, tenantId, subject, filePath, who);
      await finishApiJob(db, tenantId, row.id, {
        filePath, at: this.now(),
        result: { counts: manifest.counts, files: manifest.files.length, recordingsUnavailable: manifest.recordingsUnavailable.length },
      });
    } catch (error) {
      const name = (error as Error)?.name ?? 'Error';
      this.options.logger.warn({ tenantId, jobId: row.id, err: { name } }, 'export job failed');
      await failApiJob(db, tenantId, row.id, name, this.now());
    } finally {
      clearInterval(renew);
    }
  }
}
