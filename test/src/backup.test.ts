/**
 * `smartalex backup` / `restore` (src/backup.ts, storage/backup.ts), on PGlite and a Postgres server: a
 * round trip into an empty database brings every row back (one in every tenant table), the RLS policies
 * hold on it, and a recording made before the backup decrypts with the restored tenant keys; the file
 * holds no plaintext; a tampered or truncated backup, a wrong master key and a non-empty database are
 * refused, and a refused restore leaves the database empty.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createAgent, createTenant, dumpDatabase, listCalls, startCall, PostgresTenantKeyStore, rows, type Database, type DumpLine } from '../../storage/index.ts';
import { KeyRing, LocalMasterKey, loadMasterKey, RecordingVault } from '../../storage/vault/index.ts';
import { readBackup, restoreBackup, writeBackup } from '../../src/backup.ts';
import { backends } from '../support/databases.ts';
import { seedTenant } from '../support/seed.ts';
import { expectedStereo, recordingFixture, syntheticFrame } from './recordings/support.ts';

async function allRows(db: Database): Promise<string[]> {
  const out: string[] = [];
  for await (const line of dumpDatabase(db)) if ('table' in line) out.push(`${line.table} ${JSON.stringify(line.row)}`);
  return out.sort();
}

async function policies(db: Database): Promise<string[]> {
  return rows<{ p: string }>(await db.owner.execute(sql`select tablename || '.' || policyname as p from pg_policies where schemaname = 'public' order by 1`)).map((r) => r.p);
}

async function rejection(promise: Promise<unknown>): Promise<Error | undefined> {
  return promise.then(() => undefined, (e: unknown) => e as Error);
}

for (const backend of await backends()) {
  test(`[${backend.name}] backup and restore: every row back in an empty database, RLS holds, recordings decrypt; tampering refused`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalex-backup-'));
    try {
      const source = await backend.open();
      const fx = await recordingFixture(source);
      const master = await loadMasterKey({ dataDir: fx.dataDir });
      const acme = await seedTenant(source, 'acme', '3000');
      await seedTenant(source, 'other', '3001');
      // A tenant of its own for the recording (the seeded tenants hold placeholder keys).
      const rec = await createTenant(source, { name: 'recorded' });
      const recAgent = await createAgent(source, rec.id, { name: 'r', mode: 'echo' });
      const recordedCall = await startCall(source, rec.id, { agentId: recAgent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:3002@y', sipCallId: 'recorded' });
      const recorder = fx.service.startCallRecording({ tenantId: rec.id, callId: recordedCall.id, agent: recAgent });
      await recorder.ready;
      for (let f = 0; f < 150; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
      assert.ok(await recorder.finish(), 'the recording was sealed');

      const file = join(dir, 'db.backup');
      const summary = await writeBackup(source, master, file);
      assert.ok(summary.rows >= 20, `rows dumped: ${summary.rows}`);
      const bytes = readFileSync(file);
      assert.is(bytes.indexOf(Buffer.from('acme@example.com')), -1, 'no plaintext in the backup');
      assert.is(bytes.indexOf(Buffer.from('my card is')), -1, 'no plaintext in the backup');

      const target = await backend.open();
      const restored = await restoreBackup(target, master, file);
      assert.is(restored.rows, summary.rows);
      assert.equal(await allRows(target), await allRows(source), 'every row is back, byte for byte');
      assert.equal(await policies(target), await policies(source));
      assert.is((await listCalls(target, acme.tenantId)).length, 1, 'the runtime role reads the tenant through RLS');

      // The recording (still in its store) decrypts with the tenant keys that came back with the rows.
      const vault = new RecordingVault({ store: fx.store, keys: new KeyRing({ master, store: new PostgresTenantKeyStore(target) }) });
      const read = await vault.read({ tenantId: rec.id, recordingId: recorder.recordingId });
      assert.ok(read.pcm.equals(expectedStereo(150)), 'the recording decrypts after the restore');

      assert.match((await rejection(restoreBackup(target, master, file)))?.message ?? '', /not empty/);

      const empty = await backend.open();
      const tenantsIn = async (db: Database) => rows<{ n: number }>(await db.owner.execute(sql`select count(*)::int as n from tenants`))[0]!.n;
      const tampered = Buffer.from(bytes);
      tampered[Math.floor(tampered.length / 2)]! ^= 0x01;
      writeFileSync(join(dir, 'tampered.backup'), tampered);
      assert.ok(await rejection(restoreBackup(empty, master, join(dir, 'tampered.backup'))), 'a flipped bit is refused');
      writeFileSync(join(dir, 'cut.backup'), bytes.subarray(0, bytes.length - 100));
      assert.ok(await rejection(restoreBackup(empty, master, join(dir, 'cut.backup'))), 'a cut backup is refused');
      assert.ok(await rejection(restoreBackup(empty, new LocalMasterKey(randomBytes(32)), file)), 'another master key cannot open it');
      assert.is(await tenantsIn(empty), 0, 'a refused restore writes nothing');
      const lines: DumpLine[] = [];
      for await (const line of readBackup(file, master)) lines.push(line);
      assert.is(lines.length, summary.rows + 1);
      await fx.cleanup();
    } finally {
      await backend.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
