/**
 * Users and invitations: invite (a one-time token), accept (sets a password
 * that must pass the policy; the token works once), list and read, role
 * change (owner-only for the owner role; never the last owner), disable (ends
 * sessions), delete, my password change; another tenant's ids are 404s; every
 * change is audited with actor, source address and target.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listAudit } from '../../../storage/index.ts';
import { apiHarness, PASSWORD } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

for (const backend of await backends()) {
  test(`[${backend.name}] invitations, role changes, owner rules, disable, delete, password change, cross-tenant 404s`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const tenant = await h.tenant();
        const owner = await h.user(tenant, 'owner');
        const ownerAuth = (await h.login(owner.email)).auth;
        const call = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, auth: string | undefined, payload?: object) =>
          h.app.inject({ method, url, headers: auth ? { authorization: auth } : {}, ...(payload ? { payload } : {}) });

        const invited = await call('POST', '/v1/invitations', ownerAuth, { email: 'New.Person@Example.com', role: 'admin' });
        assert.is(invited.statusCode, 201, invited.body);
        const { token, email } = invited.json() as { token: string; email: string };
        assert.is(email, 'new.person@example.com');
        assert.is((await call('GET', '/v1/invitations', ownerAuth)).json().items.length, 1);
        const weak = await call('POST', '/v1/invitations/accept', undefined, { token, password: 'password1' });
        assert.is(weak.statusCode, 400);
        assert.is((weak.json() as { errors: { path: string }[] }).errors[0]!.path, 'body.password');
        const accepted = await call('POST', '/v1/invitations/accept', undefined, { token, password: PASSWORD });
        assert.is(accepted.statusCode, 200, accepted.body);
        assert.is((await call('POST', '/v1/invitations/accept', undefined, { token, password: PASSWORD })).statusCode, 404, 'a token works once');
        assert.is((await call('POST', '/v1/invitations/accept', undefined, { token: token.slice(0, -2) + 'xx', password: PASSWORD })).statusCode, 404);
        const adminSession = await h.login('new.person@example.com');
        const adminId = (adminSession.body.user as { id: string }).id;

        // Expired invitations are refused.
        const late = (await call('POST', '/v1/invitations', ownerAuth, { email: 'late@example.com', role: 'viewer' })).json() as { token: string };
        h.clock.advance(73 * 3600_000);
        assert.is((await call('POST', '/v1/invitations/accept', undefined, { token: late.token, password: PASSWORD })).statusCode, 404);
        const adminAuth = (await h.login('new.person@example.com')).auth; // the earlier session idled out with the clock

        // Owner rules: an admin cannot grant owner, nor touch an owner; the last owner stays.
        assert.is((await call('POST', '/v1/invitations', adminAuth, { email: 'boss@example.com', role: 'owner' })).statusCode, 403);
        assert.is((await call('PATCH', `/v1/users/${owner.id}`, adminAuth, { role: 'viewer' })).statusCode, 403);
        const freshOwnerAuth = (await h.login(owner.email)).auth;
        const lastOwner = await call('PATCH', `/v1/users/${owner.id}`, freshOwnerAuth, { role: 'admin' });
        assert.is(lastOwner.statusCode, 409);
        assert.is((await call('DELETE', `/v1/users/${owner.id}`, freshOwnerAuth)).statusCode, 409);

        // Role change and disable by an admin; disabling ends the sessions.
        const carol = await h.user(tenant, 'viewer');
        const carolAuth = (await h.login(carol.email)).auth;
        const promoted = await call('PATCH', `/v1/users/${carol.id}`, adminAuth, { role: 'manager' });
        assert.is(promoted.statusCode, 200, promoted.body);
        assert.is((promoted.json() as { role: string }).role, 'manager');
        assert.is(((await call('GET', '/v1/me', carolAuth)).json() as { role: string }).role, 'manager', 'the role applies to live sessions');
        assert.is((await call('PATCH', `/v1/users/${carol.id}`, adminAuth, { disabled: true })).statusCode, 200);
        assert.is((await call('GET', '/v1/me', carolAuth)).statusCode, 401);
        assert.is((await call('PATCH', `/v1/users/${carol.id}`, adminAuth, {})).statusCode, 400);
        assert.is((await call('PATCH', `/v1/users/${carol.id}`, adminAuth, { role: 'manager', tenantId: tenant })).statusCode, 400);

        const page = await call('GET', '/v1/users?limit=2', adminAuth);
        assert.is(page.statusCode, 200);
        const first = page.json() as { items: { id: string }[]; nextCursor: string | null };
        assert.is(first.items.length, 2);
        assert.ok(first.nextCursor);
        const rest = (await call('GET', `/v1/users?limit=2&cursor=${first.nextCursor}`, adminAuth)).json() as { items: { id: string }[] };
        assert.is(rest.items.length, 1);

        // My password change ends my other sessions and checks the current password.
        const carolToo = await h.user(tenant, 'viewer');
        const s1 = (await h.login(carolToo.email)).auth;
        const s2 = (await h.login(carolToo.email)).auth;
        assert.is((await call('POST', '/v1/me/password', s1, { currentPassword: 'Wrong-Password-1', newPassword: 'Another-Strong-9' })).statusCode, 401);
        assert.is((await call('POST', '/v1/me/password', s1, { currentPassword: PASSWORD, newPassword: 'Another-Strong-9' })).statusCode, 204);
        assert.is((await call('GET', '/v1/me', s2)).statusCode, 401);
        assert.is((await call('GET', '/v1/me', s1)).statusCode, 200);
        await h.login(carolToo.email, 'Another-Strong-9');

        // Another tenant's users and invitations are 404s everywhere.
        const other = await h.tenant('other');
        const stranger = await h.user(other, 'owner');
        const theirInvite = (await call('POST', '/v1/invitations', await h.bearer(other, 'owner'), { email: 'x@example.com', role: 'viewer' })).json() as { id: string };
        for (const [method, url, payload] of [
          ['GET', `/v1/users/${stranger.id}`], ['PATCH', `/v1/users/${stranger.id}`, { role: 'viewer' }], ['DELETE', `/v1/users/${stranger.id}`],
          ['GET', `/v1/users/${stranger.id}/sessions`], ['DELETE', `/v1/users/${stranger.id}/sessions`], ['POST', `/v1/users/${stranger.id}/totp/reset`],
          ['DELETE', `/v1/invitations/${theirInvite.id}`],
        ] as const) {
          const res = await call(method, url, freshOwnerAuth, payload as object | undefined);
          assert.is(res.statusCode, 404, `${method} ${url}`);
        }
        await h.login(stranger.email);

        assert.is((await call('DELETE', `/v1/users/${carol.id}`, adminAuth)).statusCode, 204);
        assert.is((await call('GET', `/v1/users/${carol.id}`, adminAuth)).statusCode, 404);

        const entries = await listAudit(h.db, tenant, 500);
        const roleChange = entries.find((e) => e.action === 'user.role.change')!;
        assert.equal([roleChange.actor, roleChange.target, roleChange.detail], [`user:${adminId}`, `user:${carol.id}`, { from: 'viewer', to: 'manager' }]);
        assert.ok(roleChange.sourceIp);
        for (const action of ['user.invite', 'user.invitation.accept', 'user.disable', 'user.delete', 'user.password.change']) assert.ok(entries.some((e) => e.action === action), action);
        assert.not.match(JSON.stringify(entries), /sai_|Correct-Horse|Another-Strong/, 'no tokens or passwords in the audit log');
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
