/**
 * Retention: deletes recordings past their deadline (object, then row) in
 * every tenant, and expires GDPR export ZIPs past theirs
 * (src/gdpr/export-cleanup.ts). Tenants come from the directory function, each is then
 * handled inside its own tenant scope. Logs and audits counts only. `serve`
 * runs it every SMARTALEX_RETENTION_SWEEP_MINUTES (first run 30 s after start,
 * never two at once); `smartalex retention sweep` runs it once.
 */
import { audit, deleteRecording, listExpiredRecordings, listTenantIds, type Database } from '../storage/index.ts';
import type { ObjectStore } from '../storage/vault/index.ts';
import { expireExports } from './gdpr/export-cleanup.ts';
import type { Logger } from './log.ts';

export interface SweepOptions {
  db: Database;
  store: ObjectStore;
  logger?: Logger;
  now?: Date;
  /** Rows fetched per query (default 500). */
  batch?: number;
  /** How long a finished GDPR export's ZIP is kept (default 24 h). */
  exportRetentionMs?: number;
}

export interface SweepResult {
  tenants: number;
  deleted: number;
  failed: number;
  /** GDPR export jobs expired (their ZIPs deleted where this node holds them). */
  exportsExpired: number;
}

export async function sweepExpiredRecordings(opts: SweepOptions): Promise<SweepResult> {
  const now = opts.now ?? new Date();
  const batch = opts.batch ?? 500;
  const result: SweepResult = { tenants: 0, deleted: 0, failed: 0, exportsExpired: 0 };
  for (const tenantId of await listTenantIds(opts.db)) {
    result.tenants++;
    let deleted = 0;
    let failed = 0;
    const skip = new Set<string>();
    for (;;) {
      const expired = (await listExpiredRecordings(opts.db, tenantId, now, batch + skip.size)).filter((r) => !skip.has(r.id));
      if (!expired.length) break;
      for (const row of expired) {
        try {
          if (await deleteRecording(opts.db, opts.store, tenantId, row.id)) deleted++;
        } catch (err) {
          failed++;
          skip.add(row.id);
          opts.logger?.error({ tenantId, recordingId: row.id, reason: err instanceof Error ? err.name : 'error' }, 'expired recording could not be deleted');
        }
      }
      if (expired.length < batch) break;
    }
    if (deleted || failed) {
      await audit(opts.db, tenantId, { actor: 'system:retention', action: 'recordings.expired', detail: { deleted, failed } });
      opts.logger?.info({ tenantId, deleted, failed }, 'retention: expired recordings deleted');
    }
    result.deleted += deleted;
    result.failed += failed;
  }
  result.exportsExpired = (await expireExports(opts.db, { now, ...(opts.exportRetentionMs !== undefined ? { retentionMs: opts.exportRetentionMs } : {}), ...(opts.logger ? { logger: opts.logger } : {}) })).expired;
  opts.logger?.info({ ...result }, 'retention sweep finished');
  return result;
}

export interface RetentionSweeper {
  /** Runs a sweep now (or joins the one in progress). */
  runNow(): Promise<SweepResult>;
  stop(): Promise<void>;
}

export function startRetentionSweeper(opts: SweepOptions & { intervalMinutes: number; firstRunMs?: number }): RetentionSweeper {
  let running: Promise<SweepResult> | null = null;
  let stopped = false;
  const runNow = (): Promise<SweepResult> => {
    running ??= sweepExpiredRecordings({ ...opts, now: new Date() }).finally(() => { running = null; });
    return running;
  };
  const tick = (): void => {
    if (stopped) return;
    runNow().catch((err: unknown) => opts.logger?.error({ reason: err instanceof Error ? err.message : String(err) }, 'retention sweep failed'));
  };
  const first = setTimeout(tick, opts.firstRunMs ?? 30_000);
  const every = setInterval(tick, opts.intervalMinutes * 60_000);
  first.unref();
  every.unref();
  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      await running?.catch(() => undefined);
    },
  };
}
