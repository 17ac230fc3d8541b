/**
 * The tenant's own concurrent call limit as admission reads it (storage/repos/tenant-call-limit.ts), on
 * PGlite and a Postgres server: the stored value (20 unless set at creation), kept per database handle so
 * a change behind the handle's back is not seen until the entry is dropped, a change through
 * `setTenantMaxConcurrentCalls` seen at once, concurrent askers sharing one read, a read overtaken by a
 * change not stored, and a limit that is not a positive whole number refused. No clock is involved: the
 * entries' lifetime is never waited for.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { createTenant, forgetTenantCallLimit, setTenantMaxConcurrentCalls, tenantCallLimit, type Database } from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';

/** Changes the stored limit as another node would: not through this handle's cache. */
async function behindItsBack(db: Database, tenantId: string, limit: number): Promise<void> {
  await db.owner.execute(sql`update tenants set max_concurrent_calls = ${limit} where id = ${tenantId}`);
}

for (const backend of await backends()) {
  test(`[${backend.name}] the stored limit, cached per handle; changes through the module seen at once`, async () => {
    const db = await backend.open();
    const plain = await createTenant(db, { name: 'default' });
    assert.is(await tenantCallLimit(db, plain.id), 20, 'the column default');
    const own = await createTenant(db, { name: 'own', maxConcurrentCalls: 3 });
    assert.is(await tenantCallLimit(db, own.id), 3);
    assert.is(await tenantCallLimit(db, randomUUID()), undefined, 'no such tenant');

    await behindItsBack(db, own.id, 7);
    assert.is(await tenantCallLimit(db, own.id), 3, 'still the cached value');
    forgetTenantCallLimit(db, own.id);
    assert.is(await tenantCallLimit(db, own.id), 7, 'read again once dropped');

    assert.equal(await setTenantMaxConcurrentCalls(db, own.id, 9), { before: 7, after: 9 });
    assert.is(await tenantCallLimit(db, own.id), 9, 'a change through the module is seen at once');
    assert.is(await setTenantMaxConcurrentCalls(db, randomUUID(), 9), undefined, 'no such tenant');
  });

  test(`[${backend.name}] concurrent askers share one read; a read overtaken by a change is not kept`, async () => {
    const db = await backend.open();
    const tenant = await createTenant(db, { name: 'racing', maxConcurrentCalls: 4 });
    const first = tenantCallLimit(db, tenant.id);
    const second = tenantCallLimit(db, tenant.id);
    assert.ok(first === second, 'one read for both');
    // The change lands while that read may still be in flight: whatever it answers, it is not cached.
    await setTenantMaxConcurrentCalls(db, tenant.id, 6);
    const answered = await first;
    assert.ok(answered === 4 || answered === 6, `the read in flight answers the old or the new value (${answered})`);
    assert.is(await tenantCallLimit(db, tenant.id), 6);
  });

  test(`[${backend.name}] a limit that is not a positive whole number is refused and nothing changes`, async () => {
    const db = await backend.open();
    const tenant = await createTenant(db, { name: 'strict', maxConcurrentCalls: 2 });
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await setTenantMaxConcurrentCalls(db, tenant.id, bad).then(() => assert.unreachable(`${bad} accepted`), (e: unknown) => assert.instance(e, RangeError));
      await createTenant(db, { name: 'bad', maxConcurrentCalls: bad }).then(() => assert.unreachable(`${bad} accepted at creation`), (e: unknown) => assert.instance(e, RangeError));
    }
    forgetTenantCallLimit(db, tenant.id);
    assert.is(await tenantCallLimit(db, tenant.id), 2);
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
