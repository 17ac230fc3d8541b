/**
 * Contacts: numbers validated and normalised to E.164, the time zone given or
 * derived from a single-zone country, and POST /v1/contacts/import (CSV):
 * good rows created, bad rows and duplicates skipped with a per-row report
 * that masks numbers, the size bound, roles, one audit entry with counts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightMyRequestResponse } from 'fastify';
import { listAudit, listContactsPage, type Database } from '../../../storage/index.ts';
import { RESOURCE_ROUTES } from '../../../src/api/routes/resources.ts';
import { IMPORT_BODY_LIMIT } from '../../../src/api/routes/contacts.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

function client(h: ApiHarness, auth: string) {
  return (method: 'GET' | 'POST', url: string, payload?: unknown, contentType?: string): Promise<LightMyRequestResponse> =>
    h.app.inject({
      method, url: `/v1${url}`, headers: { authorization: auth, ...(contentType ? { 'content-type': contentType } : {}) },
      ...(payload !== undefined ? { payload: payload as object } : {}),
    });
}

function expect(res: LightMyRequestResponse, status: number, what: string): any {
  assert.is(res.statusCode, status, `${what}: ${res.statusCode} ${res.body}`);
  return res.body ? res.json() : null;
}

async function contactsOf(db: Database, tenantId: string) {
  return (await listContactsPage(db, tenantId, {}, { limit: 100 })).items;
}

const CSV = [
  'Phone,Name,email,timezone,plan',
  '+14155550123,Ada,ada@example.com,,gold',
  '"(212) 555-0199","Hopper, Grace",,America/Chicago,silver',
  '+44 20 7946 0958,Alan,,,',
  '+15551234567,Nobody,,,',
  'call me,Nobody,,,',
  '+14155550124,Bad zone,,Mars/Olympus,',
  '+14155550125,Bad mail,not-an-address,,',
  '415-555-0123,Ada again,,,',
  '+14155550100,Existing,,,',
  '+14155550126,Too,many,,,fields,here',
  '',
].join('\r\n');

for (const backend of await backends()) {
  test(`[${backend.name}] contacts: E.164 numbers, time zone given or derived, clear 400s`, async () => {
    const h = await apiHarness(await backend.open(), { routes: RESOURCE_ROUTES });
    try {
      const tenantId = await h.tenant('Acme');
      const api = client(h, await h.bearer(tenantId, 'manager'));
      const uk = expect(await api('POST', '/contacts', { phone: '+44 20 7946 0958' }), 201, 'UK number');
      assert.equal([uk.phone, uk.timeZone], ['+442079460958', 'Europe/London'], 'a single-zone country gives its zone');
      const us = expect(await api('POST', '/contacts', { phone: '(415) 555-0123' }), 201, 'US number without +');
      assert.equal([us.phone, us.timeZone], ['+14155550123', null], 'the US has several zones: none derived');
      const given = expect(await api('POST', '/contacts', { phone: '+14155550124', timeZone: 'America/Los_Angeles' }), 201, 'zone given');
      assert.is(given.timeZone, 'America/Los_Angeles');
      for (const bad of ['+15551234567', '5551234', '+1212555012', '2000']) {
        const problem = expect(await api('POST', '/contacts', { phone: bad }), 400, `invalid ${bad}`);
        assert.match(JSON.stringify(problem), /not a valid phone number.*\+14155550123/, 'the message says what is expected');
        assert.not.match(JSON.stringify(problem), bad.replace(/\D/g, ''), 'the number is not echoed');
      }
      expect(await api('POST', '/contacts', { phone: '+14155550129', timeZone: 'Mars/Olympus' }), 400, 'not an IANA zone');
      const moved = expect(await api('PATCH' as 'POST', `/contacts/${us.id}`, { timeZone: 'America/New_York' }), 200, 'rectify the zone');
      assert.is(moved.timeZone, 'America/New_York');
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] POST /contacts/import: good rows created, bad rows and duplicates reported (masked), audited once`, async () => {
    const h = await apiHarness(await backend.open(), { routes: RESOURCE_ROUTES });
    try {
      const tenantId = await h.tenant('Acme');
      const api = client(h, await h.bearer(tenantId, 'manager'));
      expect(await api('POST', '/contacts', { phone: '+14155550100' }), 201, 'an existing contact');
      const report = expect(await api('POST', '/contacts/import', CSV, 'text/csv'), 200, 'import');
      assert.equal([report.rows, report.created, report.skipped], [10, 3, 7]);
      assert.equal(report.attributeColumns, ['plan'], 'an extra column is a custom attribute');
      assert.equal(report.errors.map((e: { line: number; field: string }) => [e.line, e.field]), [
        [5, 'phone'], [6, 'phone'], [7, 'timeZone'], [8, 'email'], [9, 'phone'], [10, 'phone'], [11, 'row'],
      ]);
      assert.match(report.errors[4].reason, /duplicate of line 2/);
      assert.match(report.errors[5].reason, /already exists/);
      assert.is(report.errors[0].phone, '+*******4567', 'numbers masked in the report');
      assert.not.match(JSON.stringify(report), /5551234567|4155550100|4155550124|ada@example/, 'no whole number or address in the report');
      const stored = await contactsOf(h.db, tenantId);
      const byPhone = new Map(stored.map((c) => [c.phone, c]));
      assert.is(stored.length, 4);
      assert.equal([byPhone.get('+14155550123')?.name, byPhone.get('+14155550123')?.email], ['Ada', 'ada@example.com']);
      assert.equal(byPhone.get('+14155550123')?.attributes, { plan: 'gold' }, 'the extra column stored as an attribute');
      assert.equal(byPhone.get('+442079460958')?.attributes, {}, 'a blank cell sets nothing');
      assert.equal([byPhone.get('+12125550199')?.name, byPhone.get('+12125550199')?.timeZone], ['Hopper, Grace', 'America/Chicago'], 'a quoted field with a comma');
      assert.is(byPhone.get('+442079460958')?.timeZone, 'Europe/London', 'zone derived on import');
      const entries = (await listAudit(h.db, tenantId, 10)).filter((e) => e.action === 'contacts.imported');
      assert.is(entries.length, 1, 'audited once');
      assert.equal(entries[0]!.detail, { rows: 10, created: 3, skipped: 7 });

      const json = expect(await api('POST', '/contacts/import', { csv: 'phone,name\n+33 6 12 34 56 78,"Marie ""M"" Curie"\n' }), 200, 'JSON {csv}');
      assert.equal([json.created, json.errors], [1, []]);
      const marie = (await contactsOf(h.db, tenantId)).find((c) => c.phone === '+33612345678');
      assert.equal([marie?.name, marie?.timeZone], ['Marie "M" Curie', 'Europe/Paris']);
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] POST /contacts/import refuses: no phone column, bad CSV, an oversized body, a viewer`, async () => {
    const h = await apiHarness(await backend.open(), { routes: RESOURCE_ROUTES });
    try {
      const tenantId = await h.tenant('Acme');
      const api = client(h, await h.bearer(tenantId, 'manager'));
      expect(await api('POST', '/contacts/import', 'name,email\nAda,ada@example.com\n', 'text/csv'), 400, 'no phone column');
      expect(await api('POST', '/contacts/import', 'phone,name\n"+14155550123,Ada\n', 'text/csv'), 400, 'an unclosed quote');
      const big = `phone,name\n${'+14155550123,'.padEnd(100, 'x').concat('\n').repeat(Math.ceil(IMPORT_BODY_LIMIT / 100) + 1)}`;
      expect(await api('POST', '/contacts/import', big, 'text/csv'), 413, 'over 5 MiB');
      const viewer = client(h, await h.bearer(tenantId, 'viewer'));
      expect(await viewer('POST', '/contacts/import', 'phone\n+14155550123\n', 'text/csv'), 403, 'a viewer');
      expect(await api('POST', '/agents', 'phone\n+14155550123\n', 'text/csv'), 400, 'another route does not take CSV');
      assert.is((await contactsOf(h.db, tenantId)).length, 0, 'nothing created by a refused import');
      assert.not.ok((await listAudit(h.db, tenantId, 10)).some((e) => e.action === 'contacts.imported'), 'a refused import is not audited as one');
    } finally {
      await h.close();
      await backend.cleanup();
    }
  });
}

test.run();
