/**
 * The console's live call list, cluster-wide (issues 15 and 16): real `smartalex serve` nodes on one
 * Postgres server, the live feed (/console/api/live-calls, SSE) read from node B with fetch. A SIPp call
 * placed on node A appears in node B's feed with its caller masked, its agent and node, and ends there
 * when node A hangs up (drain); another tenant's feed on node B sees its own call on node A and never
 * the first tenant's. A call on a node that is killed ends in the feed once the reaper ends it (node-lost).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addNumber, createAgent, createTenant, issueApiKey } from '../../storage/index.ts';
import type { LiveCall } from '../../src/console/index.ts';
import { postgresUnderTest } from '../support/databases.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { sseReader, type SseReader } from '../support/sse.ts';
import { startTestCluster } from './support/cluster.ts';
import { describeSipp, runSipp } from './support/harness.ts';
import { ownCall, type OwnCall } from './support/uac.ts';

const adminUrl = await postgresUnderTest('the cluster-wide live calls test');
const WAIT = { timeoutMs: 45_000, intervalMs: 100 };

/** The live feed of the key's tenant on the node at `httpPort`, read until `abort` fires. */
async function openFeed(httpPort: number, key: string, abort: AbortController): Promise<SseReader> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/console/api/live-calls`, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
  assert.is(res.status, 200);
  const feed = sseReader(res.body!);
  await waitFor('the feed\'s snapshot', () => feed.events.length >= 1, WAIT);
  assert.is(feed.events[0]!.event, 'snapshot');
  return feed;
}

/** The latest view of each call the feed has told of (snapshot, then changes). */
function latest(feed: SseReader): Map<string, LiveCall> {
  const calls = new Map<string, LiveCall>();
  for (const e of feed.events) {
    if (e.event === 'snapshot') for (const c of e.data as LiveCall[]) calls.set(c.id, c);
    if (e.event === 'call') calls.set((e.data as LiveCall).id, e.data as LiveCall);
  }
  return calls;
}

const activeOn = (feed: SseReader, nodeId: string) => [...latest(feed).values()].filter((c) => c.state === 'active' && c.nodeId === nodeId);

/** Drops our side of a call without a BYE (its node is dead: a BYE would only wait for a timeout). */
async function abandon(call: OwnCall | undefined): Promise<void> {
  if (!call) return;
  try { call.rtp.close(); } catch { /* already closed */ }
  await call.endpoint.close();
}

if (adminUrl) {
  test('node B\'s console lists node A\'s calls live, per tenant, until they end (drain, node lost)', async () => {
    const cluster = await startTestCluster(adminUrl);
    const aborts: AbortController[] = [];
    let otherCall: OwnCall | undefined;
    let lostCall: OwnCall | undefined;
    try {
      const other = await createTenant(cluster.db, { name: 'other' });
      const otherAgent = await createAgent(cluster.db, other.id, { name: 'other echo', mode: 'echo' });
      await addNumber(cluster.db, other.id, { number: '3000', agentId: otherAgent.id, allowedCidrs: ['127.0.0.1/32'] });
      const { key } = await issueApiKey(cluster.db, cluster.tenantId, { name: 'viewer', role: 'viewer' });
      const { key: otherKey } = await issueApiKey(cluster.db, other.id, { name: 'viewer', role: 'viewer' });

      // Node A ends a call within a second of SIGTERM (a BYE, `node-drain`).
      const a = await cluster.startNode('node-a', { SMARTALEX_DRAIN_TIMEOUT_S: '1' });
      const b = await cluster.startNode('node-b');
      const feed = await openFeed(b.httpPort, key, aborts[aborts.push(new AbortController()) - 1]!);
      const otherFeed = await openFeed(b.httpPort, otherKey, aborts[aborts.push(new AbortController()) - 1]!);

      const sipp = runSipp(`127.0.0.1:${a.sipPort}`, 'uac-call-held-number.xml', [], 170);
      otherCall = await ownCall(a.sipPort, { number: '3000', from: 'sip:+15559876543@127.0.0.1' });
      const [call] = await waitForValue('node A\'s SIPp call in node B\'s feed', () => {
        const found = activeOn(feed, 'node-a');
        return found.length ? found : undefined;
      }, WAIT);
      assert.is(call!.party, '+*******1234', 'the caller, masked');
      assert.is(call!.agentName, 'echo');
      assert.is(call!.direction, 'inbound');
      assert.is(call!.turns, 0, 'an echo call takes no turns');
      const [theirs] = await waitForValue('the other tenant\'s call in its own feed', () => {
        const found = activeOn(otherFeed, 'node-a');
        return found.length ? found : undefined;
      }, WAIT);
      assert.is(theirs!.party, '+*******6543');

      // Node A drains: it hangs up both calls; node B's feed shows the first one ended.
      a.child.kill('SIGTERM');
      const ended = await waitForValue('the call to end in node B\'s feed', () => {
        const now = latest(feed).get(call!.id);
        return now?.state === 'ended' ? now : undefined;
      }, WAIT);
      assert.is(ended.endReason, 'node-drain');
      assert.ok(ended.endedAt);
      const carrier = await sipp;
      assert.is(carrier.code, 0, describeSipp(carrier));
      assert.is(await a.exited, 0);
      await waitFor('the other tenant\'s call to end in its feed', () => latest(otherFeed).get(theirs!.id)?.state === 'ended', WAIT);

      // A node dies with a call: node B's feed ends it once the reaper has (node-lost).
      const c = await cluster.startNode('node-c');
      lostCall = await ownCall(c.sipPort, { from: 'sip:+15551112222@127.0.0.1' });
      const [onC] = await waitForValue('node C\'s call in node B\'s feed', () => {
        const found = activeOn(feed, 'node-c');
        return found.length ? found : undefined;
      }, WAIT);
      assert.is(onC!.party, '+*******2222');
      c.child.kill('SIGKILL');
      await c.exited;
      const lost = await waitForValue('the dead node\'s call to end in node B\'s feed', () => {
        const now = latest(feed).get(onC!.id);
        return now?.state === 'ended' ? now : undefined;
      }, WAIT);
      assert.is(lost.endReason, 'node-lost');

      // Tenant scoping, and nothing unmasked on the wire.
      const mine = new Set(feed.events.flatMap((e) => (e.event === 'call' ? [(e.data as LiveCall).id] : [])));
      const theirsSeen = new Set(otherFeed.events.flatMap((e) => (e.event === 'call' ? [(e.data as LiveCall).id] : [])));
      assert.equal([...mine].sort(), [call!.id, onC!.id].sort(), 'the tenant\'s feed: its two calls only');
      assert.equal([...theirsSeen], [theirs!.id], 'the other tenant\'s feed: its own call only');
      const wire = JSON.stringify([feed.events, otherFeed.events]);
      assert.not.match(wire, /5550001234|5559876543|5551112222|127\.0\.0\.1/);
      assert.is(await b.stop('SIGTERM'), 0);
    } finally {
      for (const abort of aborts) abort.abort();
      await abandon(otherCall);
      await abandon(lostCall);
      await cluster.close();
    }
  });
}

test.run();
