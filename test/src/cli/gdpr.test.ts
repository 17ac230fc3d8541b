/**
 * `smartalex gdpr export / erase` through the real CLI: the export writes a
 * ZIP with the subject's records (and refuses an existing file), the erasure
 * needs --yes, removes the subject's contact and consent and keeps the
 * do-not-call entry; neither prints the number.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listDoNotCallEntries, withTenant, schema } from '../../../storage/index.ts';
import { readZip } from '../gdpr/read-zip.ts';
import { ok, runCli, targetKinds, withOpen } from './targets.ts';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] gdpr export and erase`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      const { tenantId } = JSON.parse(ok(await runCli(['tenant', 'create', '--name', 'Gdpr', '--json'], env), 'tenant create')) as { tenantId: string };
      ok(await runCli(['consent', 'grant', '+14157770001', '--tenant', tenantId, '--source', 'form'], env), 'consent grant');
      ok(await runCli(['dnc', 'add', '+14157770001', '--tenant', tenantId], env), 'dnc add');
      await withOpen(target, async (db) => {
        await withTenant(db, tenantId, (tx) => tx.insert(schema.contacts).values({ tenantId, name: 'Zed', phone: '+14157770001' }));
      });
      const out = join(target.dataDir, 'subject.zip');
      const exported = ok(await runCli(['gdpr', 'export', '--tenant', tenantId, '--phone', '(415) 777-0001', '--out', out], env), 'gdpr export');
      assert.match(exported, /1 contacts/);
      assert.not.ok(exported.includes('7770001'));
      const files = readZip(await readFile(out));
      assert.ok(files.has('manifest.json') && files.has('contacts.csv'));
      assert.match(files.get('contacts.csv')!.toString(), /Zed/);
      assert.is.not((await runCli(['gdpr', 'export', '--tenant', tenantId, '--phone', '4157770001', '--out', out], env)).code, 0, 'an existing file is not overwritten');
      assert.is.not((await runCli(['gdpr', 'erase', '--tenant', tenantId, '--phone', '4157770001'], env)).code, 0, 'erase needs --yes');
      const erased = ok(await runCli(['gdpr', 'erase', '--tenant', tenantId, '--phone', '4157770001', '--yes'], env), 'gdpr erase');
      assert.match(erased, /1 contact\(s\).*1 consent\(s\); do-not-call entries kept: 1/);
      await withOpen(target, async (db) => {
        assert.is((await withTenant(db, tenantId, (tx) => tx.select().from(schema.contacts))).length, 0);
        assert.is((await listDoNotCallEntries(db, tenantId)).length, 1);
      });
      assert.ok(existsSync(out));
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
