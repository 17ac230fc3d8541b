/**
 * Two media nodes (real `smartalex serve` processes) on one Postgres server (issue 16): the tenant's
 * concurrent call limit (1 here) holds across both; the first node leads (retention, reaper). SIGKILL the
 * node holding a call: the other node takes the lead, its reaper ends the dead node's call as
 * `node-lost`, the dead node's lease is gone, and the tenant's place is free for a call on the survivor.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { getCall, issueApiKey, listCalls, listRecordings } from '../../storage/index.ts';
import { parseWav } from '../../media/audio/wav.ts';
import { startTestS3 } from '../support/s3rver.ts';
import { SipCallError } from '../../media/sip/index.ts';
import { postgresUnderTest } from '../support/databases.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { startTestCluster } from './support/cluster.ts';
import { ownCall, type OwnCall } from './support/uac.ts';

const adminUrl = await postgresUnderTest('the two-node cluster test');

/** Drops our side of a call without a BYE (its node is dead: a BYE would only wait for a timeout). */
async function abandon(call: OwnCall | undefined): Promise<void> {
  if (!call) return;
  try { call.rtp.close(); } catch { /* already closed */ }
  await call.endpoint.close();
}

if (adminUrl) {
  test('two nodes, one Postgres: the call limit holds across them; a killed node is reaped and the lead moves', async () => {
    const cluster = await startTestCluster(adminUrl, { maxCallsPerTenant: 1 });
    let first: OwnCall | undefined;
    let second: OwnCall | undefined;
    try {
      const a = await cluster.startNode('node-a');
      await waitFor('node-a to lead', () => a.logs('this node is the cluster leader').length === 1, { timeoutMs: 20_000 });
      const b = await cluster.startNode('node-b');

      first = await ownCall(a.sipPort);
      await waitFor('the call on node-a to be answered', () => a.logs('call answered').length === 1, { timeoutMs: 20_000 });
      assert.is(await cluster.leases('node-a'), 1);
      const refused = await ownCall(b.sipPort).then(() => undefined, (e: unknown) => e);
      assert.instance(refused, SipCallError);
      assert.is((refused as SipCallError).status, 503, 'the tenant is at its limit of 1 across both nodes');
      assert.is(b.logs('this node is the cluster leader').length, 0, 'one leader at a time');

      a.child.kill('SIGKILL');
      await a.exited;
      await waitFor('node-b to take the lead', () => b.logs('this node is the cluster leader').length === 1, { timeoutMs: 30_000 });
      const [row] = await listCalls(cluster.db, cluster.tenantId);
      const reaped = await waitForValue('the dead node\'s call to be reaped', async () => {
        const call = await getCall(cluster.db, cluster.tenantId, row!.id);
        return call?.endedAt ? call : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200 });
      assert.is(reaped.endReason, 'node-lost');
      assert.is(reaped.nodeId, 'node-a');
      assert.is(await cluster.leases('node-a'), 0, "the dead node's lease is gone");
      await waitFor('node-b to log the reaping', () => b.logs('node lost: its calls were ended (node-lost)').some((l) => l.lostNodeId === 'node-a'), { timeoutMs: 10_000 });

      second = await ownCall(b.sipPort);
      assert.is(await cluster.leases('node-b'), 1, 'the place is free again: the survivor takes the call');
      await second.close();
      second = undefined;
      await waitFor('the lease to be released when the call ends', async () => await cluster.leases('node-b') === 0, { timeoutMs: 20_000, intervalMs: 100 });
      assert.is(await b.stop('SIGTERM'), 0);
    } finally {
      await abandon(first);
      await abandon(second);
      await cluster.close();
    }
  });

  test('recordings in S3 (s3rver): a recording made on node A streams through a link served by node B', async () => {
    const s3 = await startTestS3();
    const cluster = await startTestCluster(adminUrl);
    try {
      const client = s3.client as { endpoint: string };
      const env = {
        SMARTALEX_RECORDINGS_S3_BUCKET: s3.bucket, SMARTALEX_RECORDINGS_S3_ENDPOINT: client.endpoint, SMARTALEX_RECORDINGS_S3_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER',
      };
      const a = await cluster.startNode('node-a', env);
      const b = await cluster.startNode('node-b', env);
      const call = await ownCall(a.sipPort);
      await call.sendTone(100);
      await call.close();
      const recording = await waitForValue('the recording to be sealed', async () => {
        const [r] = await listRecordings(cluster.db, cluster.tenantId);
        return r?.completedAt ? r : undefined;
      }, { timeoutMs: 30_000, intervalMs: 200 });
      const { key } = await issueApiKey(cluster.db, cluster.tenantId, { name: 'test', role: 'owner' });
      const minted = await fetch(`http://127.0.0.1:${b.httpPort}/v1/recordings/${recording.id}/link`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(10_000),
      });
      assert.is(minted.status, 201, await minted.clone().text());
      const { path } = await minted.json() as { path: string };
      const wav = await fetch(`http://127.0.0.1:${b.httpPort}${path}`, { signal: AbortSignal.timeout(20_000) });
      assert.is(wav.status, 200);
      const audio = parseWav(Buffer.from(await wav.arrayBuffer()));
      assert.is(audio.channels, 2);
      assert.ok(audio.data.length >= 100 * 160 * 4 * 0.9, `node B streamed node A's recording (${audio.data.length} bytes of audio)`);
      await a.stop('SIGTERM');
      await b.stop('SIGTERM');
    } finally {
      await cluster.close();
      await s3.close();
    }
  });
}

test.run();
