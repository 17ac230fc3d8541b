/**
 * Each tenant's own concurrent call limit across two media nodes (real `smartalex serve` processes) on one
 * Postgres server: the call leases count against the tenant's `maxConcurrentCalls`, not one number for
 * all. Tenant one (limit 1) is refused on node-b while its call is up on node-a; tenant two (limit 2) gets
 * a call on each node and is refused a third. A limit raised in the database by another process reaches
 * the nodes within their cache's lifetime (storage/repos/tenant-call-limit.ts): tenant one's next call on
 * node-b is then answered.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SipCallError } from '../../media/sip/index.ts';
import { addNumber, createAgent, createTenant, setTenantMaxConcurrentCalls } from '../../storage/index.ts';
import { postgresUnderTest } from '../support/databases.ts';
import { waitForValue } from '../support/poll.ts';
import { startTestCluster } from './support/cluster.ts';
import { ownCall, type OwnCall } from './support/uac.ts';

const adminUrl = await postgresUnderTest('the per-tenant call limit across a cluster');

const TENANT_ONE_NUMBER = '3001';
/** The cluster harness's own tenant answers 2000. */
const TENANT_TWO_NUMBER = '2000';

async function status(sipPort: number, number: string, open: OwnCall[]): Promise<number> {
  try {
    open.push(await ownCall(sipPort, { number, timeoutMs: 30_000 }));
    return 200;
  } catch (error) {
    if (error instanceof SipCallError) return error.status;
    throw error;
  }
}

if (adminUrl) {
  test('two nodes, one Postgres: each tenant is held to its own limit across both; a raised limit reaches the nodes', async () => {
    const cluster = await startTestCluster(adminUrl, { tenantMaxConcurrentCalls: 2 });
    const open: OwnCall[] = [];
    try {
      const one = await createTenant(cluster.db, { name: 'limit-one', maxConcurrentCalls: 1 });
      const agent = await createAgent(cluster.db, one.id, { name: 'echo', mode: 'echo' });
      await addNumber(cluster.db, one.id, { number: TENANT_ONE_NUMBER, agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
      const a = await cluster.startNode('node-a');
      const b = await cluster.startNode('node-b');

      assert.is(await status(a.sipPort, TENANT_ONE_NUMBER, open), 200, 'tenant one\'s first call, on node-a');
      assert.is(await status(b.sipPort, TENANT_ONE_NUMBER, open), 503, 'tenant one\'s second call, on node-b: its limit of 1 holds across nodes');
      assert.is(await status(a.sipPort, TENANT_TWO_NUMBER, open), 200, 'tenant two\'s first call, on node-a');
      assert.is(await status(b.sipPort, TENANT_TWO_NUMBER, open), 200, 'tenant two\'s second call, on node-b (its limit is 2)');
      assert.is(await status(a.sipPort, TENANT_TWO_NUMBER, open), 503, 'tenant two\'s third call');
      assert.is(await cluster.leases('node-a') + await cluster.leases('node-b'), 3);

      // Another process (here the test, as a CLI against the server would) raises tenant one to 2.
      await setTenantMaxConcurrentCalls(cluster.db, one.id, 2);
      // Refused until node-b's cached limit (at most TENANT_CALL_LIMIT_TTL_MS old) is read again: polled, not timed.
      await waitForValue('node-b to admit tenant one\'s second call', async () =>
        (await status(b.sipPort, TENANT_ONE_NUMBER, open)) === 200 ? true : undefined, { timeoutMs: 60_000, intervalMs: 500 });
      assert.is(await status(a.sipPort, TENANT_ONE_NUMBER, open), 503, 'and tenant one is held at its new limit of 2');
    } finally {
      for (const call of open.splice(0)) await call.close().catch(() => undefined);
      await cluster.close();
    }
  });
}

test.run();
