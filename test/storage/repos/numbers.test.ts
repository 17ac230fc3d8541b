/**
 * Numbers: allowlist entries pass the one strict CIDR parser on the way in
 * (whatever the caller: CLI, API, provisioning), stored in canonical form; a
 * whole-family entry needs allowAnySource; a number's own digest algorithms
 * are stored in order, checked by the database too, and reach the call
 * admission through the directory function (the runtime role's only way).
 * Runs on PGlite and on a Postgres server.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { CidrError } from '../../../media/sip/cidr.ts';
import { addNumber, createAgent, createTenant, routeNumber, withTenant, schema } from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';

async function rejection(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  assert.unreachable('expected a rejection');
  return undefined;
}

for (const backend of await backends()) {
  const db = await backend.open();
  const tenant = await createTenant(db, { name: 'numbers' });
  const agent = await createAgent(db, tenant.id, { name: 'a', mode: 'echo' });

  test(`[${backend.name}] addNumber refuses malformed CIDRs and stores canonical ones`, async () => {
    for (const bad of ['203.0.113.7/', '203.0.113.0/-24', '203.0.113.0/024', '10.0.0.0/33', '203.0.113.7/24', ' 10.0.0.1', 'example.com']) {
      const error = await rejection(() => addNumber(db, tenant.id, { number: '5000', agentId: agent.id, allowedCidrs: [bad] }));
      assert.instance(error, CidrError, bad);
    }
    assert.is(await routeNumber(db, '5000'), undefined, 'nothing stored');
    await addNumber(db, tenant.id, { number: '5001', agentId: agent.id, allowedCidrs: ['198.51.100.7', '2001:DB8::/32'] });
    assert.equal((await routeNumber(db, '5001'))?.allowedCidrs, ['198.51.100.7/32', '2001:db8::/32']);
  });

  test(`[${backend.name}] a whole-family entry needs allowAnySource`, async () => {
    for (const any of ['0.0.0.0/0', '::/0', '::ffff:0:0/96']) {
      const error = await rejection(() => addNumber(db, tenant.id, { number: '5002', agentId: agent.id, allowedCidrs: [any] }));
      assert.ok(error instanceof CidrError && error.problem === 'any', any);
    }
    await addNumber(db, tenant.id, { number: '5002', agentId: agent.id, allowedCidrs: ['0.0.0.0/0'], allowAnySource: true });
    assert.equal((await routeNumber(db, '5002'))?.allowedCidrs, ['0.0.0.0/0']);
  });

  test(`[${backend.name}] digest algorithms: stored in order, NULL is the server default, bad lists refused by the database too`, async () => {
    const digest = { username: 'c', realm: 'smartalex', ha1Md5: 'x'.repeat(32), ha1Sha256: 'y'.repeat(64) };
    await addNumber(db, tenant.id, { number: '5003', agentId: agent.id, allowedCidrs: [], digest, digestAlgorithms: ['SHA-256'] });
    await addNumber(db, tenant.id, { number: '5004', agentId: agent.id, allowedCidrs: [], digest, digestAlgorithms: ['SHA-256', 'MD5'] });
    await addNumber(db, tenant.id, { number: '5005', agentId: agent.id, allowedCidrs: [], digest });
    assert.equal((await routeNumber(db, '5003'))?.digestAlgorithms, ['SHA-256']);
    assert.equal((await routeNumber(db, '5004'))?.digestAlgorithms, ['SHA-256', 'MD5']);
    assert.is((await routeNumber(db, '5005'))?.digestAlgorithms, undefined);
    for (const bad of [sql`'{}'::text[]`, sql`'{SHA-1}'::text[]`, sql`'{MD5,MD5}'::text[]`, sql`'{MD5,SHA-256,MD5}'::text[]`, sql`array['MD5', null]::text[]`]) {
      const error = await rejection(() => withTenant(db, tenant.id, (tx) => tx.insert(schema.numbers).values({
        tenantId: tenant.id, number: '5006', agentId: agent.id, digestAlgorithms: bad as unknown as string[],
      })));
      assert.match(String((error as { cause?: { message?: string } }).cause?.message ?? (error as Error).message), /numbers_digest_algorithms/);
    }
  });

  test.after(() => backend.cleanup());
}

test.run();
