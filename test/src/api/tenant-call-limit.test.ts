/**
 * The tenant's concurrent call limit through the API: GET /tenant shows the limit in the database (the
 * operator's, set with `smartalex tenant update`, which admission enforces); PATCH /tenant cannot change
 * it, not even for an owner (the plans define no maximum an owner could be held to): a 400 problem
 * naming the field, nothing changed, nothing audited.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RESOURCE_ROUTES } from '../../../src/api/routes/resources.ts';
import { setTenantCallLimit } from '../../../src/resources/tenant.ts';
import { listAudit, tenantCallLimit } from '../../../storage/index.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

for (const backend of await backends()) {
  test(`[${backend.name}] maxConcurrentCalls: shown by GET /tenant, set by the operator, refused in PATCH`, async () => {
    const h = await apiHarness(await backend.open(), { routes: RESOURCE_ROUTES });
    try {
      const tenantId = await h.tenant('Acme');
      const headers = { authorization: await h.bearer(tenantId, 'owner') };
      const read = async (): Promise<{ maxConcurrentCalls: number }> => (await h.app.inject({ method: 'GET', url: '/v1/tenant', headers })).json();
      assert.is((await read()).maxConcurrentCalls, 20, 'the default');
      await setTenantCallLimit(h.db, tenantId, 35, { actor: 'operator:cli' });
      assert.is((await read()).maxConcurrentCalls, 35, 'the operator\'s value');

      const auditBefore = (await listAudit(h.db, tenantId, 100)).length;
      const res = await h.app.inject({ method: 'PATCH', url: '/v1/tenant', headers, payload: { maxConcurrentCalls: 500 } });
      assert.is(res.statusCode, 400, res.body);
      assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
      assert.match(res.body, /maxConcurrentCalls/, 'the problem names the field');
      assert.is((await read()).maxConcurrentCalls, 35, 'unchanged');
      assert.is(await tenantCallLimit(h.db, tenantId), 35, 'admission reads the same');
      assert.is((await listAudit(h.db, tenantId, 100)).length, auditBefore, 'nothing audited');
    } finally {
      await h.close();
    }
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
