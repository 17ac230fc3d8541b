/**
 * Destroyed tenant keys are gone from the disk, not only from query results:
 * after `tenant erase` and after a rotation retires the older version, no file
 * under the database's data directory holds the destroyed wrapped key bytes
 * (Postgres keeps old row versions in the heap and old WAL segments, recycled
 * ones included, unless they are rewritten and retired), and a recording copy
 * made before no longer decrypts.
 *
 * Embedded PGlite on disk always. A Postgres server when
 * SMARTALEX_TEST_DATABASE_URL is set and its data directory is readable here
 * (a local cluster, tests run as root): its table files are checked always, its
 * pg_wal only when the server runs with wal_recycle = off (otherwise the erasure
 * must say the WAL is not covered).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, sql } from 'drizzle-orm';
import postgres from 'postgres';
import {
  createAgent, createTenant, getSealedProviderKeys, listAudit, migrate, openDatabase, rows, setProviderKey, startCall, unsealProviderKey,
  withTenant, schema, type Database,
} from '../../../storage/index.ts';
import { KEY_BLOCK_OFFSET, KeyDestroyedError, decryptRecording } from '../../../storage/vault/index.ts';
import { eraseDeadRowVersions } from '../../../storage/physical-erasure.ts';
import { eraseTenant, rotateTenantRecordingKey } from '../../../src/recordings/index.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';
import { chunked, rejection } from '../../storage/vault/support/helpers.ts';
import { expectedStereo, recordingFixture, syntheticFrame, type RecordingFixture } from './support.ts';

interface DiskDatabase {
  name: string;
  db: Database;
  /** The database's data directory as this process can read it. */
  dataDir: string;
  /** Directories under dataDir left out of the scan (a Postgres server with WAL recycling on). */
  skipWal: boolean;
  /** The owner's connection URL (a Postgres server): another session on the same database. */
  ownerUrl?: string;
  cleanup(): Promise<void>;
}

async function pgliteOnDisk(): Promise<DiskDatabase> {
  const root = await mkdtemp(join(tmpdir(), 'key-erasure-'));
  const db = await openDatabase({ dataDir: root, appRole: 'smartalex_app' });
  await migrate(db);
  return { name: 'pglite (on disk)', db, dataDir: join(root, 'pglite'), skipWal: false, cleanup: async () => { await db.close(); await rm(root, { recursive: true, force: true }); } };
}

/** The server's data directory when this process can read it (superuser login, same machine), else null. */
async function postgresOnDisk(): Promise<DiskDatabase | null> {
  const [backend] = (await backends()).filter((b) => b.name === 'postgres');
  if (!backend) return null;
  const db = await backend.open();
  const found = await db.owner.execute(sql`select current_setting('data_directory') as dir, current_setting('wal_recycle') as recycle`).then(
    (r) => rows<{ dir: string; recycle: string }>(r)[0], () => undefined);
  let readable = false;
  try { readable = Boolean(found) && readFileSync(join(found!.dir, 'PG_VERSION')).length > 0; } catch { readable = false; }
  if (!readable) {
    process.stdout.write(`\n*** key-erasure: the Postgres server's data directory is not readable here, so only PGlite's files were scanned ***\n`);
    await backend.cleanup();
    return null;
  }
  return { name: 'postgres', db, dataDir: found!.dir, skipWal: found!.recycle !== 'off', ownerUrl: db.ownerUrl!, cleanup: () => backend.cleanup() };
}

/** Every file under `dir` (less pg_wal when asked) that contains `needle`, byte for byte. */
function filesContaining(dir: string, needle: Buffer, skipWal: boolean): string[] {
  const hits: string[] = [];
  const walk = (at: string): void => {
    let entries;
    try { entries = readdirSync(at, { withFileTypes: true }); } catch { return; } // removed while walking (a live server)
    for (const entry of entries) {
      const path = join(at, entry.name);
      if (entry.isDirectory()) {
        if (!(skipWal && at === dir && entry.name === 'pg_wal')) walk(path);
      } else if (entry.isFile()) {
        let bytes: Buffer;
        try { bytes = readFileSync(path); } catch { continue; }
        if (bytes.includes(needle)) hits.push(path.slice(dir.length));
      }
    }
  };
  walk(dir);
  return hits;
}

async function wrappedKeys(db: Database, tenantId: string): Promise<{ keyId: string; version: number; wrapped: Buffer | null; destroyedAt: Date | null }[]> {
  const found = await withTenant(db, tenantId, (tx) => tx.select().from(schema.tenantKeys));
  return found.map((k) => ({ keyId: k.keyId, version: k.version, wrapped: k.wrappedKey ? Buffer.from(k.wrappedKey) : null, destroyedAt: k.destroyedAt }))
    .sort((a, b) => a.version - b.version);
}

const FRAMES = 60;

async function recordCall(db: Database, fx: RecordingFixture, tenantId: string): Promise<string> {
  const agent = await createAgent(db, tenantId, { name: `a-${crypto.randomUUID()}` });
  const call = await startCall(db, tenantId, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
  const recorder = fx.service.startCallRecording({ tenantId, callId: call.id, agent });
  for (let f = 0; f < FRAMES; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
  await recorder.finish();
  return recorder.recordingId;
}

/**
 * Puts the keys' bytes where erasure must reach them: the table's column
 * statistics (ANALYZE, as autovacuum runs it on a server). On PGlite: a WAL
 * segment that logged them left *recycled* (renamed for reuse, old bytes
 * inside), as a checkpoint with the default wal_recycle = on does. On a
 * server: a checkpoint, so the table file holds them, not only shared buffers.
 */
async function putKeysOnDisk(target: DiskDatabase): Promise<void> {
  // What autovacuum does on a server: ANALYZE samples the keys into pg_statistic (a bytea histogram holds whole values).
  await target.db.owner.execute(sql`ANALYZE tenant_keys`);
  if (target.name !== 'postgres') {
    await target.db.owner.execute(sql`SET wal_recycle = on`);
    await target.db.owner.execute(sql`select pg_switch_wal()`);
  }
  await target.db.owner.execute(sql`CHECKPOINT`);
}

const targets = [await pgliteOnDisk(), await postgresOnDisk()].filter((t): t is DiskDatabase => t !== null);

for (const target of targets) {
  const { db } = target;
  const fx = await recordingFixture(db);
  const scan = (needle: Buffer): string[] => [...filesContaining(target.dataDir, needle, target.skipWal), ...filesContaining(fx.dataDir, needle, false)];

  test(`[${target.name}] tenant erase leaves no file holding the wrapped tenant key, and a copy made before no longer decrypts`, async () => {
    const doomed = await createTenant(db, { name: 'doomed' });
    const kept = await createTenant(db, { name: 'kept' });
    const recordingId = await recordCall(db, fx, doomed.id);
    const keptId = await recordCall(db, fx, kept.id);
    await fx.vault.keys.rotateTenantKey(doomed.id); // two versions, both must go
    await putKeysOnDisk(target);
    const before = await wrappedKeys(db, doomed.id);
    assert.is(before.length, 2);
    for (const key of before) assert.ok(scan(key.wrapped!).length > 0, `the scan finds version ${key.version}'s wrapped bytes before the erase`);
    const backup = join(fx.dataDir, `backup-${recordingId}.saxrec`);
    await copyFile(fx.store.pathOf({ tenantId: doomed.id, recordingId }), backup);

    const { recordings, keyErasure } = await eraseTenant(db, fx.vault, doomed.id, 'operator:test');
    assert.is(recordings, 1);

    for (const key of before) assert.equal(scan(key.wrapped!), [], `version ${key.version}'s wrapped bytes are in no file (the erasure said: ${JSON.stringify(keyErasure)})`);
    if (target.skipWal) {
      assert.not.ok(keyErasure.complete);
      assert.ok(keyErasure.caveats.some((c) => c.includes('wal_recycle')), keyErasure.caveats.join('\n'));
    } else {
      assert.equal(keyErasure, { complete: true, caveats: [] });
    }
    const tombstones = await wrappedKeys(db, doomed.id);
    assert.ok(tombstones.every((k) => k.wrapped === null && k.destroyedAt));
    const err = await rejection(decryptRecording(chunked(await readFile(backup)), fx.vault.keys));
    assert.instance(err, KeyDestroyedError);
    assert.match((err as Error).message, `keys of tenant ${doomed.id} were destroyed`);
    assert.ok((await fx.vault.read({ tenantId: kept.id, recordingId: keptId })).pcm.equals(expectedStereo(FRAMES)), 'other tenants still decrypt');
  });

  test(`[${target.name}] rotate-key destroys the old version once every recording is re-wrapped; a copy made before fails clearly`, async () => {
    const tenant = await createTenant(db, { name: 'rotating' });
    const ids = [await recordCall(db, fx, tenant.id), await recordCall(db, fx, tenant.id)];
    await setProviderKey(db, fx.vault.keys, tenant.id, 'openai', 'sk-rotating-provider-key');
    await putKeysOnDisk(target);
    const [old] = await wrappedKeys(db, tenant.id);
    assert.ok(scan(old!.wrapped!).length > 0, 'the scan finds the old wrapped bytes before the rotation');
    const backup = join(fx.dataDir, `backup-${ids[0]}.saxrec`);
    await copyFile(fx.store.pathOf({ tenantId: tenant.id, recordingId: ids[0]! }), backup);

    const r = await rotateTenantRecordingKey(db, fx.vault, tenant.id, 'operator:test');
    assert.is(r.version, 2);
    assert.is(r.rewrapped, 2);
    assert.equal(r.failed, []);
    assert.is(r.providerKeysResealed, 1);
    assert.equal(r.retired, [{ keyId: old!.keyId, version: 1 }]);
    assert.equal(r.kept, []);
    if (!target.skipWal) assert.equal(r.erasure, { complete: true, caveats: [] });

    const after = await wrappedKeys(db, tenant.id);
    assert.is(after[0]!.wrapped, null, 'the old version is a tombstone');
    assert.ok(after[0]!.destroyedAt);
    assert.equal(scan(old!.wrapped!), [], `the old wrapped bytes are in no file (the erasure said: ${JSON.stringify(r.erasure)})`);
    assert.ok(scan(after[1]!.wrapped!).length > 0, 'the new version is on disk (the scan can see it)');
    for (const id of ids) {
      assert.ok((await fx.vault.read({ tenantId: tenant.id, recordingId: id })).pcm.equals(expectedStereo(FRAMES)), 'decrypts under the new version');
    }
    const [sealed] = await getSealedProviderKeys(db, tenant.id);
    assert.is(sealed!.keyId, r.keyId);
    assert.is(await unsealProviderKey(fx.vault.keys, tenant.id, sealed!), 'sk-rotating-provider-key');
    const err = await rejection(decryptRecording(chunked(await readFile(backup)), fx.vault.keys));
    assert.instance(err, KeyDestroyedError);
    assert.match((err as Error).message, `tenant key ${old!.keyId} (version 1) of tenant ${tenant.id} was retired by key rotation and destroyed`);
    const log = await listAudit(db, tenant.id);
    const retired = log.find((e) => e.action === 'tenant.key.retired');
    assert.ok(retired, 'the retirement is audited');
    assert.equal((retired!.detail as { versions: number[] }).versions, [1]);
  });

  test(`[${target.name}] a recording that cannot be re-wrapped keeps the old version alive, and says so`, async () => {
    const tenant = await createTenant(db, { name: 'stuck' });
    const good = await recordCall(db, fx, tenant.id);
    const bad = await recordCall(db, fx, tenant.id);
    // Damage the wrapped data key in one header: it no longer unwraps.
    const badPath = fx.store.pathOf({ tenantId: tenant.id, recordingId: bad });
    const bytes = await readFile(badPath);
    const inWrappedKey = KEY_BLOCK_OFFSET + 1 + 64 + 2 + 30; // key id field, length, then the wrapped data key
    bytes[inWrappedKey] = bytes[inWrappedKey]! ^ 0xff;
    await writeFile(badPath, bytes);
    const [old] = await wrappedKeys(db, tenant.id);

    const r = await rotateTenantRecordingKey(db, fx.vault, tenant.id, 'operator:test');
    assert.is(r.rewrapped, 1);
    assert.equal(r.failed.map((f) => f.recordingId), [bad]);
    assert.equal(r.retired, []);
    assert.equal(r.kept, [{ keyId: old!.keyId, version: 1 }]);
    assert.is(r.erasure, null);
    const keys = await wrappedKeys(db, tenant.id);
    assert.ok(keys[0]!.wrapped?.equals(old!.wrapped!), 'the old version is still live');
    assert.ok((await fx.vault.read({ tenantId: tenant.id, recordingId: good })).pcm.equals(expectedStereo(FRAMES)));
    assert.ok((await listAudit(db, tenant.id)).some((e) => e.action === 'tenant.key.retire.skipped'));
  });

  if (target.ownerUrl) {
    /**
     * A session in a REPEATABLE READ transaction: its snapshot, taken now, sees every row version there is now. By
     * default on the same database; `withXid` on another one, where it also takes a transaction id (as any write does).
     */
    const holdSnapshot = async (options: { withXid?: boolean } = {}): Promise<{ pid: number; release(): Promise<void> }> => {
      const url = new URL(target.ownerUrl!);
      if (options.withXid) url.pathname = '/postgres';
      const client = postgres(url.href, { max: 1, onnotice: () => {} });
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let ready!: (pid: number) => void;
      const started = new Promise<number>((resolve) => (ready = resolve));
      const done = client.begin('isolation level repeatable read', async (tx) => {
        await tx`select 1`;
        if (options.withXid) await tx`select txid_current()`;
        const [row] = await tx<{ pid: number }[]>`select pg_backend_pid() as pid`;
        ready(row!.pid);
        await released;
      });
      const pid = await Promise.race([started, done.then(() => { throw new Error('the held transaction ended early'); })]);
      return { pid, release: async () => { release(); await done; await client.end(); } };
    };

    for (const [what, withXid] of [['a transaction here that began before the erasure', false], ['a write transaction in another database', true]] as const) test(`[${target.name}] ${what} is waited for; the old version is gone once it ends`, async () => {
      // A write transaction elsewhere matters too: while it runs, a snapshot taken here (autovacuum's, any session's)
      // starts at its transaction id, older than the erasure, and the rewrite would copy the old version for it.
      const tenant = await createTenant(db, { name: 'held' });
      await recordCall(db, fx, tenant.id);
      await putKeysOnDisk(target);
      const [old] = await wrappedKeys(db, tenant.id);
      const held = await holdSnapshot({ withXid });
      const probe = postgres(target.ownerUrl!, { max: 1, onnotice: () => {} });
      let settled = false;
      const rotation = rotateTenantRecordingKey(db, fx.vault, tenant.id, 'operator:test').finally(() => (settled = true));
      try {
        // The old version is tombstoned (committed), and the erasure waits for the older snapshot instead of copying it along.
        await waitFor('the old version tombstoned', async () => (await wrappedKeys(db, tenant.id))[0]?.wrapped === null);
        // It checks again while it waits (a session's last statement stays in pg_stat_activity, so only a check that
        // started from now on counts: an earlier erasure's may still be listed); read from a session of its own.
        const [{ now } = { now: '' }] = await probe<{ now: string }[]>`select clock_timestamp()::text as now`;
        await waitFor('the erasure waiting on the older session', async () => {
          if (settled) return true;
          const [row] = await probe<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid() and query_start > ${now}::timestamptz
               and (query like '%backend_xmin%' or query like '%pg_replication_slots%')`;
          return row!.n > 0;
        });
        assert.not.ok(settled, 'the rotation finished while a transaction that can see the old version was open');
      } finally {
        await held.release();
        await probe.end();
      }
      const r = await rotation;
      assert.equal(r.retired, [{ keyId: old!.keyId, version: 1 }]);
      if (!target.skipWal) assert.equal(r.erasure, { complete: true, caveats: [] });
      else assert.not.ok(r.erasure!.caveats.some((c) => c.includes('older than the erasure')), r.erasure!.caveats.join('\n'));
      assert.equal(scan(old!.wrapped!), [], `the old wrapped bytes are in no file (the erasure said: ${JSON.stringify(r.erasure)})`);
    });

    /**
     * A tenant whose only key version ANALYZE sampled into pg_statistic, then destroyed (tombstoned) without the
     * erasure: what eraseDeadRowVersions must clear. Resolves with the old wrapped bytes.
     */
    const sampledThenDestroyed = async (name: string): Promise<Buffer> => {
      const tenant = await createTenant(db, { name });
      await recordCall(db, fx, tenant.id);
      await putKeysOnDisk(target);
      const [old] = await wrappedKeys(db, tenant.id);
      assert.ok(scan(old!.wrapped!).length > 0, 'the scan finds the wrapped bytes before the erasure');
      await withTenant(db, tenant.id, (tx) => tx.update(schema.tenantKeys).set({ wrappedKey: null, destroyedAt: new Date() })
        .where(eq(schema.tenantKeys.keyId, old!.keyId)));
      return old!.wrapped!;
    };

    test(`[${target.name}] a transaction older than the statistics' rebuild is waited for before pg_statistic is rewritten; no old sample is left`, async () => {
      const old = await sampledThenDestroyed('sampled');
      // Held from between the table's rewrite and the ANALYZE: it can see the statistics row that ANALYZE replaces.
      let held: { pid: number; release(): Promise<void> } | undefined;
      let heldFrom = '';
      let settled = false;
      const erasure = eraseDeadRowVersions(db, 'tenant_keys', {
        olderTransactionsTimeoutMs: 60_000,
        beforeStatistics: async () => {
          held = await holdSnapshot();
          heldFrom = rows<{ t: string }>(await db.owner.execute(sql`select clock_timestamp()::text as t`))[0]!.t;
        },
      }).finally(() => (settled = true));
      const probe = postgres(target.ownerUrl!, { max: 1, onnotice: () => {} });
      try {
        await waitFor('the snapshot held', () => heldFrom !== '' || settled);
        await waitFor('the erasure checking for older transactions after the ANALYZE', async () => {
          if (settled) return true;
          const [row] = await probe<{ n: number }[]>`
            select count(*)::int as n from pg_stat_activity
             where datname = current_database() and pid <> pg_backend_pid() and query_start > ${heldFrom}::timestamptz
               and (query like '%backend_xmin%' or query like '%pg_replication_slots%')`;
          return row!.n > 0;
        });
        assert.not.ok(settled, 'the erasure rewrote pg_statistic while a transaction that can see the old statistics was open');
      } finally {
        await held?.release();
        await probe.end();
      }
      const done = await erasure;
      assert.ok(done.tableRewritten && done.statisticsErased, done.caveats.join('\n'));
      if (!target.skipWal) assert.equal(done.caveats, []);
      assert.equal(scan(old), [], `the old wrapped bytes are in no file (the erasure said: ${JSON.stringify(done)})`);
    });

    test(`[${target.name}] past the bound, an older transaction keeps pg_statistic from being rewritten, and the erasure says so`, async () => {
      const old = await sampledThenDestroyed('sampled, held');
      let held: { pid: number; release(): Promise<void> } | undefined;
      try {
        // One bound for both waits: room for the first (an autovacuum ANALYZE here, a write transaction of another
        // test file in another database), while the snapshot held from the hook on outlasts it.
        const done = await eraseDeadRowVersions(db, 'tenant_keys', {
          olderTransactionsTimeoutMs: 10_000,
          beforeStatistics: async () => { held = await holdSnapshot(); },
        });
        assert.is(done.tableRewritten, true, done.caveats.join('\n'));
        assert.is(done.statisticsErased, false);
        const caveat = done.caveats.find((c) => c.startsWith("transactions older than the rebuild of tenant_keys's statistics were still open"));
        assert.ok(caveat, done.caveats.join('\n'));
        assert.match(caveat!, `session ${held!.pid} (client backend, open `);
      } finally {
        await held?.release();
      }
      const after = await eraseDeadRowVersions(db, 'tenant_keys', { olderTransactionsTimeoutMs: 30_000 });
      assert.ok(after.statisticsErased, after.caveats.join('\n'));
      assert.equal(scan(old), [], `the old wrapped bytes are in no file once the erasure ran again (it said: ${JSON.stringify(after)})`);
    });

    test(`[${target.name}] past the wait's bound the erasure names the sessions that kept the old versions, and does not claim the table clean`, async () => {
      const held = await holdSnapshot();
      try {
        // A change after the held snapshot (a new tenant's key version): the snapshot is now older than the erasure.
        await fx.vault.keys.rotateTenantKey((await createTenant(db, { name: 'later' })).id);
        const done = await eraseDeadRowVersions(db, 'tenant_keys', { olderTransactionsTimeoutMs: 200 });
        assert.is(done.tableRewritten, false);
        const caveat = done.caveats.find((c) => c.startsWith('transactions older than the erasure were still open'));
        assert.ok(caveat, done.caveats.join('\n'));
        assert.match(caveat!, `session ${held.pid} (client backend, open `);
        assert.match(caveat!, 'until a VACUUM (FULL) tenant_keys after those end');
      } finally {
        await held.release();
      }
      const after = await eraseDeadRowVersions(db, 'tenant_keys', { olderTransactionsTimeoutMs: 30_000 });
      assert.is(after.tableRewritten, true, after.caveats.join('\n'));
    });
  }

  test.after(async () => {
    await fx.service.close();
    await fx.cleanup();
    await target.cleanup();
  });
}

test.run();
