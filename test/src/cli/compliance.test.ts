/**
 * `smartalex dnc`, `smartalex consent` and `smartalex tenant calling-hours`
 * through the real CLI, on an embedded data directory and on a Postgres
 * server database: numbers normalised on the way in (without +, in the
 * tenant's default country) and listed whole, consent
 * revoked but kept, the policy set and printed, an unknown time zone refused
 * with one line, and every change audited with the number masked. (The rules
 * themselves are tested in test/src/compliance/; CLI runs are slow, so this
 * file keeps to one run per command.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { createTenant, migrate, rows, updateTenant } from '../../../storage/index.ts';
import { ok, refusedWith, runCli, targetKinds, withOpen } from './targets.ts';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] dnc, consent and calling-hours round-trip`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      const [tenantId, gbTenantId] = await withOpen(target, async (db) => {
        await migrate(db);
        const gb = await createTenant(db, { name: 'Acme UK' });
        await updateTenant(db, gb.id, { defaultCountry: 'GB' });
        return [(await createTenant(db, { name: 'Acme' })).id, gb.id];
      });
      const t = ['--tenant', tenantId];

      // A GB tenant's number without + is a GB number; one that cannot be read there is refused in one line that names the country, not the number.
      assert.is(ok(await runCli(['dnc', 'add', '020 7946 0000', '--tenant', gbTenantId], env), 'dnc add (GB)'), '+442079460000 added to the do-not-call list\n');
      const unreadable = await runCli(['consent', 'grant', '020 7946 00', '--tenant', gbTenantId, '--source', 'web form'], env);
      refusedWith(unreadable, /^smartalex: not a phone number: .*read as a number of GB \(the tenant's default country\)$/);
      assert.not.ok(unreadable.stderr.replace(/\D/g, '').includes('794600'), 'the refusal repeats the number');

      assert.is(ok(await runCli(['dnc', 'add', '(212) 555-0123', ...t, '--reason', 'asked on call'], env), 'dnc add'), '+12125550123 added to the do-not-call list\n');
      const dnc = JSON.parse(ok(await runCli(['dnc', 'list', ...t, '--json'], env), 'dnc list')) as { phone: string; reason: string; addedAt: string }[];
      assert.equal(dnc.map((e) => ({ phone: e.phone, reason: e.reason })), [{ phone: '+12125550123', reason: 'asked on call' }]);
      assert.is(ok(await runCli(['dnc', 'remove', '212.555.0123', ...t], env), 'dnc remove'), '+12125550123 removed from the do-not-call list\n');

      assert.is(ok(await runCli(['consent', 'grant', '212.555.0177', ...t, '--source', 'web form 2026-06-01'], env), 'consent grant'), '+12125550177: outbound-call consent recorded\n');
      assert.is(ok(await runCli(['consent', 'revoke', '+1 212 555 0177', ...t], env), 'consent revoke'), '+12125550177: outbound-call consent revoked\n');
      const consents = JSON.parse(ok(await runCli(['consent', 'list', ...t, '--all', '--json'], env), 'consent list')) as { phone: string; kind: string; source: string; revokedAt: string | null }[];
      assert.is(consents.length, 1);
      const c = consents[0]!;
      assert.equal({ phone: c.phone, kind: c.kind, source: c.source, revoked: Boolean(c.revokedAt) }, { phone: '+12125550177', kind: 'outbound-call', source: 'web form 2026-06-01', revoked: true });

      const policy = ok(await runCli(['tenant', 'calling-hours', ...t, '--timezone', 'America/Chicago', '--start', '09:00', '--end', '20:30', '--days', 'mon-fri', '--require-consent', 'false'], env), 'calling-hours');
      assert.is(policy, 'calls allowed 09:00-20:30 America/Chicago, mon-fri; prior consent not required\n');
      refusedWith(await runCli(['tenant', 'calling-hours', ...t, '--timezone', 'Mars/Olympus'], env), /^smartalex: unknown time zone "Mars\/Olympus" \(use an IANA name/);

      await withOpen(target, async (db) => {
        // stored as set; the refused change changed nothing
        const stored = rows<{ tz: string; days: string[] | string; consent: boolean }>(await db.owner.execute(sql`
          select outbound_timezone as tz, outbound_days::text as days, outbound_require_consent as consent from tenants where id = ${tenantId}`))[0]!;
        assert.equal({ ...stored }, { tz: 'America/Chicago', days: '{mon,tue,wed,thu,fri}', consent: false });
        // audited, numbers masked to the last 4 digits
        const audit = rows<{ action: string; actor: string; target: string | null; row: string }>(await db.owner.execute(sql`
          select action, actor, target, row_to_json(a)::text as row from audit_log a where tenant_id = ${tenantId} order by id`));
        assert.equal(audit.map((r) => [r.action, r.target]), [
          ['dnc.added', '+*******0123'], ['dnc.removed', '+*******0123'], ['consent.granted', '+*******0177'], ['consent.revoked', '+*******0177'], ['outbound_policy.updated', null],
        ]);
        assert.ok(audit.every((r) => r.actor === 'operator:cli'));
        const text = audit.map((r) => r.row).join('\n');
        assert.not.ok(text.includes('2125550123') || text.includes('2125550177'), 'a whole number in the audit log');
      });
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
