/**
 * TOTP 2FA: the RFC 6238 Appendix B vectors through otpauth and through our
 * own step check; enrolment (otpauth:// URI, secret sealed at rest), confirm
 * with a first code, login needing a code, a code refused the second time
 * within its window, one-time recovery codes stored hashed, disabling, and the
 * tenant setting that makes 2FA mandatory for owners and admins.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Secret, TOTP } from 'otpauth';
import { listAudit, withTenant, schema } from '../../../storage/index.ts';
import { totpStep } from '../../../src/api/auth/totp.ts';
import { apiHarness, PASSWORD } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

// RFC 6238 Appendix B: SHA-1 rows, seed "12345678901234567890", 8 digits, 30 s steps.
const VECTORS: [number, string][] = [
  [59, '94287082'], [1111111109, '07081804'], [1111111111, '14050471'], [1234567890, '89005924'], [2000000000, '69279037'], [20000000000, '65353130'],
];

test('RFC 6238 Appendix B test vectors (SHA-1)', () => {
  const secret = Secret.fromLatin1('12345678901234567890');
  for (const [seconds, expected] of VECTORS) {
    assert.is(TOTP.generate({ secret, algorithm: 'SHA1', digits: 8, period: 30, timestamp: seconds * 1000 }), expected, `T = ${seconds}`);
  }
  // Our checker (6 digits: the vector's last six) accepts the code in its step and one step either side, not further.
  const at = new Date(1111111111 * 1000);
  const code = TOTP.generate({ secret, algorithm: 'SHA1', digits: 6, period: 30, timestamp: at.getTime() });
  assert.is(code, '050471');
  assert.is(totpStep(secret, code, at), Math.floor(1111111111 / 30));
  assert.is(totpStep(secret, code, new Date(at.getTime() + 30_000)), Math.floor(1111111111 / 30));
  assert.is(totpStep(secret, code, new Date(at.getTime() + 90_000)), undefined);
  assert.is(totpStep(secret, '12345', at), undefined);
});

const codeAt = (secret: string, at: Date): string => TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: at.getTime() });

for (const backend of await backends()) {
  test(`[${backend.name}] enrol, confirm, log in with a code (once per window), recovery codes, disable, mandatory for admins`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const tenant = await h.tenant();
        const alice = await h.user(tenant, 'manager');
        const session = await h.login(alice.email);
        const post = (url: string, auth: string, payload?: object) => h.app.inject({ method: 'POST', url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });

        const enrol = await post('/v1/me/totp', session.auth);
        assert.is(enrol.statusCode, 201, enrol.body);
        const { otpauthUri, secret } = enrol.json() as { otpauthUri: string; secret: string };
        assert.match(otpauthUri, /^otpauth:\/\/totp\/SmartAlex:.+\?.*secret=/);
        assert.ok(otpauthUri.includes(`secret=${secret}`));
        const row = (await withTenant(h.db, tenant, (tx) => tx.select().from(schema.users)))[0]!;
        assert.ok(row.totpPendingSealed);
        assert.not.ok(row.totpPendingSealed.toString('latin1').includes(Buffer.from(Secret.fromBase32(secret).bytes).toString('latin1')), 'sealed, not plain');
        assert.is(row.totpEnabled, false, 'not on before confirmation');

        assert.is((await post('/v1/me/totp/confirm', session.auth, { code: '000000' })).statusCode, 401);
        const confirm = await post('/v1/me/totp/confirm', session.auth, { code: codeAt(secret, h.clock()) });
        assert.is(confirm.statusCode, 200, confirm.body);
        const { recoveryCodes } = confirm.json() as { recoveryCodes: string[] };
        assert.is(recoveryCodes.length, 10);
        const stored = await withTenant(h.db, tenant, (tx) => tx.select().from(schema.userRecoveryCodes));
        assert.is(stored.length, 10);
        assert.ok(stored.every((c) => /^[0-9a-f]{64}$/.test(c.codeHash) && !recoveryCodes.includes(c.codeHash)), 'stored hashed');

        // Login now needs a code; the password alone says so (only once the password is right).
        const noCode = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: alice.email, password: PASSWORD } });
        assert.is(noCode.statusCode, 401);
        assert.is((noCode.json() as { code: string }).code, 'mfa_required');
        h.clock.advance(30_000);
        const code = codeAt(secret, h.clock());
        await h.login(alice.email, PASSWORD, { totp: code });
        const replay = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: alice.email, password: PASSWORD, totp: code } });
        assert.is(replay.statusCode, 401, 'the same code is not accepted twice within its window');
        assert.is((replay.json() as { code: string }).code, 'mfa_invalid');
        h.clock.advance(30_000);
        await h.login(alice.email, PASSWORD, { totp: codeAt(secret, h.clock()) });

        // A recovery code works once.
        await h.login(alice.email, PASSWORD, { recoveryCode: recoveryCodes[0]!.toUpperCase() });
        const reused = await h.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email: alice.email, password: PASSWORD, recoveryCode: recoveryCodes[0] } });
        assert.is(reused.statusCode, 401);

        // Disable: needs the password and a current code.
        h.clock.advance(30_000);
        assert.is((await post('/v1/me/totp/disable', session.auth, { password: 'Wrong-Password-1', code: codeAt(secret, h.clock()) })).statusCode, 401);
        assert.is((await post('/v1/me/totp/disable', session.auth, { password: PASSWORD, code: codeAt(secret, h.clock()) })).statusCode, 204);
        await h.login(alice.email);
        assert.is((await withTenant(h.db, tenant, (tx) => tx.select().from(schema.userRecoveryCodes))).length, 0);

        // Mandatory for owners and admins once the tenant says so.
        const owner = await h.user(tenant, 'owner');
        const ownerSession = await h.login(owner.email);
        const setting = await h.app.inject({ method: 'PUT', url: '/v1/tenant/security', headers: { authorization: ownerSession.auth }, payload: { require2faForAdmins: true } });
        assert.is(setting.statusCode, 200, setting.body);
        const admin = await h.user(tenant, 'admin');
        const pending = await h.login(admin.email);
        assert.is(pending.body.mfaEnrolmentRequired, true);
        const blocked = await h.app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: pending.auth } });
        assert.is(blocked.statusCode, 403);
        assert.is((blocked.json() as { code: string }).code, 'mfa_enrolment_required');
        assert.is((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { authorization: pending.auth } })).statusCode, 200);
        const adminSecret = ((await post('/v1/me/totp', pending.auth)).json() as { secret: string }).secret;
        assert.is((await post('/v1/me/totp/confirm', pending.auth, { code: codeAt(adminSecret, h.clock()) })).statusCode, 200);
        assert.is((await h.app.inject({ method: 'GET', url: '/v1/users', headers: { authorization: pending.auth } })).statusCode, 200, 'enrolled: allowed');
        h.clock.advance(30_000);
        const cannotDisable = await post('/v1/me/totp/disable', pending.auth, { password: PASSWORD, code: codeAt(adminSecret, h.clock()) });
        assert.is(cannotDisable.statusCode, 409, 'cannot turn it off while the tenant requires it');
        const managerSession = await h.login(alice.email);
        assert.is(managerSession.body.mfaEnrolmentRequired, false, 'managers are not covered by the setting');

        const actions = (await listAudit(h.db, tenant, 500)).map((a) => a.action);
        for (const action of ['2fa.enrol.start', '2fa.enable', '2fa.disable', 'tenant.security.change']) assert.ok(actions.includes(action), action);
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
