/**
 * Cluster state in Postgres (storage/cluster.ts, 0009_cluster.sql), on PGlite and a Postgres server:
 * the per-tenant call limit counted across nodes by leases, leases of a node whose heartbeat went stale no
 * longer counting, the reaper ending a lost node's open calls as `node-lost` (and dropping its leases),
 * a clean stop, the shared rate-limit windows and the cluster-wide single use of call tokens (0014_widget_keys.sql). The runtime role reaches none of the tables directly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import {
  acquireCallLease, claimCallTokenId, createAgent, createTenant, endNode, getCall, nodeHeartbeat, rateLimitHit, reapLostNodes, releaseCallLease, rows,
  startCall, withoutTenant, type Database,
} from '../../storage/index.ts';
import { backends } from '../support/databases.ts';

const STALE_MS = 30_000;

async function leaseCount(db: Database, nodeId: string): Promise<number> {
  return rows<{ n: number }>(await db.owner.execute(sql`select count(*)::int as n from call_leases where node_id = ${nodeId}`))[0]!.n;
}

async function ageHeartbeat(db: Database, nodeId: string): Promise<void> {
  await db.owner.execute(sql`update cluster_nodes set heartbeat_at = now() - interval '1 hour' where id = ${nodeId}`);
}

for (const backend of await backends()) {
  test(`[${backend.name}] the tenant call limit holds across nodes; a dead node's leases stop counting and are reaped with its calls`, async () => {
    try {
      const db = await backend.open();
      const tenant = await createTenant(db, { name: 'cluster' });
      const other = await createTenant(db, { name: 'other' });
      const agent = await createAgent(db, tenant.id, { name: 'a', mode: 'echo' });
      const [a, b] = [`node-a-${randomUUID().slice(0, 8)}`, `node-b-${randomUUID().slice(0, 8)}`];
      await nodeHeartbeat(db, a, 'sip:127.0.0.2:5060', 'running');
      await nodeHeartbeat(db, b, 'sip:127.0.0.3:5060', 'running');
      const lease = (nodeId: string, tenantId = tenant.id, id = randomUUID()) =>
        acquireCallLease(db, { tenantId, nodeId, leaseId: id, maxCalls: 2, staleAfterMs: STALE_MS });

      const first = randomUUID();
      assert.is(await lease(a, tenant.id, first), true);
      assert.is(await lease(b), true);
      assert.is(await lease(a), false, 'the third call of the tenant is over the limit of 2, whichever node takes it');
      assert.is(await lease(b, other.id), true, 'another tenant has its own limit');
      await releaseCallLease(db, first);
      assert.is(await lease(a), true, 'a released lease frees its place');
      assert.is(await lease(a), false);

      // Node b holds a call and then stops beating: its lease no longer counts, and the reaper ends its call.
      const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:x@y', toUri: 'sip:1@z', sipCallId: 'c1', nodeId: b });
      const kept = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:x@y', toUri: 'sip:2@z', sipCallId: 'c2', nodeId: a });
      await ageHeartbeat(db, b);
      assert.is(await lease(a), true, "the dead node's lease expired with its heartbeat");
      assert.equal(await reapLostNodes(db, STALE_MS), [{ nodeId: b, callsEnded: 1 }]);
      assert.is((await getCall(db, tenant.id, call.id))?.endReason, 'node-lost');
      assert.ok((await getCall(db, tenant.id, call.id))?.endedAt, 'the reaped call has an end time');
      assert.is((await getCall(db, tenant.id, kept.id))?.endedAt, null, "a live node's call is untouched");
      assert.is(await leaseCount(db, b), 0, "the lost node's leases are gone");
      assert.equal(await reapLostNodes(db, STALE_MS), [], 'a node is reaped once');

      // A clean stop drops the node's leases and marks it stopped.
      assert.ok(await leaseCount(db, a) > 0);
      assert.is(await endNode(db, a, 'stopped', 'shutdown'), 1, 'a stop ends what the node still had open');
      assert.is(await leaseCount(db, a), 0);
      const states = rows<{ id: string; state: string }>(await db.owner.execute(sql`select id, state from cluster_nodes order by id`));
      assert.equal(states.map((s) => s.state), ['stopped', 'lost']);
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] rate-limit windows are shared: hits count up within the window, per bucket`, async () => {
    try {
      const db = await backend.open();
      const one = await rateLimitHit(db, 'recordings:203.0.113.9', 60_000);
      const two = await rateLimitHit(db, 'recordings:203.0.113.9', 60_000);
      const elsewhere = await rateLimitHit(db, 'recordings:203.0.113.10', 60_000);
      assert.equal([one.hits, two.hits, elsewhere.hits], [1, 2, 1]);
      assert.ok(two.ttlMs > 0 && two.ttlMs <= 60_000, `ttl ${two.ttlMs}`);
      await db.owner.execute(sql`update rate_limit_windows set window_start = now() - interval '2 minutes'`);
      assert.is((await rateLimitHit(db, 'recordings:203.0.113.9', 60_000)).hits, 1, 'a new window starts over');
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] a call token id is claimed once for the whole cluster; expired ids are dropped`, async () => {
    try {
      const db = await backend.open();
      const live = randomUUID();
      const future = new Date(Date.now() + 3600_000);
      assert.ok(await claimCallTokenId(db, live, future), 'first use');
      assert.not.ok(await claimCallTokenId(db, live, future), 'a replay, from any node');
      // An id whose token has expired is dropped on the next claim (its token is refused as expired anyway).
      const old = randomUUID();
      const past = new Date(Date.now() - 3600_000);
      assert.ok(await claimCallTokenId(db, old, past));
      await claimCallTokenId(db, randomUUID(), future);
      const kept = rows<{ token_id: string }>(await db.owner.execute(sql`select token_id from used_call_tokens`)).map((r) => r.token_id);
      assert.ok(kept.includes(live));
      assert.not.ok(kept.includes(old), 'the expired id is gone');
    } finally {
      await backend.cleanup();
    }
  });

  test(`[${backend.name}] the runtime role cannot read or write the cluster tables, only call the functions`, async () => {
    try {
      const db = await backend.open();
      for (const table of ['cluster_nodes', 'call_leases', 'rate_limit_windows', 'used_call_tokens']) {
        const error = await withoutTenant(db, (tx) => tx.execute(sql`select * from ${sql.identifier(table)}`)).then(() => undefined, (e: unknown) => e as Error);
        assert.ok(error, `${table} is readable by the runtime role`);
      }
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
