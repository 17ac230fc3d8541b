/**
 * GDPR export ZIPs are deleted when their retention (24 h after the export
 * finished) ends: the export then reads `expired` with no link, a download
 * with a link minted just before is a 410 (so is one with an old link), the
 * file is gone from disk; the leader's retention sweep expires every done
 * export past retention (audited with counts) and deletes the files it has,
 * leaving younger ones; every node's file sweep deletes its own stale ZIPs
 * (a job expired by a leader elsewhere, a partial file of a crashed job).
 * All on a manual clock. PGlite and Postgres.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getApiJob, listAudit, PostgresTenantKeyStore, type ApiJobRow, type Database } from '../../../storage/index.ts';
import { KeyRing, LocalMasterKey, MemoryObjectStore } from '../../../storage/vault/index.ts';
import { GdprExportJobs, removeStaleExportFiles } from '../../../src/gdpr/index.ts';
import { createLogger } from '../../../src/log.ts';
import { sweepExpiredRecordings } from '../../../src/retention.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { waitForValue } from '../../support/poll.ts';

const HOUR = 3_600_000;

interface ExportView { id: string; state: string; finishedAt: string | null; expiresAt: string | null; download: { url: string } | null }

for (const backend of await backends()) {
  const db: Database = await backend.open();
  const dir = await mkdtemp(join(tmpdir(), 'export-cleanup-'));
  let clock: () => Date = () => new Date();
  const jobs = new GdprExportJobs({ db, dir: join(dir, 'exports'), logger: createLogger('silent'), now: () => clock() });
  const h = await apiHarness(db, {
    services: { keyRing: new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) }), recordingLinkSecret: randomBytes(32), gdprExports: jobs },
  });
  clock = () => h.clock();
  const get = async (auth: string, id: string) => (await h.app.inject({ method: 'GET', url: `/v1/gdpr/exports/${id}`, headers: { authorization: auth } })).json() as ExportView;
  const exported = async (tenantId: string, auth: string): Promise<{ view: ExportView; row: ApiJobRow }> => {
    const started = await h.app.inject({ method: 'POST', url: '/v1/gdpr/exports', headers: { authorization: auth }, payload: { scope: 'tenant' } });
    assert.is(started.statusCode, 202, started.body);
    const { id } = started.json() as ExportView;
    const view = await waitForValue(`export ${id} to finish`, async () => {
      const v = await get(auth, id);
      return v.state === 'done' || v.state === 'failed' ? v : undefined;
    }, { timeoutMs: 60_000, intervalMs: 50 });
    assert.is(view.state, 'done', JSON.stringify(view));
    return { view, row: (await getApiJob(db, tenantId, id))! };
  };

  test(`[${backend.name}] past its retention an export reads expired, its file is deleted and a download is a 410`, async () => {
    const tenantId = await h.tenant(`cleanup-${crypto.randomUUID()}`);
    const admin = await h.bearer(tenantId, 'admin');
    const { view, row } = await exported(tenantId, admin);
    assert.is(view.expiresAt, new Date(new Date(view.finishedAt!).getTime() + 24 * HOUR).toISOString(), 'kept 24 h after it finished');
    assert.ok(existsSync(row.filePath!), 'the ZIP is on disk');

    h.clock.advance(24 * HOUR - 5 * 60_000);
    const late = await get(admin, row.id);
    assert.is(late.state, 'done', 'still within retention');
    assert.is((await h.app.inject({ method: 'GET', url: late.download!.url })).statusCode, 200, 'downloadable before the end');

    h.clock.advance(10 * 60_000);
    const gone = await h.app.inject({ method: 'GET', url: late.download!.url });
    assert.is(gone.statusCode, 410, gone.body);
    assert.is((gone.json() as { code: string }).code, 'export_expired');
    assert.match(gone.body, /expired and its file was deleted/);
    assert.not.ok(existsSync(row.filePath!), 'the ZIP is deleted');
    const expired = await get(admin, row.id);
    assert.equal([expired.state, expired.download], ['expired', null], 'reads expired, no link');
    h.clock.advance(HOUR);
    assert.is((await h.app.inject({ method: 'GET', url: late.download!.url })).statusCode, 410, 'an old link to an expired export: 410 too');
    const refusals = (await listAudit(db, tenantId, 50)).filter((e) => e.action === 'gdpr.export.download.refused');
    assert.equal(refusals.map((e) => (e.detail as { reason: string }).reason), ['export-expired', 'export-expired']);
  });

  test(`[${backend.name}] the retention sweep expires exports past retention (audited) and deletes their files; younger ones stay`, async () => {
    const tenantId = await h.tenant(`sweep-${crypto.randomUUID()}`);
    const admin = await h.bearer(tenantId, 'admin');
    const old = await exported(tenantId, admin);
    h.clock.advance(2 * HOUR);
    const young = await exported(tenantId, admin);
    const result = await sweepExpiredRecordings({ db, store: new MemoryObjectStore(), now: new Date(h.clock().getTime() + 23 * HOUR) });
    assert.ok(result.exportsExpired >= 1, JSON.stringify(result));
    assert.is((await getApiJob(db, tenantId, old.row.id))!.state, 'expired');
    assert.not.ok(existsSync(old.row.filePath!), 'the expired ZIP is deleted');
    assert.is((await getApiJob(db, tenantId, young.row.id))!.state, 'done', 'finished 23 h ago: kept');
    assert.ok(existsSync(young.row.filePath!));
    const audited = (await listAudit(db, tenantId, 50)).find((e) => e.action === 'gdpr.exports.expired');
    assert.equal(audited?.detail, { expired: 1, filesDeleted: 1 });
  });

  test(`[${backend.name}] every node deletes its own ZIPs older than the retention, and only those`, async () => {
    const nodeDir = join(dir, 'node-b');
    const tenantDir = join(nodeDir, crypto.randomUUID());
    await mkdir(tenantDir, { recursive: true });
    const now = new Date(); // file times are the file system's: the real clock
    const files = { stale: join(tenantDir, 'a.zip'), fresh: join(tenantDir, 'b.zip'), other: join(tenantDir, 'notes.txt') };
    for (const path of Object.values(files)) await writeFile(path, 'zip');
    const longAgo = new Date(now.getTime() - 25 * HOUR);
    await utimes(files.stale, longAgo, longAgo);
    await utimes(files.other, longAgo, longAgo);
    assert.is(await removeStaleExportFiles(nodeDir, { now }), 1);
    assert.equal([existsSync(files.stale), existsSync(files.fresh), existsSync(files.other)], [false, true, true]);
    assert.is(await removeStaleExportFiles(join(dir, 'no-such-dir'), { now }), 0, 'no export directory yet: nothing to do');
  });

  test.after(async () => {
    await jobs.close();
    await h.close();
    await rm(dir, { recursive: true, force: true });
    await backend.cleanup();
  });
}

test.run();
