/**
 * Contacts' custom attributes: given on create, returned by get and list,
 * merged on rectification (null removes a key) and audited with the changed
 * keys and the kind of value before and after, never the values; the rules
 * (key pattern, value types, 50 keys, 4 KiB) refused with 400s; the CSV
 * import stores extra columns as attributes, fails the whole file on a
 * header that cannot name one and skips a row whose value cannot be stored;
 * RLS keeps them to their tenant; a tenant-wide GDPR export carries them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightMyRequestResponse } from 'fastify';
import { exportDataSubject, WHOLE_TENANT } from '../../../src/gdpr/export.ts';
import { RESOURCE_ROUTES } from '../../../src/api/routes/resources.ts';
import { listAudit, listContactsPage, schema, withTenant } from '../../../storage/index.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { readZip } from '../gdpr/read-zip.ts';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  // One database and API for the file (each test has its own tenants): a migration per test would cost more than the tests.
  const h = await apiHarness(await backend.open(), { routes: RESOURCE_ROUTES });
  test(`[${backend.name}] attributes: created, read, merged (null removes), audited without values, RLS-scoped`, async () => {
    const tenantId = await h.tenant('Acme');
    const api = client(h, await h.bearer(tenantId, 'manager'));
    const created = expect(await api('POST', '/contacts', { phone: '+14155550123', attributes: { plan: 'gold', visits: 3, vip: true, 'loyalty.tier': 'Secret-Tier-7' } }), 201, 'create');
    assert.equal(created.attributes, { plan: 'gold', visits: 3, vip: true, 'loyalty.tier': 'Secret-Tier-7' });
    const plain = expect(await api('POST', '/contacts', { phone: '+14155550124' }), 201, 'create without attributes');
    assert.equal(plain.attributes, {}, 'none given: an empty object');
    assert.equal(expect(await api('GET', `/contacts/${created.id}`), 200, 'get').attributes, created.attributes);
    const listed = expect(await api('GET', '/contacts'), 200, 'list');
    assert.equal(listed.items.map((c: { attributes: unknown }) => c.attributes), [created.attributes, {}]);

    const merged = expect(await api('PATCH', `/contacts/${created.id}`, { attributes: { visits: 4, vip: null, 'loyalty.tier': 'Secret-Tier-8', note: 'Likes-Mornings' } }), 200, 'merge');
    assert.equal(merged.attributes, { plan: 'gold', visits: 4, 'loyalty.tier': 'Secret-Tier-8', note: 'Likes-Mornings' }, 'set, replaced, removed; plan untouched');
    const entry = (await listAudit(h.db, tenantId, 20)).find((e) => e.action === 'contact.rectified');
    assert.equal(entry?.detail, {
      fields: ['attributes'],
      attributes: {
        visits: { before: 'number', after: 'number' }, vip: { before: 'boolean', after: null },
        'loyalty.tier': { before: 'string', after: 'string' }, note: { before: null, after: 'string' },
      },
    }, 'the changed keys with the kind of value before and after');
    assert.not.match(JSON.stringify(await listAudit(h.db, tenantId, 20)), /Secret-Tier|Likes-Mornings|gold/, 'no attribute value in the audit log');
    const unchanged = expect(await api('PATCH', `/contacts/${created.id}`, { attributes: { plan: 'gold' } }), 200, 'same value');
    assert.equal(unchanged.attributes, merged.attributes);

    const other = await h.tenant('Other');
    const stranger = client(h, await h.bearer(other, 'manager'));
    expect(await stranger('GET', `/contacts/${created.id}`), 404, 'another tenant');
    expect(await stranger('PATCH', `/contacts/${created.id}`, { attributes: { plan: 'x' } }), 404, 'another tenant cannot merge');
    const seen = await withTenant(h.db, other, (tx) => tx.select().from(schema.contacts));
    assert.is(seen.length, 0, 'RLS: no row of another tenant');
  });

  test(`[${backend.name}] attributes: bad keys, values, counts and sizes are 400s, and a refused merge writes nothing`, async () => {
    const tenantId = await h.tenant('Acme');
    const api = client(h, await h.bearer(tenantId, 'manager'));
    const bad: [string, unknown][] = [
      ['a key with a space', { 'two words': 'x' }],
      ['a key starting with a digit', { '1st': 'x' }],
      ['__proto__', JSON.parse('{"__proto__": "x"}')],
      ['a 65-character key', { [`k${'x'.repeat(64)}`]: 'x' }],
      ['a nested object', { deep: { a: 1 } }],
      ['an array', { list: [1, 2] }],
      ['null on create', { gone: null }],
      ['a control character', { note: 'a\u0000b' }],
      ['51 keys', Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`k${i}`, i]))],
      ['over 4 KiB', { big: 'x'.repeat(4100) }],
    ];
    for (const [what, attributes] of bad) expect(await api('POST', '/contacts', { phone: '+14155550123', attributes }), 400, what);
    assert.is((await listContactsPage(h.db, tenantId, {}, { limit: 10 })).items.length, 0, 'nothing created');

    const full = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    const c = expect(await api('POST', '/contacts', { phone: '+14155550123', attributes: full }), 201, 'exactly 50 keys');
    const problem = expect(await api('PATCH', `/contacts/${c.id}`, { attributes: { one: 'more' } }), 400, 'a merge to 51 keys');
    assert.match(JSON.stringify(problem), /at most 50 attributes/);
    const swapped = expect(await api('PATCH', `/contacts/${c.id}`, { attributes: { k0: null, one: 'more' } }), 200, 'remove one, add one');
    assert.is(Object.keys(swapped.attributes).length, 50);
    expect(await api('PATCH', `/contacts/${c.id}`, { attributes: { k1: 'y'.repeat(4000) } }), 400, 'a merge over 4 KiB');
    const stored = (await listContactsPage(h.db, tenantId, {}, { limit: 10 })).items[0]!;
    assert.equal(stored.attributes, swapped.attributes, 'the refused merges wrote nothing');
  });

  test(`[${backend.name}] CSV import: extra columns stored as attributes; a bad header fails the file, a bad value skips the row`, async () => {
    const tenantId = await h.tenant('Acme');
    const api = client(h, await h.bearer(tenantId, 'manager'));
    const csv = [
      'phone,Plan,name,loyalty.tier',
      '+14155550123,gold,Ada,3',
      '+14155550124,,Grace,',
      `+14155550125,${'z'.repeat(4100)},Alan,`,
      '+14155550126,"bad\u0001value",Linus,',
      '',
    ].join('\n');
    const report = expect(await api('POST', '/contacts/import', csv, 'text/csv'), 200, 'import');
    assert.equal(report.attributeColumns, ['Plan', 'loyalty.tier']);
    assert.equal([report.created, report.skipped], [2, 2]);
    assert.equal(report.errors.map((e: { line: number; field: string }) => [e.line, e.field]), [[4, 'attributes'], [5, 'Plan']]);
    assert.not.match(JSON.stringify(report), /zzzz|bad\\u0001/, 'no value quoted in the report');
    const stored = new Map((await listContactsPage(h.db, tenantId, {}, { limit: 10 })).items.map((c) => [c.phone, c.attributes]));
    assert.equal(stored.get('+14155550123'), { Plan: 'gold', 'loyalty.tier': '3' }, 'cells stored as text');
    assert.equal(stored.get('+14155550124'), {}, 'blank cells set nothing');

    for (const [what, header, reason] of [
      ['a header with a space', 'phone,favourite colour', /column 2 \("favourite colour"\) cannot name an attribute/],
      ['an empty header', 'phone,name,', /column 3 \(""\) cannot name an attribute/],
      ['a repeated attribute', 'phone,plan,plan', /names the column plan twice/],
      ['51 attribute columns', `phone,${Array.from({ length: 51 }, (_, i) => `a${i}`).join(',')}`, /at most 50 attribute columns/],
    ] as const) {
      const problem = expect(await api('POST', '/contacts/import', `${header}\n+14155550199${','.repeat(header.split(',').length - 1)}\n`, 'text/csv'), 400, what);
      assert.match(problem.detail, reason, what);
    }
    assert.is((await listContactsPage(h.db, tenantId, {}, { limit: 10 })).items.length, 2, 'a refused file creates nothing');
  });

  test(`[${backend.name}] a tenant-wide GDPR export carries the attributes (JSON object, one JSON column in CSV)`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'attr-export-'));
    try {
      const tenantId = await h.tenant('Acme');
      const api = client(h, await h.bearer(tenantId, 'manager'));
      expect(await api('POST', '/contacts', { phone: '+14155550123', attributes: { plan: 'gold, "best"', visits: 2 } }), 201, 'create');
      const out = join(dir, 'tenant.zip');
      await exportDataSubject(h.db, undefined, tenantId, WHOLE_TENANT, out, { actor: 'operator:test' });
      const files = readZip(await readFile(out));
      assert.equal(JSON.parse(files.get('contacts.json')!.toString())[0].attributes, { plan: 'gold, "best"', visits: 2 });
      const csv = files.get('contacts.csv')!.toString();
      assert.match(csv, /,attributes\r\n/);
      assert.match(csv, /,"\{""plan"":""gold, \\""best\\"""",""visits"":2\}"\r\n/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test.after(async () => {
    await h.close();
    await backend.cleanup();
  });
}

test.run();
