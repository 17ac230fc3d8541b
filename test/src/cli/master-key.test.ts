/**
 * `smartalex keys rotate-master` on an embedded data directory (no server):
 * two tenants with recordings (one with a sealed provider key) and a third
 * whose key was destroyed. Refused with nothing changed: a short key, a key
 * file others can read, the current key, a tenant key wrapped by an unknown
 * master, --generate onto an existing file. Then rotated: after a "restart"
 * with the new key only, every recording decrypts and the provider key
 * unseals; the old key alone opens nothing; the destroyed tenant stays
 * shredded; the key file was replaced and the old one kept (0600); audited
 * with key ids and never key bytes. A second rotation with
 * SMARTALEX_MASTER_KEY set leaves the key file alone.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import {
  createAgent, createTenant, getSealedProviderKeys, listAudit, migrate, openDatabase, PostgresTenantKeyStore, rows, setProviderKey, startCall, unsealProviderKey, type Database,
} from '../../../storage/index.ts';
import { KeyDestroyedError, KeyNotFoundError, KeyRing, LocalMasterKey, RecordingVault, LocalObjectStore } from '../../../storage/vault/index.ts';
import { openRecordingVault, RecordingService } from '../../../src/recordings/index.ts';
import { expectedStereo, syntheticFrame } from '../recordings/support.ts';
import { ok, refusedWith, runCli } from './targets.ts';

const FRAMES = 60;
const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-mkey-'));
const work = mkdtempSync(join(tmpdir(), 'smartalex-mkey-files-'));
const env = { SMARTALEX_DATA_DIR: dataDir };
const keyFile = join(dataDir, 'master.key');

interface Seeded { tenant: string; recording: string }
let live: Seeded[] = [];
let shredded: Seeded;

async function withDb<T>(body: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({ dataDir, appRole: 'smartalex_app' });
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

async function recordOne(db: Database, service: RecordingService, tenantId: string): Promise<string> {
  const agent = await createAgent(db, tenantId, { name: 'a' });
  const call = await startCall(db, tenantId, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: randomUUID() });
  const recorder = service.startCallRecording({ tenantId, callId: call.id, agent });
  for (let f = 0; f < FRAMES; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
  await recorder.finish();
  return recorder.recordingId;
}

/** Every tenant key row as stored (read as the owner): what "nothing changed" compares. */
async function keyRows(db: Database): Promise<string> {
  return JSON.stringify(rows(await db.owner.execute(sql`select tenant_id, key_id, master_key_id, encode(wrapped_key, 'hex') as w, destroyed_at from tenant_keys order by tenant_id, key_id`)));
}

function keyFileAt(path: string, text: string, mode = 0o600): string {
  writeFileSync(path, text, { mode });
  return path;
}

test.before(async () => {
  await withDb(async (db) => {
    await migrate(db);
    const setup = await openRecordingVault({ SMARTALEX_DATA_DIR: dataDir, SMARTALEX_MASTER_KEY: undefined }, db);
    const service = new RecordingService({ db, vault: setup.vault });
    for (const name of ['alpha', 'beta']) {
      const tenant = (await createTenant(db, { name })).id;
      live.push({ tenant, recording: await recordOne(db, service, tenant) });
    }
    await setProviderKey(db, setup.vault.keys, live[0]!.tenant, 'deepgram', 'dg-secret-provider-key-1234');
    const gone = (await createTenant(db, { name: 'gamma' })).id;
    shredded = { tenant: gone, recording: await recordOne(db, service, gone) };
    await setup.vault.keys.destroyTenantKey(gone);
  });
});

test.after(() => {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
});

test('refused with nothing changed: a short key, a readable key file, the current key, --generate onto an existing file', async () => {
  const oldKeyText = readFileSync(keyFile, 'utf8');
  const before = await withDb(keyRows);
  const short = randomBytes(16).toString('base64');
  const shortResult = await runCli(['keys', 'rotate-master', '--new-key-file', keyFileAt(join(work, 'short.key'), short)], env);
  refusedWith(shortResult, /^smartalex: .*must be 32 bytes as base64 \(44 chars\) or hex \(64 chars\); got 16 bytes/);
  assert.not.ok(shortResult.stderr.includes(short), 'the key text was echoed');
  refusedWith(await runCli(['keys', 'rotate-master', '--new-key-file', keyFileAt(join(work, 'open.key'), randomBytes(32).toString('hex'), 0o644)], env), /has mode 644; it must be private/);
  refusedWith(await runCli(['keys', 'rotate-master', '--new-key-file', keyFileAt(join(work, 'same.key'), oldKeyText)], env), /^smartalex: .*the new master key is the current one \(local-[0-9a-f]{16}\); nothing changed$/);
  const existing = keyFileAt(join(work, 'existing.key'), 'keep me');
  refusedWith(await runCli(['keys', 'rotate-master', '--generate', '--out', existing], env), /already exists; refusing to overwrite it/);
  assert.is(readFileSync(existing, 'utf8'), 'keep me');

  assert.is(await withDb(keyRows), before, 'a refused rotation changed tenant keys');
  assert.is(readFileSync(keyFile, 'utf8'), oldKeyText, 'a refused rotation changed the key file');
  assert.not.ok(existsSync(join(dataDir, 'master.key.next')), 'a staged key was left behind');
});

test('refused with nothing changed when a tenant key is wrapped by a master key this server does not hold', async () => {
  const stray = (await withDb(async (db) => {
    const tenant = (await createTenant(db, { name: 'stray' })).id;
    await new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) }).getOrCreateTenantKey(tenant);
    return { tenant, rows: await keyRows(db) };
  }));
  const oldKeyText = readFileSync(keyFile, 'utf8');
  const result = await runCli(['keys', 'rotate-master', '--generate', '--out', join(work, 'unused.key')], env);
  refusedWith(result, /^smartalex: master key not rotated, nothing changed: tenant key [0-9a-f-]+\/tk1-[0-9a-f]+ is wrapped by master key local-[0-9a-f]{16}, which this key ring does not hold$/);
  assert.is(await withDb(keyRows), stray.rows);
  assert.is(readFileSync(keyFile, 'utf8'), oldKeyText);
  assert.not.ok(existsSync(join(dataDir, 'master.key.next')));
  await withDb(async (db) => { await db.owner.execute(sql`delete from tenant_keys where tenant_id = ${stray.tenant}`); });
});

test('rotated: a restart with the new key only reads everything, the old key alone nothing; the shredded tenant stays shredded; key file swapped, old kept; audited by id', async () => {
  const oldKeyText = readFileSync(keyFile, 'utf8');
  const oldMaster = await LocalMasterKey.fromKeyFile(keyFile);
  const newKeyPath = join(work, 'new.key');
  const out = ok(await runCli(['keys', 'rotate-master', '--generate', '--out', newKeyPath], env), 'rotate-master');
  const newKeyText = readFileSync(newKeyPath, 'utf8');
  const newMaster = await LocalMasterKey.fromKeyFile(newKeyPath);
  assert.match(out, new RegExp(`master key rotated: ${oldMaster.keyId} -> ${newMaster.keyId}; 2 tenant key versions of 2 tenants re-wrapped in one transaction`));
  assert.match(out, /links, control-plane sessions, WebRTC call tokens and media-stream tokens .* stop working when the server next starts/);
  for (const secret of [oldKeyText.trim(), newKeyText.trim()]) assert.not.ok(out.includes(secret), 'a key was printed');

  assert.is(readFileSync(keyFile, 'utf8'), newKeyText, 'master.key holds the new key');
  const oldCopy = join(dataDir, `master.key.old-${oldMaster.keyId}`);
  assert.is(readFileSync(oldCopy, 'utf8'), oldKeyText, 'the old key is kept');
  for (const path of [keyFile, oldCopy, newKeyPath]) assert.is(statSync(path).mode & 0o777, 0o600, `${path} is not 0600`);
  assert.not.ok(existsSync(join(dataDir, 'master.key.next')));

  await withDb(async (db) => {
    // "restart": the vault as a server builds it, from the data directory, which now holds the new key only
    const setup = await openRecordingVault({ SMARTALEX_DATA_DIR: dataDir, SMARTALEX_MASTER_KEY: undefined }, db);
    assert.is(setup.vault.keys.masterKeyId, newMaster.keyId);
    for (const { tenant, recording } of live) {
      assert.ok((await setup.vault.read({ tenantId: tenant, recordingId: recording })).pcm.equals(expectedStereo(FRAMES)), 'a recording no longer decrypts');
    }
    const [sealed] = await getSealedProviderKeys(db, live[0]!.tenant);
    assert.is(await unsealProviderKey(setup.vault.keys, live[0]!.tenant, sealed!), 'dg-secret-provider-key-1234');
    try {
      await setup.vault.read({ tenantId: shredded.tenant, recordingId: shredded.recording });
      assert.unreachable('the shredded tenant\'s recording decrypted');
    } catch (error) {
      assert.instance(error, KeyDestroyedError);
    }

    const oldOnly = new RecordingVault({ store: new LocalObjectStore(join(dataDir, 'recordings')), keys: new KeyRing({ master: oldMaster, store: new PostgresTenantKeyStore(db) }) });
    for (const { tenant, recording } of live) {
      try {
        await oldOnly.read({ tenantId: tenant, recordingId: recording });
        assert.unreachable('the old key alone still opens a recording');
      } catch (error) {
        assert.instance(error, KeyNotFoundError);
      }
    }

    const stored = rows<{ master_key_id: string; destroyed: boolean }>(await db.owner.execute(sql`select master_key_id, destroyed_at is not null as destroyed from tenant_keys`));
    assert.ok(stored.filter((r) => !r.destroyed).every((r) => r.master_key_id === newMaster.keyId), 'a live tenant key is still under the old master');
    assert.ok(stored.some((r) => r.destroyed), 'the tombstone is gone');

    for (const { tenant } of live) {
      const entry = (await listAudit(db, tenant)).find((e) => e.action === 'master-key.rotated');
      assert.ok(entry, 'the rotation is not in the tenant\'s audit log');
      assert.is(entry.actor, 'operator:cli');
      assert.equal(entry.detail, { fromMasterKeyId: oldMaster.keyId, toMasterKeyId: newMaster.keyId, versions: [1] });
    }
    const events = rows<{ detail: unknown }>(await db.owner.execute(sql`select detail from security_events where type = 'master-key.rotated'`));
    assert.equal(events.map((e) => e.detail), [{ fromMasterKeyId: oldMaster.keyId, toMasterKeyId: newMaster.keyId, actor: 'operator:cli', rewrapped: 2, tenants: 2 }]);
    const trail = JSON.stringify(rows(await db.owner.execute(sql`select detail from audit_log union all select detail from security_events`)));
    for (const key of [oldKeyText, newKeyText]) {
      const bytes = Buffer.from(key.trim(), 'base64');
      for (const form of [key.trim(), bytes.toString('hex')]) assert.not.ok(trail.includes(form), 'key bytes reached the audit trail');
    }
  });
});

test('with SMARTALEX_MASTER_KEY set: rotated, the key file left alone, and the new key opens everything', async () => {
  const current = readFileSync(keyFile, 'utf8');
  const next = keyFileAt(join(work, 'next.key'), randomBytes(32).toString('hex') + '\n');
  const out = ok(await runCli(['keys', 'rotate-master', '--new-key-file', next], { ...env, SMARTALEX_MASTER_KEY: current.trim() }), 'rotate-master with SMARTALEX_MASTER_KEY');
  assert.match(out, /SMARTALEX_MASTER_KEY is set, so no key file was changed: set it to the new key/);
  assert.is(readFileSync(keyFile, 'utf8'), current, 'the key file changed');
  await withDb(async (db) => {
    const setup = await openRecordingVault({ SMARTALEX_DATA_DIR: dataDir, SMARTALEX_MASTER_KEY: readFileSync(next, 'utf8').trim() }, db);
    for (const { tenant, recording } of live) assert.ok((await setup.vault.read({ tenantId: tenant, recordingId: recording })).pcm.equals(expectedStereo(FRAMES)));
  });
});

test.run();
