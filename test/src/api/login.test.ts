/**
 * Passwords and login: the policy (length, complexity, common passwords),
 * Argon2id storage, no user enumeration (an unknown address, a wrong password
 * and a disabled user get the same answer, and an unknown address still costs
 * an Argon2id verification), throttling per account and per source with
 * back-off (clock-driven), and the audit trail of successes and failures.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { listAudit, rows, withTenant, schema } from '../../../storage/index.ts';
import { hashPassword, passwordProblem, verifyAgainstDummy, verifyPassword } from '../../../src/api/auth/passwords.ts';
import { apiHarness, PASSWORD } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

test('password policy: 8+ characters, three character classes (or a passphrase), no common passwords, not the address', () => {
  assert.ok(passwordProblem('Ab1!'), 'too short');
  assert.ok(passwordProblem('abcdefgh'), 'one class');
  assert.ok(passwordProblem('abcdefg1'), 'two classes');
  assert.is(passwordProblem('Gravel7lantern'), undefined);
  assert.ok(passwordProblem('Abcdefg1'), 'complex enough, but common');
  assert.is(passwordProblem('correct horse battery staple'), undefined, 'a passphrase');
  for (const common of ['Password1', 'P@ssw0rd', 'Qwerty123!', 'Welcome1!', 'Password123!', 'Aaaaaaaaaa', 'Letmein1!']) {
    assert.ok(passwordProblem(common), `${common} is refused as common`);
  }
  assert.ok(passwordProblem('Alice.Smith-2026', 'alice.smith@example.com'), 'contains the address');
  assert.ok(passwordProblem('A1!' + 'x'.repeat(300)), 'too long');
});

test('passwords are stored as Argon2id and verified; a malformed hash is a plain "no"', async () => {
  const stored = await hashPassword(PASSWORD);
  assert.match(stored, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
  assert.ok(await verifyPassword(stored, PASSWORD));
  assert.not.ok(await verifyPassword(stored, PASSWORD + 'x'));
  assert.not.ok(await verifyPassword('not a hash', PASSWORD));
  assert.is(await verifyAgainstDummy(PASSWORD), false);
});

for (const backend of await backends()) {
  test(`[${backend.name}] login: same answer for unknown, wrong and disabled; throttled per account and per source; audited`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const tenant = await h.tenant();
        const alice = await h.user(tenant, 'admin', 'Alice@Example.com');
        const stored = await withTenant(h.db, tenant, (tx) => tx.select().from(schema.users));
        assert.match(stored[0]!.passwordHash!, /^\$argon2id\$/);
        assert.is(stored[0]!.email, 'alice@example.com', 'addresses are stored normalised');

        const attempt = (email: string, password: string, ip = '127.0.0.1') =>
          h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password }, remoteAddress: ip });
        const ok = await attempt('ALICE@example.com ', PASSWORD);
        assert.is(ok.statusCode, 200, ok.body);

        const wrong = await attempt(alice.email, 'Wrong-Password-1');
        const unknown = await attempt('nobody@example.com', 'Wrong-Password-1');
        assert.is(wrong.statusCode, 401);
        assert.is(unknown.statusCode, 401);
        assert.equal(wrong.json(), unknown.json(), 'no enumeration through the answer');
        const bob = await h.user(tenant, 'viewer');
        await withTenant(h.db, tenant, (tx) => tx.update(schema.users).set({ disabledAt: new Date() }).where(sql`id = ${bob.id}`));
        assert.equal((await attempt(bob.email, PASSWORD)).json(), unknown.json(), 'a disabled user looks the same');

        // Per account: 5 failures are free, then back-off doubles (1 s, 2 s, ...); the right password waits too.
        const victim = await h.user(tenant, 'manager');
        for (let i = 0; i < 5; i++) assert.is((await attempt(victim.email, 'Wrong-Password-1', `10.0.0.${i}`)).statusCode, 401);
        assert.is((await attempt(victim.email, 'Wrong-Password-1', '10.0.1.1')).statusCode, 401, 'the sixth failure locks for 1 s');
        const locked = await attempt(victim.email, PASSWORD, '10.0.1.2');
        assert.is(locked.statusCode, 429, 'locked even with the right password, from another address');
        assert.match(String(locked.headers['content-type']), /problem\+json/);
        assert.is(locked.headers['retry-after'], '1');
        h.clock.advance(1000);
        assert.is((await attempt(victim.email, 'Wrong-Password-1', '10.0.1.3')).statusCode, 401);
        assert.is((await attempt(victim.email, PASSWORD, '10.0.1.4')).statusCode, 429);
        assert.is((await attempt(victim.email, PASSWORD, '10.0.1.4')).headers['retry-after'], '2', 'back-off doubled');
        h.clock.advance(2000);
        assert.is((await attempt(victim.email, PASSWORD, '10.0.1.5')).statusCode, 200, 'the right password after the wait');
        // An unknown address is throttled the same way (the throttle reveals nothing either).
        for (let i = 0; i < 6; i++) await attempt('ghost@example.com', 'Wrong-Password-1', `10.0.2.${i}`);
        assert.is((await attempt('ghost@example.com', 'Wrong-Password-1', '10.0.2.99')).statusCode, 429);

        // Per source: one address guessing many accounts is slowed after 20 failures.
        for (let i = 0; i < 20; i++) assert.is((await attempt(`guess${i}@example.com`, 'Wrong-Password-1', '192.0.2.7')).statusCode, 401);
        assert.is((await attempt(`guess-more@example.com`, 'Wrong-Password-1', '192.0.2.7')).statusCode, 401);
        assert.is((await attempt(alice.email, PASSWORD, '192.0.2.7')).statusCode, 429, 'the source is locked');
        assert.is((await attempt(alice.email, PASSWORD, '192.0.2.8')).statusCode, 200, 'other sources are not');

        const entries = await listAudit(h.db, tenant, 500);
        const success = entries.find((e) => e.action === 'auth.login.success' && e.actor === `user:${alice.id}`);
        assert.ok(success);
        assert.ok(success.sourceIp);
        const failure = entries.find((e) => e.action === 'auth.login.failure' && e.target === `user:${alice.id}`);
        assert.ok(failure);
        assert.equal(failure.detail, { reason: 'password' });
        assert.not.match(JSON.stringify(entries), /Wrong-Password|Correct-Horse/, 'no password reaches the audit log');
        const events = rows<{ n: number }>(await h.db.owner.execute(sql`select count(*)::int as n from security_events where type = 'login-failure'`))[0]!;
        assert.ok(events.n >= 1, 'unknown-address failures are security events');
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
