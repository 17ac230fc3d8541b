/**
 * The tenant's default country: read through GET /tenant (US until set), set
 * through PATCH /tenant by an owner or admin (a manager may not), checked
 * against libphonenumber-js's countries, audited with before and after; then
 * contact create, rectification, CSV import and the list's phone filter read
 * numbers written without + in it, as do the do-not-call list and the
 * consents (and their filters), while another tenant keeps the US.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightMyRequestResponse } from 'fastify';
import { RESOURCE_ROUTES } from '../../../src/api/routes/resources.ts';
import { listAudit } from '../../../storage/index.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

function client(h: ApiHarness, auth: string) {
  return (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: unknown, contentType?: string): Promise<LightMyRequestResponse> =>
    h.app.inject({
      method, url: `/v1${url}`, headers: { authorization: auth, ...(contentType ? { 'content-type': contentType } : {}) },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
}

function expect(res: LightMyRequestResponse, status: number, what: string): any {
  assert.is(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  return res.body ? res.json() : null;
}

for (const backend of await backends()) {
  test(`[${backend.name}] default country: set by owner/admin, checked, audited, used by contact create, rectify, import and filter`, async () => {
    const h = await apiHarness(await backend.open(), { routes: RESOURCE_ROUTES });
    try {
      const tenantId = await h.tenant('Acme');
      const owner = client(h, await h.bearer(tenantId, 'owner'));
      const admin = client(h, await h.bearer(tenantId, 'admin'));
      const manager = client(h, await h.bearer(tenantId, 'manager'));
      assert.is(expect(await manager('GET', '/tenant'), 200, 'read').defaultCountry, 'US', 'US until set');
      expect(await manager('PATCH', '/tenant', { defaultCountry: 'GB' }), 403, 'a manager may not set it');
      for (const bad of ['ZZ', 'XX', 'G', 'GBR', '12']) expect(await admin('PATCH', '/tenant', { defaultCountry: bad }), 400, `not a country: ${bad}`);
      assert.is(expect(await owner('PATCH', '/tenant', { defaultCountry: 'fr' }), 200, 'owner sets it').defaultCountry, 'FR', 'upper-cased');
      assert.is(expect(await admin('PATCH', '/tenant', { defaultCountry: 'GB' }), 200, 'admin sets it').defaultCountry, 'GB');
      assert.is(expect(await manager('GET', '/tenant'), 200, 'read again').defaultCountry, 'GB');
      const updates = (await listAudit(h.db, tenantId, 20)).filter((e) => e.action === 'tenant.updated');
      assert.equal(updates[0]?.detail, { fields: ['defaultCountry'], defaultCountry: { before: 'FR', after: 'GB' } }, 'audited with before and after');

      const london = expect(await manager('POST', '/contacts', { phone: '020 7946 0958' }), 201, 'a national GB number');
      assert.equal([london.phone, london.timeZone], ['+442079460958', 'Europe/London']);
      expect(await manager('POST', '/contacts', { phone: '+1 415 555 0123' }), 201, 'an international number still works');
      const problem = expect(await manager('POST', '/contacts', { phone: '0999' }), 400, 'not a number');
      assert.match(problem.detail, /read as a number of GB/, 'the message names the country');
      const moved = expect(await manager('PATCH', `/contacts/${london.id}`, { phone: '020 7946 0959' }), 200, 'rectified with a national number');
      assert.is(moved.phone, '+442079460959');
      const report = expect(await manager('POST', '/contacts/import', 'phone,name\n020 7946 0960,Alan\n', 'text/csv'), 200, 'import');
      assert.equal([report.created, report.errors], [1, []]);
      const found = expect(await manager('GET', '/contacts?phone=02079460960'), 200, 'filter by the national spelling');
      assert.equal(found.items.map((c: { phone: string; name: string }) => [c.phone, c.name]), [['+442079460960', 'Alan']]);

      // The do-not-call list and the consents read numbers without + in GB too, as do their phone filters.
      const dnc = expect(await manager('POST', '/dnc', { phone: '020 7946 0000', reason: 'asked on call' }), 200, 'a national GB number on the do-not-call list');
      assert.equal([dnc.phone, dnc.added], ['+442079460000', true]);
      assert.is(expect(await manager('POST', '/dnc', { phone: '207 946 0000' }), 200, 'the same number again').added, false);
      assert.equal(expect(await manager('GET', '/dnc?phone=02079460000'), 200, 'dnc filter').items.map((e: { phone: string }) => e.phone), ['+442079460000']);
      const consent = expect(await manager('POST', '/consents', { phone: '020 7946 0001', source: 'web form' }), 200, 'consent for a national GB number');
      assert.is(consent.phone, '+442079460001');
      assert.equal(expect(await manager('GET', '/consents?phone=(020)%207946%200001'), 200, 'consent filter').items.map((c: { id: string }) => c.id), [consent.id]);
      const unreadable = await manager('POST', '/dnc', { phone: '020 7946 00' }); // too short for a London number
      assert.is(unreadable.statusCode, 400);
      assert.match(String(unreadable.headers['content-type']), /application\/problem\+json/);
      assert.match(unreadable.json().detail, /not a phone number: .*read as a number of GB \(the tenant's default country\)/, 'the problem names the country');
      assert.not.ok(unreadable.body.replace(/\D/g, '').includes('794600'), 'the problem repeats the number');
      const dncAudit = (await listAudit(h.db, tenantId, 50)).filter((e) => e.action === 'dnc.added' || e.action === 'consent.granted');
      assert.equal(dncAudit.map((e) => e.target).sort(), ['+********0000', '+********0001'], 'audited masked');

      const other = await h.tenant('Other');
      const us = client(h, await h.bearer(other, 'manager'));
      assert.is(expect(await us('POST', '/contacts', { phone: '(415) 555-0123' }), 201, 'another tenant').phone, '+14155550123', 'another tenant keeps the US');
      assert.is(expect(await us('POST', '/dnc', { phone: '207 946 0000' }), 200, 'another tenant\'s dnc').phone, '+12079460000', 'and reads its do-not-call numbers in the US');
      assert.is(expect(await us('POST', '/consents', { phone: '207 946 0001', source: 'web form' }), 200, 'another tenant\'s consent').phone, '+12079460001');
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });
}

test.run();
