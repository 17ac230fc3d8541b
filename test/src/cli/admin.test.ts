/**
 * The operator commands, through the real `smartalex` CLI in a child process,
 * on an empty embedded data directory and on an empty Postgres server
 * database: migrate (twice), tenant create (key shown once, stored as a hash),
 * agent create/list. `number add` is in numbers.test.ts and number-digest.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { authenticateApiKey, MIGRATIONS_FOLDER, rows } from '../../../storage/index.ts';
import { everything, ok, refusedWith, runCli, targetKinds, withOpen } from './targets.ts';

const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] };

for (const kind of await targetKinds()) {
  test(`[${kind.name}] migrate (twice), tenant and agent commands`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      // migrate: every migration once, and again is a no-op
      for (let run = 1; run <= 2; run++) {
        assert.is(ok(await runCli(['migrate'], env), `migrate #${run}`), `migrations applied (${kind.name})\n`);
        const applied = await withOpen(target, async (db) => rows<{ n: number }>(
          await db.owner.execute(sql`select count(*)::int as n from drizzle.__drizzle_migrations`))[0]!.n);
        assert.is(applied, journal.entries.length, `after migrate #${run}`);
      }

      // tenant create --json: id and owner key, once
      const created = ok(await runCli(['tenant', 'create', '--name', 'Acme Dental', '--plan', 'dental', '--json'], env), 'tenant create');
      assert.is(created.trim().split('\n').length, 1, 'one JSON line');
      const { tenantId, apiKey } = JSON.parse(created) as { tenantId: string; apiKey: string };
      assert.match(tenantId, /^[0-9a-f-]{36}$/);
      assert.match(apiKey, /^sak_[A-Za-z0-9_-]{8}_[A-Za-z0-9_-]{43}$/);
      // without --json: a human line with the key, shown exactly once
      const human = ok(await runCli(['tenant', 'create', '--name', 'Other'], env), 'tenant create (human)');
      const humanKey = /owner API key \(shown once, store it now\): (\S+)/.exec(human)?.[1];
      assert.ok(humanKey, human);
      assert.is(human.split(humanKey!).length - 1, 1);

      // agents
      const agentOut = ok(await runCli(['agent', 'create', '--tenant', tenantId, '--name', 'front-desk', '--mode', 'echo', '--no-recording', '--json'], env), 'agent create');
      const { agentId } = JSON.parse(agentOut) as { agentId: string };
      ok(await runCli(['agent', 'create', '--tenant', tenantId, '--name', 'after-hours', '--greeting', 'We are closed.'], env), 'agent create 2');
      const list = JSON.parse(ok(await runCli(['agent', 'list', '--tenant', tenantId, '--json'], env), 'agent list')) as { id: string; name: string; mode: string; recording: boolean }[];
      assert.equal(list.map((a) => a.name), ['front-desk', 'after-hours']);
      assert.equal(list[0], { id: agentId, name: 'front-desk', mode: 'echo', recording: false });
      assert.is(list[1]!.recording, true);
      const humanList = ok(await runCli(['agent', 'list', '--tenant', tenantId], env), 'agent list (human)');
      assert.match(humanList, new RegExp(`^${agentId}  front-desk  echo\n`));
      refusedWith(await runCli(['agent', 'create', '--tenant', tenantId, '--name', 'x', '--mode', 'karaoke'], env), /^smartalex: --mode must be conversation, echo or greeting$/);
      refusedWith(await runCli(['agent', 'list', '--tenant', 'acme'], env), /^smartalex: --tenant must be a tenant id \(UUID\), got "acme"$/);

      await withOpen(target, async (db) => {
        // the owner key authenticates; a near miss does not
        const principal = await authenticateApiKey(db, apiKey);
        assert.ok(principal, 'owner key does not authenticate');
        assert.is(principal!.tenantId, tenantId);
        assert.is(principal!.role, 'owner');
        assert.is(await authenticateApiKey(db, apiKey.slice(0, -1) + (apiKey.endsWith('A') ? 'B' : 'A')), undefined);
        const keyRow = rows<{ prefix: string; key_hash: string }>(await db.owner.execute(sql`select prefix, key_hash from api_keys where tenant_id = ${tenantId}`));
        assert.equal(keyRow.map((r) => ({ prefix: r.prefix, key_hash: r.key_hash })), [{ prefix: apiKey.slice(0, 12), key_hash: createHash('sha256').update(apiKey).digest('hex') }]);

        // no key is stored anywhere in plain text
        const all = await everything(db);
        assert.ok(all.includes(tenantId), 'the scan sees the data');
        assert.not.ok(all.includes(apiKey.slice(13)), 'API key secret stored in plain text');
        assert.not.ok(all.includes(humanKey!.slice(13)), 'API key secret stored in plain text');
        // and each change left an audit entry
        const actions = rows<{ action: string }>(await db.owner.execute(sql`select action from audit_log where tenant_id = ${tenantId} order by at, id`)).map((r) => r.action);
        assert.equal(actions, ['tenant.created', 'agent.created', 'agent.created']);
      });
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
