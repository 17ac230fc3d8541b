import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createTenant, PostgresTenantKeyStore, rows, withTenant, schema } from '../../../storage/index.ts';
import {
  HEADER_LENGTH, KeyDestroyedError, KeyRing, LocalMasterKey, LocalObjectStore, RecordingVault,
} from '../../../storage/vault/index.ts';
import { backends } from '../../support/databases.ts';
import { pattern, record, rejection } from '../vault/support/helpers.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const root = await mkdtemp(join(tmpdir(), 'tenant-keys-'));
  const store = new LocalObjectStore(root);
  const tenantKeys = new PostgresTenantKeyStore(db);
  const master = LocalMasterKey.generate();
  const keys = new KeyRing({ master, store: tenantKeys });
  const vault = new RecordingVault({ store, keys, chunkSize: 1024 });
  const a = await createTenant(db, { name: 'a' });
  const b = await createTenant(db, { name: 'b' });

  test(`[${backend.name}] tenant_keys: composite key, version unique, RLS forced with the tenant policy`, async () => {
    const info = rows<{ forced: boolean; enabled: boolean; policies: number }>(await db.owner.execute(sql`
      select c.relforcerowsecurity as forced, c.relrowsecurity as enabled,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid and p.polname = 'tenant_isolation') as policies
      from pg_class c where c.relname = 'tenant_keys'`))[0]!;
    assert.equal(info, { forced: true, enabled: true, policies: 1 });
    const cons = rows<{ conname: string }>(await db.owner.execute(sql`
      select conname from pg_constraint where conrelid = 'tenant_keys'::regclass and contype in ('p', 'u', 'f') order by conname`)).map((r) => r.conname);
    assert.equal(cons, ['tenant_keys_tenant_key'], 'primary key (tenant_id, key_id), no foreign key to tenants');
    const unique = rows<{ indexname: string }>(await db.owner.execute(sql`
      select indexname from pg_indexes where tablename = 'tenant_keys' and indexdef like 'CREATE UNIQUE INDEX%' order by indexname`)).map((r) => r.indexname);
    assert.equal(unique, ['tenant_keys_tenant_key', 'tenant_keys_tenant_version']);
  });

  test(`[${backend.name}] versions accumulate per tenant and stay invisible to other tenants`, async () => {
    const v1 = await keys.getOrCreateTenantKey(a.id);
    assert.is(v1.version, 1);
    assert.is((await keys.getOrCreateTenantKey(a.id)).keyId, v1.keyId, 'same key on second use');
    const v2 = await keys.rotateTenantKey(a.id);
    assert.is(v2.version, 2);
    assert.is((await tenantKeys.get(a.id))!.keyId, v2.keyId);
    assert.ok(await tenantKeys.getByKeyId(a.id, v1.keyId));
    assert.is(await tenantKeys.getByKeyId(b.id, v1.keyId), null, 'tenant b cannot see a key of tenant a');
    const seen = await withTenant(db, b.id, (tx) => tx.select().from(schema.tenantKeys));
    assert.is(seen.length, 0);
    const stored = (await tenantKeys.get(a.id))!;
    assert.is(stored.masterKeyId, master.keyId);
    assert.is(stored.wrapped.length, 61, 'wrapped, never the plain 32-byte key');
  });

  test(`[${backend.name}] tenant key rotation re-wraps the header only; audio bytes unchanged and still decrypt`, async () => {
    const ref = { tenantId: b.id, recordingId: 'rot-1' };
    const plain = pattern(1024 * 3 + 100, 3);
    await record(vault, ref, plain);
    const before = await readFile(store.pathOf(ref));
    const rotated = await vault.rotateTenantKey(b.id, ['rot-1']);
    assert.is(rotated.rewrapped, 1);
    const after = await readFile(store.pathOf(ref));
    assert.ok(after.subarray(HEADER_LENGTH).equals(before.subarray(HEADER_LENGTH)), 'audio chunks byte-identical');
    assert.not.ok(after.equals(before), 'key block rewritten');
    assert.ok((await vault.read(ref)).pcm.equals(plain));
  });

  test(`[${backend.name}] master key rotation re-wraps tenant keys in the database; files untouched`, async () => {
    const ref = { tenantId: a.id, recordingId: 'mrot-1' };
    const plain = pattern(5000, 4);
    await record(vault, ref, plain);
    const before = await readFile(store.pathOf(ref));
    const next = LocalMasterKey.generate();
    const { rewrapped } = await keys.rotateMasterKey(next);
    assert.ok(rewrapped >= 3, `rewrapped ${rewrapped}`);
    assert.ok((await readFile(store.pathOf(ref))).equals(before));
    const fresh = new RecordingVault({ store, keys: new KeyRing({ master: next, store: new PostgresTenantKeyStore(db) }) });
    assert.ok((await fresh.read(ref)).pcm.equals(plain), 'decrypts with the new master alone');
    for (const row of await tenantKeys.listLive()) assert.is(row.masterKeyId, next.keyId);
  });

  test(`[${backend.name}] destroy keeps tombstones; reads fail with KeyDestroyedError`, async () => {
    const c = await createTenant(db, { name: 'c' });
    const ref = { tenantId: c.id, recordingId: 'gone-1' };
    await record(vault, ref, pattern(3000, 5));
    await keys.destroyTenantKey(c.id);
    const tomb = await withTenant(db, c.id, (tx) => tx.select().from(schema.tenantKeys));
    assert.is(tomb.length, 1);
    assert.is(tomb[0]!.wrappedKey, null);
    assert.ok(tomb[0]!.destroyedAt);
    assert.instance(await rejection(vault.read(ref)), KeyDestroyedError);
    assert.instance(await rejection(keys.getOrCreateTenantKey(c.id)), KeyDestroyedError);
  });

  test.after(async () => {
    await rm(root, { recursive: true, force: true });
    await backend.cleanup();
  });
}

test.run();
