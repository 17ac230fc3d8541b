import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  KeyDestroyedError,
  KeyNotFoundError,
  KeyRing,
  LocalMasterKey,
  MASTER_KEY_ENV,
  MASTER_KEY_FILE,
  MasterKeyError,
  MemoryTenantKeyStore,
  WrongKeyError,
  loadMasterKey,
  parseMasterKey,
} from '../../../storage/vault/index.ts';
import { rejection } from './support/helpers.ts';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'vault-keys-'));
}

test('master key text: 32 bytes as hex or base64; other lengths fail without echoing the value', () => {
  const key = randomBytes(32);
  assert.ok(parseMasterKey(key.toString('hex')).equals(key));
  assert.ok(parseMasterKey(key.toString('base64')).equals(key));
  assert.ok(parseMasterKey(` ${key.toString('base64')}\n`).equals(key));
  const short = randomBytes(16).toString('base64');
  for (const bad of [short, 'not a key!', randomBytes(33).toString('hex')]) {
    const err = (() => { try { parseMasterKey(bad); } catch (e) { return e; } return null; })();
    assert.instance(err, MasterKeyError);
    assert.match(String(err), /32 bytes/);
    assert.not.match(String(err), bad);
  }
});

test('SMARTALEX_MASTER_KEY wins over the key file; unset means the file', async () => {
  const dir = await tempDir();
  try {
    const key = randomBytes(32);
    const fromEnv = await loadMasterKey({ dataDir: dir, env: { [MASTER_KEY_ENV]: key.toString('hex') } });
    assert.is(fromEnv.keyId, new LocalMasterKey(key).keyId);
    const fromFile = await loadMasterKey({ dataDir: dir, env: {} });
    assert.is.not(fromFile.keyId, fromEnv.keyId);
    assert.ok((await stat(join(dir, MASTER_KEY_FILE))).isFile());
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('the key file is created with mode 0600, reused, and refused when others may read it', async () => {
  const dir = await tempDir();
  try {
    const dataDir = join(dir, 'data');
    const first = await LocalMasterKey.fromFile(dataDir);
    const path = join(dataDir, MASTER_KEY_FILE);
    assert.is((await stat(path)).mode & 0o777, 0o600);
    assert.is(parseMasterKey(await readFile(path, 'utf8')).length, 32);
    const again = await LocalMasterKey.fromFile(dataDir);
    assert.is(again.keyId, first.keyId);
    const aad = Buffer.from('aad');
    assert.ok((await again.unwrap(await first.wrap(Buffer.from('secret'), aad), aad)).equals(Buffer.from('secret')));
    await chmod(path, 0o644);
    const err = await rejection(LocalMasterKey.fromFile(dataDir));
    assert.instance(err, MasterKeyError);
    assert.match(String(err), /chmod 600/);
    await chmod(path, 0o600);
    await writeFile(path, 'c2hvcnQ=\n');
    assert.instance(await rejection(LocalMasterKey.fromFile(dataDir)), MasterKeyError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a master-wrapped key does not unwrap with another AAD or another master', async () => {
  const a = LocalMasterKey.generate();
  const wrapped = await a.wrap(randomBytes(32), Buffer.from('tenant-a'));
  assert.instance(await rejection(a.unwrap(wrapped, Buffer.from('tenant-b'))), WrongKeyError);
  assert.instance(await rejection(LocalMasterKey.generate().unwrap(wrapped, Buffer.from('tenant-a'))), WrongKeyError);
});

test('tenant keys are created once; data keys unwrap only for their own recording', async () => {
  const ring = new KeyRing({ master: LocalMasterKey.generate(), store: new MemoryTenantKeyStore() });
  const k1 = await ring.getOrCreateTenantKey('acme');
  const [k2, k3] = await Promise.all([ring.getOrCreateTenantKey('acme'), ring.getOrCreateTenantKey('acme')]);
  assert.is(k2.keyId, k1.keyId);
  assert.is(k3.keyId, k1.keyId);
  assert.is(k1.version, 1);
  const dk = await ring.newDataKey('acme', 'rec-1');
  assert.is(dk.plainKey.length, 32);
  assert.is(dk.keyId, k1.keyId);
  const header = { tenantId: 'acme', recordingId: 'rec-1', keyId: dk.keyId, wrappedKey: dk.wrapped };
  assert.ok((await ring.unwrapDataKey(header)).equals(dk.plainKey));
  assert.instance(await rejection(ring.unwrapDataKey({ ...header, recordingId: 'rec-2' })), WrongKeyError);
  assert.instance(await rejection(ring.unwrapDataKey({ ...header, keyId: 'tk9-000000000000' })), KeyNotFoundError);
  assert.not.ok(dk.wrapped.includes(dk.plainKey.subarray(0, 8)));
});

test('a tenant key row copied to another tenant does not unwrap there', async () => {
  const store = new MemoryTenantKeyStore();
  const ring = new KeyRing({ master: LocalMasterKey.generate(), store });
  await ring.getOrCreateTenantKey('acme');
  const acme = (await store.get('acme'))!;
  await store.put({ ...acme, tenantId: 'evil' });
  assert.instance(await rejection(ring.newDataKey('evil', 'r')), WrongKeyError);
});

test('master rotation re-wraps tenant keys so the old master is no longer needed', async () => {
  const store = new MemoryTenantKeyStore();
  const oldMaster = LocalMasterKey.generate();
  const ring = new KeyRing({ master: oldMaster, store });
  const dk = await ring.newDataKey('acme', 'rec-1');
  await ring.newDataKey('globex', 'rec-9');
  const newMaster = LocalMasterKey.generate();
  assert.is((await ring.rotateMasterKey(newMaster)).rewrapped, 2);
  for (const row of await store.listLive()) assert.is(row.masterKeyId, newMaster.keyId);
  const header = { tenantId: 'acme', recordingId: 'rec-1', keyId: dk.keyId, wrappedKey: dk.wrapped };
  const onlyNew = new KeyRing({ master: newMaster, store });
  assert.ok((await onlyNew.unwrapDataKey(header)).equals(dk.plainKey));
  const onlyOld = new KeyRing({ master: oldMaster, store });
  assert.instance(await rejection(onlyOld.unwrapDataKey(header)), KeyNotFoundError);
});

test('master rotation is refused, changing nothing, for the current key or a version under a master the ring does not hold', async () => {
  const store = new MemoryTenantKeyStore();
  const master = LocalMasterKey.generate();
  const ring = new KeyRing({ master, store });
  await ring.newDataKey('acme', 'rec-1');
  await new KeyRing({ master: LocalMasterKey.generate(), store }).newDataKey('stray', 'rec-2');
  const before = JSON.stringify(await store.listLive());
  assert.instance(await rejection(ring.rotateMasterKey(master)), MasterKeyError);
  assert.instance(await rejection(ring.rotateMasterKey(LocalMasterKey.generate())), KeyNotFoundError);
  assert.is(JSON.stringify(await store.listLive()), before, 'a refused rotation changed a row');
  assert.is(ring.masterKeyId, master.keyId);
});

test('a tenant key created while a master rotation runs waits for it and is wrapped by the new master', async () => {
  const store = new MemoryTenantKeyStore();
  let release!: () => void;
  const held = new Promise<void>((resolve) => { release = resolve; });
  let entered!: () => void;
  const inside = new Promise<void>((resolve) => { entered = resolve; });
  const rewrapAll = store.rewrapAll.bind(store);
  store.rewrapAll = async (...args) => { entered(); await held; return rewrapAll(...args); };
  const ring = new KeyRing({ master: LocalMasterKey.generate(), store });
  await ring.newDataKey('acme', 'rec-1');
  const newMaster = LocalMasterKey.generate();
  const rotation = ring.rotateMasterKey(newMaster);
  await inside;
  const created = ring.getOrCreateTenantKey('globex');
  assert.instance(await rejection(ring.rotateMasterKey(LocalMasterKey.generate())), MasterKeyError, 'a second rotation at once');
  release();
  assert.is((await rotation).rewrapped, 1);
  assert.is((await created).masterKeyId, newMaster.keyId);
  for (const row of await store.listLive()) assert.is(row.masterKeyId, newMaster.keyId);
});

test('destroying a tenant key shreds that tenant only, and refuses new keys for it', async () => {
  const store = new MemoryTenantKeyStore();
  const ring = new KeyRing({ master: LocalMasterKey.generate(), store });
  const acme = await ring.newDataKey('acme', 'rec-1');
  const globex = await ring.newDataKey('globex', 'rec-1');
  await ring.destroyTenantKey('acme');
  const row = (await store.get('acme'))!;
  assert.is(row.wrapped.length, 0);
  assert.ok(row.destroyedAt instanceof Date);
  assert.instance(await rejection(ring.unwrapDataKey({ tenantId: 'acme', recordingId: 'rec-1', keyId: acme.keyId, wrappedKey: acme.wrapped })), KeyDestroyedError);
  assert.instance(await rejection(ring.newDataKey('acme', 'rec-2')), KeyDestroyedError);
  assert.instance(await rejection(ring.rotateTenantKey('acme')), KeyDestroyedError);
  const g = await ring.unwrapDataKey({ tenantId: 'globex', recordingId: 'rec-1', keyId: globex.keyId, wrappedKey: globex.wrapped });
  assert.ok(g.equals(globex.plainKey));
});

test('retiring older tenant key versions: only the current one stays; data naming a retired one fails, saying why', async () => {
  const store = new MemoryTenantKeyStore();
  const ring = new KeyRing({ master: LocalMasterKey.generate(), store });
  const old = await ring.newDataKey('acme', 'rec-1');
  const v2 = await ring.rotateTenantKey('acme');
  const v3 = await ring.rotateTenantKey('acme');
  assert.instance(await rejection(ring.retireOlderTenantKeys('acme', v2.keyId)), KeyNotFoundError, 'only the current version can be kept');
  assert.is((await ring.liveTenantKeys('acme')).length, 3, 'nothing retired by the refused call');
  const { retired, erasure } = await ring.retireOlderTenantKeys('acme', v3.keyId);
  assert.equal(retired.map((k) => k.version), [1, 2]);
  assert.equal(erasure, { complete: true, caveats: [] });
  assert.equal((await ring.liveTenantKeys('acme')).map((k) => k.keyId), [v3.keyId]);
  for (const row of await store.versions('acme')) if (row.keyId !== v3.keyId) assert.is(row.wrapped.length, 0);
  const err = await rejection(ring.unwrapDataKey({ tenantId: 'acme', recordingId: 'rec-1', keyId: old.keyId, wrappedKey: old.wrapped }));
  assert.instance(err, KeyDestroyedError);
  assert.match((err as Error).message, /\(version 1\) of tenant acme was retired by key rotation/);
  assert.ok((await ring.newDataKey('acme', 'rec-2')).keyId === v3.keyId, 'the current version keeps working');
  assert.equal((await ring.retireOlderTenantKeys('acme', v3.keyId)).retired, [], 'nothing left to retire');
});

test.run();
