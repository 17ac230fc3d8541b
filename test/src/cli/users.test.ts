/**
 * `smartalex user create` (the first owner on a fresh install), through the
 * real CLI: the password comes from standard input only and must pass the
 * policy; it is stored as Argon2id (never in plain text); the owner can then
 * log in over /v1; the printed one-time setup code sets a new password once;
 * `--no-password` prints only the setup code. Audited as the operator.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listAudit } from '../../../storage/index.ts';
import { apiHarness } from '../../support/api.ts';
import { everything, ok, refusedWith, runCli, targetKinds, withOpen } from './targets.ts';

const PASSWORD = 'Bright-Lantern-2026!';

for (const kind of await targetKinds()) {
  test(`[${kind.name}] user create: password on stdin, Argon2id, login, one-time setup code`, async () => {
    const target = await kind.create();
    const env = target.env;
    try {
      const { tenantId } = JSON.parse(ok(await runCli(['tenant', 'create', '--name', 'First', '--json'], env), 'tenant create')) as { tenantId: string };
      const text = ok(await runCli(['user', 'create', '--tenant', tenantId, '--email', 'Owner@Example.com', '--role', 'owner'], env, `${PASSWORD}\n`), 'user create');
      assert.match(text, /^user [0-9a-f-]{36} owner@example\.com \(owner\) in tenant /);
      assert.match(text, /one-time setup code \(valid 72 h\): sai_[0-9a-f]{32}_[A-Za-z0-9_-]{43}\n/);
      assert.not.ok(text.includes(PASSWORD));
      const setupCode = /(sai_[0-9a-f]{32}_[A-Za-z0-9_-]{43})/.exec(text)![1]!;

      refusedWith(await runCli(['user', 'create', '--tenant', tenantId, '--email', 'weak@example.com', '--role', 'admin'], env, 'password1\n'), /password/);
      refusedWith(await runCli(['user', 'create', '--tenant', tenantId, '--email', 'owner@example.com', '--role', 'admin'], env, `${PASSWORD}\n`), /already a member/);
      const boss = await runCli(['user', 'create', '--tenant', tenantId, '--email', 'x@example.com', '--role', 'boss'], env, `${PASSWORD}\n`);
      assert.is.not(boss.code, 0);
      assert.match(boss.stderr, /--role must be/);
      refusedWith(await runCli(['user', 'create', '--tenant', tenantId, '--email', 'x@example.com', '--role', 'viewer'], env, ''), /no password on standard input/);
      const invited = JSON.parse(ok(await runCli(['user', 'create', '--tenant', tenantId, '--email', 'later@example.com', '--role', 'viewer', '--no-password', '--json'], env), 'no-password')) as { passwordSet: boolean; setupToken: string };
      assert.is(invited.passwordSet, false);

      await withOpen(target, async (db) => {
        const all = await everything(db);
        assert.not.ok(all.includes(PASSWORD), 'no table holds the password');
        assert.not.ok(all.includes(setupCode), 'no table holds the setup code');
        assert.match(all, /\$argon2id\$/);
        const h = await apiHarness(db);
        try {
          const login = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'owner@example.com', password: PASSWORD } });
          assert.is(login.statusCode, 200, login.body);
          assert.is((login.json() as { user: { role: string } }).user.role, 'owner');
          // The setup code sets a new password, once; the viewer without a password cannot log in until they use theirs.
          assert.is((await h.app.inject({ method: 'POST', url: '/v1/invitations/accept', payload: { token: setupCode, password: 'Second-Lamp-2027!' } })).statusCode, 200);
          assert.is((await h.app.inject({ method: 'POST', url: '/v1/invitations/accept', payload: { token: setupCode, password: 'Third-Lamp-2028!' } })).statusCode, 404);
          assert.is((await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'owner@example.com', password: 'Second-Lamp-2027!' } })).statusCode, 200);
          assert.is((await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'later@example.com', password: PASSWORD } })).statusCode, 401);
          assert.is((await h.app.inject({ method: 'POST', url: '/v1/invitations/accept', payload: { token: invited.setupToken, password: PASSWORD } })).statusCode, 200);
          assert.is((await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: 'later@example.com', password: PASSWORD } })).statusCode, 200);
        } finally {
          await h.close();
        }
        const created = (await listAudit(db, tenantId, 100)).filter((e) => e.action === 'user.create');
        assert.is(created.length, 2);
        assert.is(created[0]!.actor, 'operator:cli');
      });
    } finally {
      await target.cleanup();
    }
  });
}

test.run();
