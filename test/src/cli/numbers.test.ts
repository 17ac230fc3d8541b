/**
 * `smartalex number add` with IP allowlists, through the real CLI, on an
 * embedded data directory and on a Postgres server database: allowed CIDRs (a
 * bare address is one host) and bad ones (an empty, signed, leading-zero or
 * out-of-range prefix, a bad address, /0 without --allow-any) refused with one
 * clear line, storing nothing. Digest credentials and the other mistakes are in
 * number-digest.test.ts: as one file, the two ran 44 commands one after another
 * and came nearest of all files to the runner's per-file deadline under load.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { createAgent, createTenant, migrate, routeNumber, rows } from '../../../storage/index.ts';
import { ok, refusedWith, runCli, targetKinds, withOpen } from './targets.ts';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] number add: allowed CIDRs, bad ones refused`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      // a tenant and an agent, made in-process (the tenant and agent commands have their own test)
      const { tenantId, agentId } = await withOpen(target, async (db) => {
        await migrate(db);
        const tenant = await createTenant(db, { name: 'Acme' });
        const agent = await createAgent(db, tenant.id, { name: 'front-desk', mode: 'echo' });
        return { tenantId: tenant.id, agentId: agent.id };
      });
      const add = (number: string, ...rest: string[]) => ['number', 'add', '--tenant', tenantId, '--number', number, ...rest];

      const added = JSON.parse(ok(await runCli(add('2000', '--agent', 'front-desk',
        '--allow', '203.0.113.0/24', '--allow', '198.51.100.7', '--allow', '2001:db8::/32', '--json'), env), 'number add')) as { number: string; agentId: string };
      assert.equal({ number: added.number, agentId: added.agentId }, { number: '2000', agentId });
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '10.0.0.300/8'), env), /^smartalex: --allow "10\.0\.0\.300\/8": "10\.0\.0\.300" is not an IPv4 address/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '10.0.0.0/33'), env), /^smartalex: --allow "10\.0\.0\.0\/33": prefix length 33 is more than 32 for IPv4$/);
      // the review's finding: an empty prefix was read as /0 (every IPv4 source, no digest)
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '203.0.113.7/'), env), /^smartalex: --allow "203\.0\.113\.7\/": has nothing after "\/"/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '203.0.113.7/ '), env), /^smartalex: --allow "203\.0\.113\.7\/ ": has spaces in it$/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow=203.0.113.0/-24'), env), /^smartalex: --allow "203\.0\.113\.0\/-24": prefix length "-24" must be decimal digits 0-32/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '203.0.113.0/024'), env), /^smartalex: --allow "203\.0\.113\.0\/024": prefix length "024" must be decimal digits/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '2001:db8::/0x20'), env), /^smartalex: --allow "2001:db8::\/0x20": prefix length "0x20" must be decimal digits 0-128/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '0.0.0.0/0'), env), /^smartalex: --allow "0\.0\.0\.0\/0": admits every IPv4 source; refused unless explicitly allowed; add --allow-any if that is meant$/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk', '--allow', '10.0.0.0/8', '--allow-any'), env), /^smartalex: --allow-any confirms an --allow 0\.0\.0\.0\/0 or ::\/0 entry, and none was given$/);
      ok(await runCli(add('2002', '--agent', 'front-desk', '--allow', '0.0.0.0/0', '--allow-any'), env), 'number add --allow-any');

      const listed = JSON.parse(ok(await runCli(['number', 'list', '--tenant', tenantId, '--json'], env), 'number list')) as { number: string; digest: boolean }[];
      assert.equal(listed.map((n) => [n.number, n.digest]), [['2000', false], ['2002', false]]);

      await withOpen(target, async (db) => {
        const route = await routeNumber(db, '2000');
        assert.equal(route?.allowedCidrs, ['203.0.113.0/24', '198.51.100.7/32', '2001:db8::/32']);
        assert.is(route?.agentId, agentId);
        assert.is(route?.digest, undefined);
        assert.equal((await routeNumber(db, '2002'))?.allowedCidrs, ['0.0.0.0/0'], 'confirmed with --allow-any');
        assert.is(await routeNumber(db, '2001'), undefined, 'a refused number add stored something');
        const actions = rows<{ action: string }>(await db.owner.execute(sql`select action from audit_log where tenant_id = ${tenantId} order by at, id`)).map((r) => r.action);
        assert.equal(actions, ['number.added', 'number.added']);
      });
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
