/**
 * `smartalex tenant set-provider-key / list-provider-keys / remove-provider-key`
 * through the real CLI: the key comes from standard input only, is stored
 * sealed (no table holds it in plain text), is never printed, and unseals to
 * the same key for the tenant's calls.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PostgresTenantKeyStore } from '../../../storage/index.ts';
import { KeyRing, loadMasterKey } from '../../../storage/vault/index.ts';
import { loadTenantProviderKeys } from '../../../src/agents/index.ts';
import { everything, ok, runCli, targetKinds, withOpen } from './targets.ts';

const KEY = 'dg-cli-secret-0123456789abcdef0123';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] tenant set/list/remove-provider-key`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      const { tenantId } = JSON.parse(ok(await runCli(['tenant', 'create', '--name', 'Keys', '--json'], env), 'tenant create')) as { tenantId: string };
      const set = ok(await runCli(['tenant', 'set-provider-key', '--tenant', tenantId, '--provider', 'deepgram'], env, `${KEY}\n`), 'set-provider-key');
      assert.match(set, /deepgram API key stored/);
      assert.not.ok(set.includes(KEY));
      // The key is never taken from the command line, and unknown providers are refused.
      assert.is.not((await runCli(['tenant', 'set-provider-key', '--tenant', tenantId, '--provider', 'deepgram', '--key', KEY], env)).code, 0);
      assert.is.not((await runCli(['tenant', 'set-provider-key', '--tenant', tenantId, '--provider', 'polly'], env, 'x\n')).code, 0);
      assert.is.not((await runCli(['tenant', 'set-provider-key', '--tenant', tenantId, '--provider', 'openai'], env, '')).code, 0);

      const listed = ok(await runCli(['tenant', 'list-provider-keys', '--tenant', tenantId, '--json'], env), 'list-provider-keys');
      assert.equal((JSON.parse(listed) as { provider: string }[]).map((k) => k.provider), ['deepgram']);
      assert.not.ok(listed.includes(KEY));

      await withOpen(target, async (db) => {
        assert.not.ok((await everything(db)).includes(KEY), 'no table holds the key in plain text');
        const keys = new KeyRing({ master: await loadMasterKey({ dataDir: target.dataDir, env: {} }), store: new PostgresTenantKeyStore(db) });
        assert.equal(await loadTenantProviderKeys(db, keys, tenantId), { deepgramApiKey: KEY });
      });

      assert.match(ok(await runCli(['tenant', 'remove-provider-key', '--tenant', tenantId, '--provider', 'deepgram'], env), 'remove-provider-key'), /removed/);
      assert.match(ok(await runCli(['tenant', 'list-provider-keys', '--tenant', tenantId], env), 'list (empty)'), /no provider API keys/);
      assert.is((await runCli(['tenant', 'remove-provider-key', '--tenant', tenantId, '--provider', 'deepgram'], env)).code, 1);
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
