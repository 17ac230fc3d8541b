/**
 * Per-tenant provider API keys: sealed with the tenant key (the stored bytes
 * never hold the key), invisible to other tenants, removable, unreadable once
 * the tenant's keys are destroyed or under another master key; the loader
 * feeds the provider choice, which prefers the tenant's key over the server's.
 * Runs on PGlite and on a Postgres server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import {
  createTenant, getSealedProviderKeys, listProviderKeys, PostgresTenantKeyStore, removeProviderKey, rows, setProviderKey, unsealProviderKey, withTenant, schema,
} from '../../../storage/index.ts';
import { KeyDestroyedError, KeyRing, LocalMasterKey } from '../../../storage/vault/index.ts';
import { cachedTenantKeys, chooseProviders, createProviders, loadTenantProviderKeys, providerKeys, type ProviderEnvironment } from '../../../src/agents/index.ts';
import { backends } from '../../support/databases.ts';

async function rejects(work: () => Promise<unknown>, check?: (e: unknown) => boolean): Promise<void> {
  let error: unknown;
  try {
    await work();
  } catch (e) {
    error = e ?? new Error('rejected');
  }
  assert.ok(error, 'expected a rejection');
  if (check) assert.ok(check(error), `unexpected error: ${(error as Error)?.name}`);
}

const DEEPGRAM_KEY = 'dg-tenant-a-0123456789abcdef';
const OPENAI_KEY = 'sk-tenant-a-fedcba9876543210';

for (const backend of await backends()) {
  const db = await backend.open();
  const master = LocalMasterKey.generate();
  const keys = new KeyRing({ master, store: new PostgresTenantKeyStore(db) });
  const a = await createTenant(db, { name: 'a' });
  const b = await createTenant(db, { name: 'b' });

  test(`[${backend.name}] tenant_provider_keys: RLS forced with the tenant policy, provider checked`, async () => {
    const info = rows<{ forced: boolean; enabled: boolean; policies: number }>(await db.owner.execute(sql`
      select c.relforcerowsecurity as forced, c.relrowsecurity as enabled,
             (select count(*)::int from pg_policy p where p.polrelid = c.oid and p.polname = 'tenant_isolation') as policies
      from pg_class c where c.relname = 'tenant_provider_keys'`))[0]!;
    assert.equal(info, { forced: true, enabled: true, policies: 1 });
    let refused = false;
    await withTenant(db, a.id, (tx) => tx.insert(schema.tenantProviderKeys).values({ tenantId: a.id, provider: 'polly', sealed: Buffer.from('x'), keyId: 'k' }))
      .catch(() => { refused = true; });
    assert.ok(refused, 'an unknown provider is refused by the check constraint');
  });

  test(`[${backend.name}] set then load returns the key; the stored bytes do not hold it; listing shows names only`, async () => {
    await setProviderKey(db, keys, a.id, 'deepgram', DEEPGRAM_KEY);
    await setProviderKey(db, keys, a.id, 'openai', OPENAI_KEY);
    assert.equal(await loadTenantProviderKeys(db, keys, a.id), { deepgramApiKey: DEEPGRAM_KEY, openaiApiKey: OPENAI_KEY });
    const stored = await withTenant(db, a.id, (tx) => tx.select().from(schema.tenantProviderKeys));
    assert.is(stored.length, 2);
    for (const row of stored) {
      const bytes = Buffer.from(row.sealed);
      for (const secret of [DEEPGRAM_KEY, OPENAI_KEY]) {
        assert.is(bytes.includes(Buffer.from(secret)), false, 'sealed bytes hold no plain key');
        assert.is(bytes.toString('latin1').includes(secret.slice(0, 12)), false);
        assert.is(bytes.toString('base64').includes(secret), false);
      }
      assert.is(row.keyId, (await keys.getOrCreateTenantKey(a.id)).keyId);
    }
    const listed = await listProviderKeys(db, a.id);
    assert.equal(listed.map((k) => k.provider), ['deepgram', 'openai']);
    assert.not.ok(JSON.stringify(listed).includes(DEEPGRAM_KEY) || JSON.stringify(listed).includes('sealed'));
    // Setting again replaces the key.
    await setProviderKey(db, keys, a.id, 'openai', `${OPENAI_KEY}-2`);
    assert.is((await loadTenantProviderKeys(db, keys, a.id))!.openaiApiKey, `${OPENAI_KEY}-2`);
    await setProviderKey(db, keys, a.id, 'openai', OPENAI_KEY);
  });

  test(`[${backend.name}] another tenant sees no row and loads nothing`, async () => {
    const seen = await withTenant(db, b.id, (tx) => tx.select().from(schema.tenantProviderKeys));
    assert.equal(seen, []);
    assert.equal(await listProviderKeys(db, b.id), []);
    assert.is(await loadTenantProviderKeys(db, keys, b.id), undefined);
    // Tenant A's sealed bytes copied to tenant B do not unseal there (AAD binds the tenant).
    const [row] = await getSealedProviderKeys(db, a.id);
    await keys.getOrCreateTenantKey(b.id);
    await rejects(() => unsealProviderKey(keys, b.id, row!));
  });

  test(`[${backend.name}] removing a key`, async () => {
    const c = await createTenant(db, { name: 'c' });
    await setProviderKey(db, keys, c.id, 'deepgram', 'dg-c');
    await setProviderKey(db, keys, c.id, 'openai', 'sk-c');
    assert.is(await removeProviderKey(db, c.id, 'deepgram'), true);
    assert.is(await removeProviderKey(db, c.id, 'deepgram'), false);
    assert.equal(await loadTenantProviderKeys(db, keys, c.id), { openaiApiKey: 'sk-c' });
    await removeProviderKey(db, c.id, 'openai');
    assert.is(await loadTenantProviderKeys(db, keys, c.id), undefined);
  });

  test(`[${backend.name}] another master key cannot unseal`, async () => {
    const other = new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) });
    const [row] = await getSealedProviderKeys(db, a.id);
    await rejects(() => unsealProviderKey(other, a.id, row!));
    const failures: string[] = [];
    assert.is(await loadTenantProviderKeys(db, other, a.id, { onUnsealFailure: (p, e) => failures.push(`${p}:${e}`) }), undefined);
    assert.is(failures.length, 2);
    assert.not.ok(failures.join().includes(DEEPGRAM_KEY));
  });

  test(`[${backend.name}] destroyed tenant keys (erase) cannot unseal`, async () => {
    const d = await createTenant(db, { name: 'd' });
    await setProviderKey(db, keys, d.id, 'openai', 'sk-d-secret');
    const [row] = await getSealedProviderKeys(db, d.id);
    await keys.destroyTenantKey(d.id);
    await rejects(() => unsealProviderKey(keys, d.id, row!), (e: unknown) => e instanceof KeyDestroyedError);
    assert.is(await loadTenantProviderKeys(db, keys, d.id), undefined);
    await rejects(() => setProviderKey(db, keys, d.id, 'openai', 'sk-new'), (e: unknown) => e instanceof KeyDestroyedError);
  });

  test(`[${backend.name}] deleting the tenant deletes its provider keys (cascade)`, async () => {
    const e = await createTenant(db, { name: 'e' });
    await setProviderKey(db, keys, e.id, 'deepgram', 'dg-e');
    await withTenant(db, e.id, (tx) => tx.delete(schema.tenants));
    const left = rows<{ n: number }>(await db.owner.execute(sql`select count(*)::int as n from tenant_provider_keys where tenant_id = ${e.id}`))[0]!;
    assert.is(Number(left.n), 0);
  });

  test(`[${backend.name}] cleanup`, async () => {
    await backend.cleanup();
  });
}

const offline: ProviderEnvironment['offline'] = {
  espeakWasm: { available: true },
  espeakNg: { available: true },
  pocketsphinx: { available: true, modelDir: '/m' },
  scriptedLlm: { available: true },
};
const server = { SMARTALEX_LLM_MODEL: 'gpt-4o-mini', DEEPGRAM_API_KEY: 'dg-server', OPENAI_API_KEY: 'sk-server' } as ProviderEnvironment['config'];

test('the tenant\'s key is chosen over the server-wide one', () => {
  const env: ProviderEnvironment = { config: server, offline, tenantKeys: { deepgramApiKey: 'dg-tenant' } };
  assert.equal(providerKeys(env), { deepgram: 'dg-tenant', openai: 'sk-server' });
  assert.equal(providerKeys({ config: server, offline }), { deepgram: 'dg-server', openai: 'sk-server' });
  assert.equal(providerKeys({ config: { SMARTALEX_LLM_MODEL: 'm' } as ProviderEnvironment['config'], offline, tenantKeys: { openaiApiKey: 'sk-tenant' } }), { openai: 'sk-tenant' });
  const choice = chooseProviders({ providerSettings: {} }, env);
  assert.is(choice.stt.kind, 'deepgram');
  const providers = createProviders(choice, env, 8000);
  assert.is(providers.stt.name, 'deepgram');
});

test('tenant keys are cached per tenant for the TTL; a failed load is retried', async () => {
  let now = 0;
  const loads: string[] = [];
  let fail = false;
  const cached = cachedTenantKeys(async (tenantId) => {
    loads.push(tenantId);
    if (fail) throw new Error('db down');
    return { openaiApiKey: `sk-${tenantId}` };
  }, { ttlMs: 60_000, now: () => now });
  assert.equal(await cached('t1'), { openaiApiKey: 'sk-t1' });
  await cached('t1');
  await cached('t2');
  assert.equal(loads, ['t1', 't2']);
  now = 60_001;
  fail = true;
  await rejects(() => cached('t1'));
  fail = false;
  assert.equal(await cached('t1'), { openaiApiKey: 'sk-t1' });
  assert.equal(loads, ['t1', 't2', 't1', 't1']);
});

test.run();
