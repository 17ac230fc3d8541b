/**
 * `smartalex number add` with digest credentials, through the real CLI, on an
 * embedded data directory and on a Postgres server database: the password is
 * read from stdin (never argv) and stored only as HA1 hashes (MD5, SHA-256), a
 * number may have its own digest algorithms, and the other mistakes (an
 * unknown agent, no way to authenticate, a bad number) are refused with one
 * clear line, storing nothing. Allowlists (CIDRs) are in numbers.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { ha1 } from '../../../media/sip/index.ts';
import { createAgent, createTenant, migrate, routeNumber, rows } from '../../../storage/index.ts';
import { everything, ok, refusedWith, runCli, targetKinds, withOpen } from './targets.ts';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] number add: digest credentials as HA1 only, other mistakes refused`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      // a tenant and an agent, made in-process (the tenant and agent commands have their own test)
      const tenantId = await withOpen(target, async (db) => {
        await migrate(db);
        const tenant = await createTenant(db, { name: 'Acme' });
        await createAgent(db, tenant.id, { name: 'after-hours' });
        return tenant.id;
      });
      const add = (number: string, ...rest: string[]) => ['number', 'add', '--tenant', tenantId, '--number', number, ...rest];

      refusedWith(await runCli(add('3001', '--agent', 'nobody', '--allow', '10.0.0.1'), env), /^smartalex: no agent "nobody" in this tenant$/);
      refusedWith(await runCli(add('3001', '--agent', 'after-hours'), env), /^smartalex: give --allow <cidr> and\/or digest credentials/);
      refusedWith(await runCli(add('30 01', '--agent', 'after-hours', '--allow', '10.0.0.1'), env), /^smartalex: --number must be 1-64 characters/);

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
      assert.equal(listed.map((n) => [n.number, n.digest, n.digestAlgorithms]), [['3000', true, null], ['3002', true, ['SHA-256']]]);

      await withOpen(target, async (db) => {
        const digestRoute = await routeNumber(db, '3000');
        assert.equal(digestRoute?.allowedCidrs, []);
        assert.equal(digestRoute?.digest, {
          username: 'carrier-1', realm: 'acme.example',
          ha1Md5: ha1('MD5', 'carrier-1', 'acme.example', password),
          ha1Sha256: ha1('SHA-256', 'carrier-1', 'acme.example', password),
        });
        assert.match(digestRoute!.digest!.ha1Md5!, /^[0-9a-f]{32}$/);
        assert.match(digestRoute!.digest!.ha1Sha256!, /^[0-9a-f]{64}$/);
        assert.is(digestRoute?.digestAlgorithms, undefined, 'no list of its own: the server default');
        assert.equal((await routeNumber(db, '3002'))?.digestAlgorithms, ['SHA-256']);
        assert.is(await routeNumber(db, '3001'), undefined, 'a refused number add stored something');

        const all = await everything(db);
        assert.ok(all.includes('carrier-1'), 'the scan sees the data');
        assert.not.ok(all.includes(password), 'digest password stored in plain text');
        const actions = rows<{ action: string }>(await db.owner.execute(sql`select action from audit_log where tenant_id = ${tenantId} order by at, id`)).map((r) => r.action);
        assert.equal(actions, ['number.added', 'number.added']);
      });
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
