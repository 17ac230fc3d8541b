/**
 * The live feed's other nodes' calls (src/console/other-nodes-calls.ts), on each database backend: while
 * someone watches a tenant, its calls held by other nodes are read through RLS and told as they start,
 * take turns and end; this node's own calls and other tenants' calls are never among them; one read per
 * watched tenant however many viewers; nothing read once nobody watches (and the calls forgotten).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EventEmitter } from 'node:events';
import type { CallManager } from '../../../src/calls/index.ts';
import { LiveCallFeed, OtherNodesCalls, type LiveCall, type OtherNodesCallSource } from '../../../src/console/index.ts';
import { createLogger } from '../../../src/log.ts';
import { createAgent, createTenant, finishCall, recordCallOutcome, startCall, type Database } from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';

const WAIT = { timeoutMs: 20_000 };

/** Counts the watches the feed holds open on the real source. */
class CountingSource implements OtherNodesCallSource {
  open = 0;
  constructor(private readonly inner: OtherNodesCallSource) {}
  watch(tenantId: string, onChange: (call: LiveCall) => void): () => void {
    this.open++;
    const stop = this.inner.watch(tenantId, onChange);
    return () => { this.open--; stop(); };
  }
  close(): Promise<void> { return this.inner.close(); }
}

async function call(db: Database, tenantId: string, agentId: string, nodeId: string, from: string): Promise<string> {
  return (await startCall(db, tenantId, { agentId, direction: 'inbound', fromUri: from, toUri: 'sip:2000@10.0.0.1', sipCallId: from, nodeId })).id;
}

for (const backend of await backends()) {
  test(`${backend.name}: another node's calls of the watched tenant, as they start, take turns and end`, async () => {
    const db = await backend.open();
    const source = new CountingSource(new OtherNodesCalls({ db, nodeId: 'node-b', intervalMs: 20, logger: createLogger('silent') }));
    const feed = new LiveCallFeed(new EventEmitter() as unknown as Pick<CallManager, 'on' | 'off'>, { nodeId: 'node-b', otherNodes: source });
    try {
      const tenant = (await createTenant(db, { name: 'mine' })).id;
      const other = (await createTenant(db, { name: 'theirs' })).id;
      const agent = (await createAgent(db, tenant, { name: 'Front desk', mode: 'echo' })).id;
      const otherAgent = (await createAgent(db, other, { name: 'Other desk', mode: 'echo' })).id;
      const over = await call(db, tenant, agent, 'node-a', 'sip:+15550000001@10.0.0.9');
      await finishCall(db, tenant, over, { reason: 'remote-bye' });
      const remote = await call(db, tenant, agent, 'node-a', 'sip:+15550001111@10.0.0.9');
      await call(db, tenant, agent, 'node-b', 'sip:+15550002222@10.0.0.9'); // this node's own: its events tell of it
      await call(db, other, otherAgent, 'node-a', 'sip:+15550003333@10.0.0.9');
      assert.is(source.open, 0, 'nothing is read before anyone watches');

      const told: LiveCall[] = [];
      const stop = feed.subscribe(tenant, (c) => told.push(c));
      await waitFor('the other node\'s call', () => told.length >= 1, WAIT);
      assert.is(told[0]!.id, remote);
      assert.equal({ ...told[0]!, startedAt: '' }, {
        id: remote, agentId: agent, agentName: 'Front desk', direction: 'inbound', party: '+*******1111', state: 'active',
        startedAt: '', endedAt: null, turns: 0, endReason: null, nodeId: 'node-a',
      });

      const second: LiveCall[] = [];
      const stopSecond = feed.subscribe(tenant, (c) => second.push(c));
      assert.is(source.open, 1, 'one read per watched tenant, whatever the viewers');
      assert.equal(feed.snapshot(tenant).map((c) => c.id), [remote], 'a later viewer gets it in its snapshot');

      await recordCallOutcome(db, tenant, remote, { latency: { turns: 2, e2eMs: null, overheadMs: null } });
      await waitFor('its turns', () => told.some((c) => c.turns === 2), WAIT);
      await finishCall(db, tenant, remote, { reason: 'node-lost' });
      await waitFor('its end', () => told.some((c) => c.state === 'ended'), WAIT);
      const ended = told.find((c) => c.state === 'ended')!;
      assert.is(ended.endReason, 'node-lost');
      assert.ok(ended.endedAt);
      assert.is(ended.turns, 2);
      assert.ok(told.every((c) => c.id === remote), 'never this node\'s own call, another tenant\'s, or one already over');
      assert.is(second.length, told.length - 1, 'the second viewer was told of every change after it came');

      stop();
      assert.is(source.open, 1);
      stopSecond();
      assert.is(source.open, 0, 'nobody watches: no more reads');
      assert.equal(feed.snapshot(tenant), [], 'and the other nodes\' calls are forgotten (they would go stale)');
    } finally {
      await feed.close();
      await backend.cleanup();
    }
  });
}

test.run();
