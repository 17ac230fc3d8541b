/**
 * `smartalex number set-carrier / remove-carrier` through the real CLI: the
 * carrier credential (Twilio auth token, Telnyx public key) comes from
 * standard input only, is stored sealed (no table holds it in plain text), is
 * never printed, and unseals to the same credential for the webhook check.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getNumberCarrier, listNumbers, PostgresTenantKeyStore } from '../../../storage/index.ts';
import { KeyRing, loadMasterKey } from '../../../storage/vault/index.ts';
import { everything, ok, runCli, targetKinds, withOpen } from './targets.ts';

const TOKEN = 'twilio-auth-token-cli-0123456789abcdef';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] number set-carrier / remove-carrier`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      const { tenantId } = JSON.parse(ok(await runCli(['tenant', 'create', '--name', 'Carriers', '--json'], env), 'tenant create')) as { tenantId: string };
      ok(await runCli(['agent', 'create', '--tenant', tenantId, '--name', 'support'], env), 'agent create');
      ok(await runCli(['number', 'add', '--tenant', tenantId, '--number', '+14152001234', '--agent', 'support', '--allow', '192.0.2.1'], env), 'number add');
      const set = ok(await runCli(['number', 'set-carrier', '--tenant', tenantId, '--number', '+14152001234', '--carrier', 'twilio'], env, `${TOKEN}\n`), 'set-carrier');
      assert.match(set, /twilio media streams on/);
      assert.not.ok(set.includes(TOKEN));
      // Unknown carriers, an empty credential and an unknown number are refused.
      assert.is.not((await runCli(['number', 'set-carrier', '--tenant', tenantId, '--number', '+14152001234', '--carrier', 'vonage'], env, 'x\n')).code, 0);
      assert.is.not((await runCli(['number', 'set-carrier', '--tenant', tenantId, '--number', '+14152001234', '--carrier', 'telnyx'], env, '')).code, 0);
      assert.is.not((await runCli(['number', 'set-carrier', '--tenant', tenantId, '--number', '+14159999999', '--carrier', 'twilio'], env, 'x\n')).code, 0);

      await withOpen(target, async (db) => {
        assert.not.ok((await everything(db)).includes(TOKEN), 'no table holds the credential in plain text');
        const keys = new KeyRing({ master: await loadMasterKey({ dataDir: target.dataDir, env: {} }), store: new PostgresTenantKeyStore(db) });
        const [number] = await listNumbers(db, tenantId);
        assert.equal(await getNumberCarrier(db, keys, tenantId, number!.id), { carrier: 'twilio', credential: TOKEN });
      });

      assert.match(ok(await runCli(['number', 'remove-carrier', '--tenant', tenantId, '--number', '+14152001234'], env), 'remove-carrier'), /carrier removed/);
      assert.is((await runCli(['number', 'remove-carrier', '--tenant', tenantId, '--number', '+14152001234'], env)).code, 1);
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
