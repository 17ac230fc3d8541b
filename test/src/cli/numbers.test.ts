/**
 * `smartalex number add` through the real CLI, on an embedded data directory
 * and on a Postgres server database: allowed CIDRs (a bare address is one
 * host), bad CIDRs (an empty, signed, leading-zero or out-of-range prefix, a
 * bad address, /0 without --allow-any) and other mistakes refused with one
 * clear line, digest credentials read from stdin and stored only as HA1
 * hashes (MD5, SHA-256), and a number's own digest algorithms.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { ha1 } from '../../../media/sip/index.ts';
import { createAgent, createTenant, migrate, routeNumber, rows } from '../../../storage/index.ts';
import { everything, ok, refusedWith, runCli, targetKinds, withOpen } from './targets.ts';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] number add: CIDRs, refusals, digest credentials as HA1 only`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      // a tenant and two agents, made in-process (the tenant and agent commands have their own test)
      const { tenantId, agentId } = await withOpen(target, async (db) => {
        await migrate(db);
        const tenant = await createTenant(db, { name: 'Acme' });
        const agent = await createAgent(db, tenant.id, { name: 'front-desk', mode: 'echo' });
        await createAgent(db, tenant.id, { name: 'after-hours' });
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
      refusedWith(await runCli(add('2001', '--agent', 'nobody', '--allow', '10.0.0.1'), env), /^smartalex: no agent "nobody" in this tenant$/);
      refusedWith(await runCli(add('2001', '--agent', 'front-desk'), env), /^smartalex: give --allow <cidr> and\/or digest credentials/);
      refusedWith(await runCli(add('20 01', '--agent', 'front-desk', '--allow', '10.0.0.1'), env), /^smartalex: --number must be 1-64 characters/);

      // digest: the password comes on stdin (never argv), only HA1 hashes are kept
      const password = 'correct horse battery staple';
      const digest = ['--digest-user', 'carrier-1', '--digest-password-stdin', '--digest-realm', 'acme.example'];
      ok(await runCli(add('3000', '--agent', 'after-hours', ...digest), env, `${password}\n`), 'number add (digest)');
      refusedWith(await runCli(add('3001', '--agent', 'after-hours', ...digest), env, 'short\n'), /^smartalex: digest password must be at least 8 characters$/);
      refusedWith(await runCli(add('3001', '--agent', 'after-hours', '--digest-user', 'carrier-1'), env), /^smartalex: digest auth needs both --digest-user and --digest-password-stdin$/);
      // a number that requires SHA-256 (its challenge offers only SHA-256; an MD5 answer is refused)
      ok(await runCli(add('3002', '--agent', 'after-hours', ...digest, '--digest-algorithms', 'sha-256'), env, `${password}\n`), 'number add (SHA-256 only)');
      refusedWith(await runCli(add('3001', '--agent', 'after-hours', ...digest, '--digest-algorithms', 'SHA-1'), env, `${password}\n`), /^smartalex: --digest-algorithms: unknown digest algorithm "SHA-1" \(known: MD5, SHA-256\)$/);
      refusedWith(await runCli(add('3001', '--agent', 'after-hours', '--allow', '10.0.0.1', '--digest-algorithms', 'SHA-256'), env), /^smartalex: --digest-algorithms needs digest credentials/);

      const listed = JSON.parse(ok(await runCli(['number', 'list', '--tenant', tenantId, '--json'], env), 'number list')) as { number: string; digest: boolean; digestAlgorithms: string[] | null }[];
      assert.equal(listed.map((n) => [n.number, n.digest, n.digestAlgorithms]), [['2000', false, null], ['2002', false, null], ['3000', true, null], ['3002', true, ['SHA-256']]]);

      await withOpen(target, async (db) => {
        const route = await routeNumber(db, '2000');
        assert.equal(route?.allowedCidrs, ['203.0.113.0/24', '198.51.100.7/32', '2001:db8::/32']);
        assert.is(route?.agentId, agentId);
        assert.is(route?.digest, undefined);
        const digestRoute = await routeNumber(db, '3000');
        assert.equal(digestRoute?.allowedCidrs, []);
        assert.equal(digestRoute?.digest, {
          username: 'carrier-1', realm: 'acme.example',
          ha1Md5: ha1('MD5', 'carrier-1', 'acme.example', password),
          ha1Sha256: ha1('SHA-256', 'carrier-1', 'acme.example', password),
        });
        assert.match(digestRoute!.digest!.ha1Md5!, /^[0-9a-f]{32}$/);
        assert.match(digestRoute!.digest!.ha1Sha256!, /^[0-9a-f]{64}$/);
        assert.equal((await routeNumber(db, '2002'))?.allowedCidrs, ['0.0.0.0/0'], 'confirmed with --allow-any');
        assert.is(digestRoute?.digestAlgorithms, undefined, 'no list of its own: the server default');
        assert.equal((await routeNumber(db, '3002'))?.digestAlgorithms, ['SHA-256']);
        assert.is(await routeNumber(db, '2001'), undefined, 'a refused number add stored something');
        assert.is(await routeNumber(db, '3001'), undefined, 'a refused number add stored something');

        const all = await everything(db);
        assert.ok(all.includes('carrier-1'), 'the scan sees the data');
        assert.not.ok(all.includes(password), 'digest password stored in plain text');
        const actions = rows<{ action: string }>(await db.owner.execute(sql`select action from audit_log where tenant_id = ${tenantId} order by at, id`)).map((r) => r.action);
        assert.equal(actions, ['number.added', 'number.added', 'number.added', 'number.added']);
      });
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
