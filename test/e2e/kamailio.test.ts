/**
 * Scale-out through Kamailio (issue 16): Debian's kamailio running deploy/kamailio/kamailio.cfg on
 * 127.0.0.1 in front of two media nodes (real `smartalex serve` processes on 127.0.0.2 and 127.0.0.3, one
 * Postgres), SIPp as the carrier. Calls spread over both nodes; the tenant's limit of 10 holds across
 * them; a draining node gets no new calls (its 503 moves them on) and exits 0 once its call ends; a
 * killed node's new calls fail over to the other node, and its call is reaped (`node-lost`).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import { getCall, listCalls, rows } from '../../storage/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { postgresUnderTest } from '../support/databases.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { startTestCluster, type TestCluster } from './support/cluster.ts';
import { describeSipp, runSipp, type SippResult } from './support/harness.ts';
import { freeSipPort, startKamailio, type Kamailio } from './support/kamailio.ts';
import { ownCall, type OwnCall } from './support/uac.ts';
import type { ServerProcess } from './support/server-process.ts';

const adminUrl = await postgresUnderTest('the Kamailio scale-out tests');
const run = adminUrl !== undefined && needExternal(hasCommand('kamailio') && hasCommand('sipp'), 'kamailio and sipp (apt-get install kamailio sip-tester)', 'the Kamailio scale-out tests');

let cluster: TestCluster;
let kamailio: Kamailio;
let sipPort: number;
const nodes: Record<string, ServerProcess> = {};
const held: OwnCall[] = [];

/** Calls started so far per node id. */
async function callsPerNode(): Promise<Record<string, number>> {
  const result = await cluster.db.owner.execute(sql`select node_id, count(*)::int as n from calls group by node_id order by node_id`);
  return Object.fromEntries(rows<{ node_id: string; n: number }>(result).map((r) => [r.node_id, r.n]));
}

function diff(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0));
}

/**
 * SIPp as a carrier's calls through Kamailio. Kamailio's UDP workers (and its
 * transaction layer, which answers a retransmitted INVITE with the last 1xx)
 * can deliver a 180 after the 200 it preceded: a UAC's transaction discards
 * such a late provisional (RFC 3261 17.1.1.2), but SIPp aborts the call on
 * any unexpected message, which failed the run on a busy machine. So SIPp
 * goes on past unexpected messages here, and the run fails unless every one
 * was a provisional response to the INVITE.
 */
async function carrier(calls: number, concurrent: number): Promise<SippResult> {
  const r = await runSipp(`127.0.0.1:${kamailio.port}`, 'uac-call-proxied.xml', ['-m', String(calls), '-l', String(concurrent), '-r', '10', '-d', '300', '-default_behaviors', 'all,-abortunexp'], 120);
  const unexpected = r.errors.split(/(?=\d{4}-\d\d-\d\d\t[\d:.]+\t[\d.]+: )/).filter((event) => /on unexpected message/.test(event));
  const other = unexpected.filter((event) => !/received 'SIP\/2\.0 1\d\d [^\n]*\n[\s\S]*?^CSeq: \d+ INVITE\s*$/m.test(event));
  return other.length ? { ...r, code: r.code === 0 ? 1 : r.code, errors: `unexpected messages other than late provisional responses:\n${other.join('')}\n${r.errors}` } : r;
}

if (run) {
  test.before(async () => {
    cluster = await startTestCluster(adminUrl!, { maxCallsPerTenant: 10 });
    sipPort = await freeSipPort(['127.0.0.2', '127.0.0.3']);
    nodes.a = await cluster.startNode('node-a', { SMARTALEX_SIP_HOST: '127.0.0.2', SMARTALEX_SIP_PORT: String(sipPort) });
    nodes.b = await cluster.startNode('node-b', { SMARTALEX_SIP_HOST: '127.0.0.3', SMARTALEX_SIP_PORT: String(sipPort) });
    kamailio = await startKamailio([`sip:127.0.0.2:${sipPort}`, `sip:127.0.0.3:${sipPort}`], { PROBE_INTERVAL: 1, FR_TIMER_MS: 1500, TRUSTED_SOURCES: '"127.0.0.1/32"' });
  });

  test.after(async () => {
    for (const call of held.splice(0)) {
      try { call.rtp.close(); } catch { /* closed */ }
      await call.endpoint.close();
    }
    await kamailio?.stop();
    await cluster?.close();
  });

  test('40 carrier calls through Kamailio spread over both nodes', async () => {
    const before = await callsPerNode();
    const r = await carrier(40, 5);
    assert.is(r.code, 0, describeSipp(r) + kamailio.output().slice(-2000));
    const spread = diff(await callsPerNode(), before);
    assert.is((spread['node-a'] ?? 0) + (spread['node-b'] ?? 0), 40, JSON.stringify(spread));
    assert.ok((spread['node-a'] ?? 0) > 0 && (spread['node-b'] ?? 0) > 0, `both nodes take calls: ${JSON.stringify(spread)}`);
  });

  test("the tenant's limit of 10 holds across both nodes: the 11th call gets 503 from both", async () => {
    const before = await callsPerNode();
    for (let i = 0; i < 10; i++) held.push(await ownCall(kamailio.port));
    const spread = diff(await callsPerNode(), before);
    assert.ok((spread['node-a'] ?? 0) > 0 && (spread['node-b'] ?? 0) > 0, `the 10 calls are on both nodes: ${JSON.stringify(spread)}`);
    const refused = await runSipp(`127.0.0.1:${kamailio.port}`, 'uac-refused-503.xml');
    assert.is(refused.code, 0, describeSipp(refused));
    for (const call of held.splice(0)) await call.close();
    await waitFor('the leases to be released', async () => await cluster.leases('node-a') + await cluster.leases('node-b') === 0, { timeoutMs: 20_000, intervalMs: 100 });
  });

  test('a draining node (SIGTERM) gets no new calls; its call goes on, then it exits 0', async () => {
    const call = await ownCall(sipPort, { uri: `sip:2000@127.0.0.3:${sipPort}` });
    held.push(call);
    await waitFor('the call on node-b', async () => await cluster.leases('node-b') === 1, { timeoutMs: 10_000, intervalMs: 100 });
    nodes.b!.child.kill('SIGTERM');
    await waitFor('node-b to drain', () => nodes.b!.logs('draining: no new calls; waiting for the calls in progress').length === 1, { timeoutMs: 10_000 });
    const before = await callsPerNode();
    const r = await carrier(8, 4);
    assert.is(r.code, 0, describeSipp(r));
    assert.equal(diff(await callsPerNode(), before), { 'node-a': 8 }, 'every new call went to node-a');
    assert.is(call.dialog.state === 'terminated', false, "node-b's call is still up");
    held.splice(held.indexOf(call), 1);
    await call.close();
    assert.is(await nodes.b!.stop('SIGTERM', 60_000), 0, nodes.b!.output().slice(-2000));
  });

  test('a killed node (SIGKILL): new calls fail over to the other node; its call is reaped', async () => {
    // node-b comes back (a new process at the same address); Kamailio's probes put it back in rotation.
    nodes.b = await cluster.startNode('node-b2', { SMARTALEX_SIP_HOST: '127.0.0.3', SMARTALEX_SIP_PORT: String(sipPort) });
    await waitForValue('Kamailio to send a call to node-b2 again', async () => {
      const r = await carrier(1, 1);
      assert.is(r.code, 0, describeSipp(r));
      return (await callsPerNode())['node-b2'] ? true : undefined;
    }, { timeoutMs: 60_000, intervalMs: 200 });

    const call = await ownCall(sipPort, { uri: `sip:2000@127.0.0.2:${sipPort}` });
    held.push(call);
    const [onA] = (await listCalls(cluster.db, cluster.tenantId)).filter((c) => c.nodeId === 'node-a' && !c.endedAt);
    assert.ok(onA, 'a call is up on node-a');
    nodes.a!.child.kill('SIGKILL');
    await nodes.a!.exited;
    // The dead node's call holds a lease under the tenant's limit until the reaper ends it: wait for that
    // first, so a 503 below can only mean a failed failover, not a limit still counting the dead node's call.
    const reaped = await waitForValue("node-a's call to be reaped", async () => {
      const c = await getCall(cluster.db, cluster.tenantId, onA!.id);
      return c?.endedAt ? c : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    assert.is(reaped.endReason, 'node-lost');
    const before = await callsPerNode();
    const r = await carrier(8, 4);
    assert.is(r.code, 0, `no call fails: ${describeSipp(r)}\n${nodes.b!.output().split('\n').filter((l) => /"level":(40|50)/.test(l)).slice(-5).join('\n')}\n${kamailio.output().slice(-1500)}`);
    assert.equal(diff(await callsPerNode(), before), { 'node-b2': 8 }, 'every call went to the live node');
  });
}

test.run();
