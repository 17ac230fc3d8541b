/**
 * API keys over /v1: created and shown once (stored hashed), listed with
 * prefix, role, created and last used, rotated with the old key valid for the
 * stated grace period (clock-driven), revoked; a key's role never exceeds its
 * creator's; another tenant's key id is a 404; every change is audited.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { listAudit, withTenant, schema } from '../../../storage/index.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

for (const backend of await backends()) {
  test(`[${backend.name}] API keys: create once, list, last used, rotate with grace, revoke, role ceiling, cross-tenant 404`, async () => {
    try {
      const h = await apiHarness(await backend.open());
      try {
        const tenant = await h.tenant();
        const admin = await h.bearer(tenant, 'admin');
        const call = (method: 'GET' | 'POST' | 'DELETE', url: string, auth: string, payload?: object) =>
          h.app.inject({ method, url, headers: { authorization: auth }, ...(payload ? { payload } : {}) });

        const created = await call('POST', '/v1/api-keys', admin, { name: 'CRM sync', role: 'manager' });
        assert.is(created.statusCode, 201, created.body);
        const key = created.json() as { id: string; prefix: string; key: string };
        assert.match(key.key, /^sak_[A-Za-z0-9_-]{8}_[A-Za-z0-9_-]{43}$/);
        const stored = (await withTenant(h.db, tenant, (tx) => tx.select().from(schema.apiKeys))).find((k) => k.id === key.id)!;
        assert.is(stored.keyHash, createHash('sha256').update(key.key).digest('hex'), 'stored as a hash');
        assert.is((await call('GET', '/v1/me', `Bearer ${key.key}`)).statusCode, 200);

        const list = await call('GET', '/v1/api-keys', admin);
        assert.is(list.statusCode, 200);
        assert.not.match(list.body, new RegExp(key.key.slice(-20)), 'the list never shows a key');
        const listed = (list.json() as { items: { id: string; prefix: string; role: string; lastUsedAt: string | null; createdAt: string }[] }).items.find((k) => k.id === key.id)!;
        assert.equal([listed.prefix, listed.role], [key.prefix, 'manager']);
        assert.ok(listed.lastUsedAt, 'last used is recorded');

        assert.is((await call('POST', '/v1/api-keys', admin, { name: 'too high', role: 'owner' })).statusCode, 403, 'an admin cannot mint an owner key');
        assert.is((await call('POST', '/v1/api-keys', `Bearer ${key.key}`, { name: 'x', role: 'viewer' })).statusCode, 403, 'a manager cannot manage keys');

        // Rotation: the new key works at once; the old one until the grace period ends.
        const rotated = await call('POST', `/v1/api-keys/${key.id}/rotate`, admin, { graceSeconds: 3600 });
        assert.is(rotated.statusCode, 201, rotated.body);
        const successor = rotated.json() as { key: string; prefix: string; oldKeyExpiresAt: string };
        assert.is(Date.parse(successor.oldKeyExpiresAt) - h.clock().getTime(), 3600_000);
        assert.is((await call('GET', '/v1/me', `Bearer ${successor.key}`)).statusCode, 200);
        h.clock.advance(3599_000);
        assert.is((await call('GET', '/v1/me', `Bearer ${key.key}`)).statusCode, 200, 'old key inside the grace period');
        h.clock.advance(1000);
        assert.is((await call('GET', '/v1/me', `Bearer ${key.key}`)).statusCode, 401, 'old key after the grace period');
        assert.is((await call('GET', '/v1/me', `Bearer ${successor.key}`)).statusCode, 200);
        assert.is((await call('POST', `/v1/api-keys/${key.id}/rotate`, admin, {})).statusCode, 409, 'a rotated key is not rotated twice');

        // Revocation is immediate.
        const successorId = ((await call('GET', '/v1/api-keys', admin)).json() as { items: { id: string; prefix: string }[] }).items.find((k) => k.prefix === successor.prefix)!.id;
        assert.is((await call('DELETE', `/v1/api-keys/${successorId}`, admin)).statusCode, 204);
        assert.is((await call('GET', '/v1/me', `Bearer ${successor.key}`)).statusCode, 401);
        assert.is((await call('DELETE', `/v1/api-keys/${successorId}`, admin)).statusCode, 404);

        // Another tenant's key id: 404 for rotate and revoke, and the key keeps working.
        const other = await h.tenant('other');
        const theirs = await call('POST', '/v1/api-keys', await h.bearer(other, 'owner'), { name: 'theirs', role: 'viewer' });
        const theirKey = theirs.json() as { id: string; key: string };
        assert.is((await call('POST', `/v1/api-keys/${theirKey.id}/rotate`, admin, {})).statusCode, 404);
        assert.is((await call('DELETE', `/v1/api-keys/${theirKey.id}`, admin)).statusCode, 404);
        assert.is((await call('GET', '/v1/me', `Bearer ${theirKey.key}`)).statusCode, 200);

        const entries = await listAudit(h.db, tenant, 200);
        for (const action of ['apikey.create', 'apikey.rotate', 'apikey.revoke']) {
          const entry = entries.find((e) => e.action === action);
          assert.ok(entry, action);
          assert.match(entry.actor, /^apikey:sak_/);
          assert.match(String(entry.target), /^apikey:sak_/);
        }
        assert.not.match(JSON.stringify(entries), new RegExp(key.key.slice(-20)), 'no key in the audit log');
      } finally {
        await h.close();
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
