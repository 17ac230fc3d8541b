/**
 * Sessions, driven by the manual clock (no sleeping): the inactivity timeout
 * and the absolute lifetime are enforced on the server; signing keys rotate on
 * schedule with the previous key accepted until its tokens expire; forged,
 * tampered and retired-key tokens are refused; devices are listed; one, all
 * and the current session (logout) can be revoked, and each is audited.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { decodeProtectedHeader, SignJWT } from 'jose';
import { listAudit } from '../../../storage/index.ts';
import { SigningKeyRing } from '../../../src/api/auth/signing-keys.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

test('the signing key ring rotates on schedule and retires a key once its tokens can no longer be valid', () => {
  const ring = new SigningKeyRing(randomBytes(32), 24 * HOUR, 12 * HOUR);
  const t0 = new Date(Date.UTC(2026, 0, 10, 23, 0));
  const first = ring.current(t0);
  const next = ring.current(new Date(t0.getTime() + 2 * HOUR));
  assert.is.not(first.kid, next.kid, 'a new period, a new key id');
  assert.is.not(Buffer.from(first.key).toString('hex'), Buffer.from(next.key).toString('hex'));
  // The previous key is accepted until its period's end plus the longest token lifetime.
  assert.ok(ring.accepted(first.kid, new Date(t0.getTime() + 12 * HOUR)));
  assert.not.ok(ring.accepted(first.kid, new Date(t0.getTime() + 13 * HOUR + MIN)));
  assert.not.ok(ring.accepted('s999999999', t0), 'a future period is not accepted');
  assert.not.ok(ring.accepted('nope', t0));
  const other = new SigningKeyRing(randomBytes(32), 24 * HOUR, 12 * HOUR);
  assert.is.not(Buffer.from(other.current(t0).key).toString('hex'), Buffer.from(first.key).toString('hex'), 'derived from the secret');
});

for (const backend of await backends()) {
  test(`[${backend.name}] sessions: inactivity timeout, absolute lifetime, key rotation, devices, revocation, logout`, async () => {
    try {
      const h = await apiHarness(await backend.open(), { settings: { sessionIdleMs: 30 * MIN, sessionMaxMs: 12 * HOUR, signingKeyRotationMs: 24 * HOUR } });
      try {
        const tenant = await h.tenant();
        const alice = await h.user(tenant, 'manager');
        const me = (auth: string) => h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: auth } });

        // Inactivity: 29 minutes idle is fine (and each use restarts the timer); 31 is over.
        const { auth, body } = await h.login(alice.email, undefined, {}, { 'user-agent': 'Firefox/140 test' });
        assert.is(body.tenantId, tenant);
        assert.is((await me(auth)).statusCode, 200);
        h.clock.advance(29 * MIN);
        assert.is((await me(auth)).statusCode, 200);
        h.clock.advance(29 * MIN);
        assert.is((await me(auth)).statusCode, 200, 'used 29 minutes ago: still live');
        h.clock.advance(31 * MIN);
        const idle = await me(auth);
        assert.is(idle.statusCode, 401, 'idle 31 minutes: over');

        // Absolute lifetime: used every 20 minutes, it still ends 12 h after login.
        const long = await h.login(alice.email);
        let alive = 0;
        for (let i = 0; i < 40; i++) {
          h.clock.advance(20 * MIN);
          if ((await me(long.auth)).statusCode === 200) alive++;
          else break;
        }
        assert.is(alive, 35, 'live through 11 h 40 min, over at 12 h');

        // Key rotation: a token signed before the rotation keeps working; new tokens carry the new kid.
        const before = await h.login(alice.email);
        const kidBefore = decodeProtectedHeader(String(before.body.token)).kid;
        h.clock.advance(24 * HOUR);
        const after = await h.login(alice.email);
        const kidAfter = decodeProtectedHeader(String(after.body.token)).kid;
        assert.is.not(kidBefore, kidAfter, 'a new signing key after the rotation period');
        assert.is((await me(after.auth)).statusCode, 200);

        // Previous key accepted until its tokens expire: a fresh session signed just before a rotation still works after it.
        h.clock.set(new Date(Math.ceil(h.clock().getTime() / (24 * HOUR)) * 24 * HOUR - MIN));
        const edge = await h.login(alice.email);
        h.clock.advance(2 * MIN);
        const fresh = await h.login(alice.email);
        assert.is.not(decodeProtectedHeader(String(edge.body.token)).kid, decodeProtectedHeader(String(fresh.body.token)).kid);
        assert.is((await me(edge.auth)).statusCode, 200, 'signed by the previous key, still accepted');

        // Forged (wrong key), tampered and unsigned tokens are refused.
        const forged = await new SignJWT({ tid: tenant, sid: String(fresh.body.sessionId) }).setProtectedHeader({ alg: 'HS256', kid: String(decodeProtectedHeader(String(fresh.body.token)).kid) })
          .setIssuer('smartalex').setAudience('smartalex-api').setSubject(alice.id).setIssuedAt().setExpirationTime('1h').sign(randomBytes(32));
        assert.is((await me(`Bearer ${forged}`)).statusCode, 401);
        const [hd, payload, sig] = String(fresh.body.token).split('.');
        const tampered = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
        tampered.tid = await h.tenant('other');
        assert.is((await me(`Bearer ${hd}.${Buffer.from(JSON.stringify(tampered)).toString('base64url')}.${sig}`)).statusCode, 401);
        assert.is((await me(`Bearer ${hd}.${payload}.`)).statusCode, 401);

        // Devices: list shows user agent, address, created, last seen, and which one is current.
        const listed = await h.app.inject({ method: 'GET', url: '/v1/me/sessions', headers: { authorization: fresh.auth } });
        assert.is(listed.statusCode, 200);
        const items = (listed.json() as { items: { id: string; current: boolean; userAgent: string | null; sourceIp: string | null; lastSeenAt: string }[] }).items;
        assert.ok(items.length >= 2);
        assert.is(items.filter((s) => s.current).length, 1);
        assert.is(items.find((s) => s.current)!.id, fresh.body.sessionId);
        assert.ok(items.every((s) => s.sourceIp === '127.0.0.1'));

        // Revoke one.
        const revokeOne = await h.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${String(edge.body.sessionId)}`, headers: { authorization: fresh.auth } });
        assert.is(revokeOne.statusCode, 204);
        assert.is((await me(edge.auth)).statusCode, 401);
        assert.is((await me(fresh.auth)).statusCode, 200);
        // Another user's session id is a 404, not a revocation.
        const bob = await h.user(tenant, 'viewer');
        const bobSession = await h.login(bob.email);
        assert.is((await h.app.inject({ method: 'DELETE', url: `/v1/me/sessions/${String(bobSession.body.sessionId)}`, headers: { authorization: fresh.auth } })).statusCode, 404);
        assert.is((await me(bobSession.auth)).statusCode, 200);

        // Revoke all but this one, then logout.
        const other = await h.login(alice.email);
        const all = await h.app.inject({ method: 'DELETE', url: '/v1/me/sessions?keepCurrent=true', headers: { authorization: fresh.auth } });
        assert.is(all.statusCode, 200);
        assert.ok((all.json() as { revoked: number }).revoked >= 1);
        assert.is((await me(other.auth)).statusCode, 401);
        assert.is((await me(fresh.auth)).statusCode, 200);
        assert.is((await h.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { authorization: fresh.auth } })).statusCode, 204);
        assert.is((await me(fresh.auth)).statusCode, 401);

        // A user manager ends someone else's sessions.
        const admin = await h.bearer(tenant, 'admin');
        const ended = await h.app.inject({ method: 'DELETE', url: `/v1/users/${bob.id}/sessions`, headers: { authorization: admin } });
        assert.is(ended.statusCode, 200);
        assert.is((await me(bobSession.auth)).statusCode, 401);

        const actions = (await listAudit(h.db, tenant, 500)).map((a) => a.action);
        for (const action of ['auth.login.success', 'session.revoke', 'session.revoke_all', 'auth.logout']) assert.ok(actions.includes(action), action);
        const revokeEntry = (await listAudit(h.db, tenant, 500)).find((a) => a.action === 'session.revoke')!;
        assert.is(revokeEntry.actor, `user:${alice.id}`);
        assert.is(revokeEntry.sourceIp, '127.0.0.1');
        assert.is(revokeEntry.target, `session:${String(edge.body.sessionId)}`);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
