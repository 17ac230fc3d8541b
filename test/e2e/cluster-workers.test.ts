/**
 * The webhook delivery worker and the campaign runner run once in the cluster, on the node holding the
 * lead (issue 16): two media nodes (real `smartalex serve` processes) on one Postgres server, a campaign
 * dialling a carrier played by this test (a SipEndpoint that answers 486 Busy, or rings without answering
 * to keep dials in flight), a webhook receiver counting webhook-ids. Only the leader dials and delivers;
 * SIGKILL it with two dials ringing: the other node takes the lead, settles those two as interrupted
 * (never redialled), dials the rest and delivers every event; no contact is dialled twice, no webhook-id
 * arrives twice.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { getCampaign, listCampaignContacts, PostgresTenantKeyStore, rows, schema, withTenant } from '../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../storage/vault/index.ts';
import { SipEndpoint, isSipUri, parseUri } from '../../media/sip/index.ts';
import { grantConsent, localClock, setCallingPolicy } from '../../src/compliance/index.ts';
import { createCampaign, startCampaign } from '../../src/campaigns/index.ts';
import { createWebhookEndpoint } from '../../src/webhooks/index.ts';
import { postgresUnderTest } from '../support/databases.ts';
import { waitFor } from '../support/poll.ts';
import { startTestCluster } from './support/cluster.ts';

const adminUrl = await postgresUnderTest('the cluster leader test of the webhook and campaign workers');
const ACTOR = 'operator:test';
const CONTACTS = 8;

/** A time zone whose local time is inside 09:00-20:00 now, so the calling-hours rule allows the calls. */
function zoneInCallingHours(): string {
  const zones = ['Pacific/Kiritimati', 'Asia/Tokyo', 'Asia/Kolkata', 'Europe/Berlin', 'UTC', 'America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu', 'Etc/GMT+12'];
  return zones.find((zone) => { const m = localClock(new Date(), zone).minutes; return m >= 9 * 60 && m < 20 * 60; })!;
}

/** The carrier: records each INVITE (callee, the node's SIP port it came from); rejects 486 or rings forever. */
async function startCarrier() {
  const endpoint = await SipEndpoint.create({ host: '127.0.0.1', udpPort: 0, tcpPort: 0, guard: false });
  const invites: Array<{ phone: string; fromPort: number }> = [];
  // How the carrier answers the n-th INVITE (0-based): decided per INVITE, so no dial races a switch in the test.
  const carrier = { endpoint, invites, answer: (_n: number): 'busy' | 'ring' => 'busy', port: endpoint.ports.udp! };
  endpoint.onInvite((call) => {
    const uri = parseUri(call.request.uri);
    const n = invites.length;
    invites.push({ phone: uri && isSipUri(uri) ? uri.user ?? '?' : '?', fromPort: call.source.port });
    if (carrier.answer(n) === 'busy') call.reject(486, 'Busy Here');
    else call.progress(180);
  });
  return carrier;
}

/** The webhook receiver: 2xx to everything, counting each webhook-id and event type. */
async function startReceiver() {
  const ids = new Map<string, number>();
  const types: string[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => {
      const id = String(req.headers['webhook-id']);
      ids.set(id, (ids.get(id) ?? 0) + 1);
      types.push((JSON.parse(body) as { type: string }).type);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { ids, types, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

if (adminUrl) {
  test('webhook delivery and the campaign runner run on the leader only; a killed leader\'s successor dials no contact twice and re-sends no webhook', async () => {
    const cluster = await startTestCluster(adminUrl);
    const carrier = await startCarrier();
    const receiver = await startReceiver();
    try {
      const env = { SMARTALEX_CAMPAIGN_VIA: `sip:127.0.0.1:${carrier.port}`, SMARTALEX_WEBHOOK_ALLOW_LOOPBACK: 'true' };
      const a = await cluster.startNode('node-a', env);
      await waitFor('node-a to lead', () => a.logs('this node is the cluster leader').length === 1, { timeoutMs: 60_000 });
      assert.equal(a.logs('this node is the cluster leader')[0]!.jobs, ['retention', 'reaper', 'webhooks', 'campaigns']);
      const b = await cluster.startNode('node-b', env);

      const { tenantId, db } = cluster;
      const keys = new KeyRing({ master: new LocalMasterKey(Buffer.from(cluster.masterKey, 'hex')), store: new PostgresTenantKeyStore(db) });
      await createWebhookEndpoint(db, keys, tenantId, { url: receiver.url, eventTypes: ['campaign.contact.completed', 'campaign.completed'], actor: ACTOR });
      await setCallingPolicy(db, tenantId, { timezone: zoneInCallingHours(), windowStart: '08:00', windowEnd: '21:00' });
      const phones = Array.from({ length: CONTACTS }, (_, i) => `+1415230${String(i).padStart(4, '0')}`);
      const contacts = await withTenant(db, tenantId, (tx) => tx.insert(schema.contacts).values(phones.map((phone, i) => ({ tenantId, phone, name: `c${i}` }))).returning());
      for (const phone of phones) await grantConsent(db, tenantId, phone, { source: 'test', actor: ACTOR });
      const [agent] = rows<{ id: string }>(await db.owner.execute(sql`select id from agents where tenant_id = ${tenantId}`));
      const campaign = await createCampaign(db, tenantId, {
        name: 'takeover', agentId: agent!.id, contactIds: contacts.map((c) => c.id), maxConcurrent: 2, callsPerSecond: 20, maxAttempts: 1, retrySpacingSeconds: 0,
      }, ACTOR);

      // The first three contacts are busy; from the fourth the carrier rings without answering, so two dials stay in flight.
      carrier.answer = (n) => (n < 3 ? 'busy' : 'ring');
      await startCampaign(db, tenantId, campaign.id, ACTOR);
      await waitFor('two dials ringing', () => carrier.invites.length === 5, { timeoutMs: 60_000 });
      await waitFor('the busy contacts\' events delivered and recorded', async () => {
        const [pending] = rows<{ n: number }>(await db.owner.execute(sql`select count(*)::int as n from webhook_deliveries where status <> 'delivered'`));
        return pending!.n === 0 && receiver.ids.size === 3;
      }, { timeoutMs: 60_000, intervalMs: 100 });
      assert.is(carrier.invites.length, 5, 'no third dial while two ring (max concurrent 2)');
      assert.ok(carrier.invites.every((i) => i.fromPort === a.sipPort), `only the leader dials: ${JSON.stringify(carrier.invites)}`);
      assert.is(b.logs('this node is the cluster leader').length, 0, 'one leader at a time');

      // The leader dies with two dials ringing; the survivor takes the lead and finishes the campaign.
      carrier.answer = () => 'busy';
      a.child.kill('SIGKILL');
      await a.exited;
      await waitFor('node-b to take the lead', () => b.logs('this node is the cluster leader').length === 1, { timeoutMs: 60_000 });
      await waitFor('the campaign to complete', async () => (await getCampaign(db, tenantId, campaign.id))?.state === 'completed', { timeoutMs: 60_000, intervalMs: 200 });
      await waitFor('every event delivered', () => receiver.types.filter((t) => t === 'campaign.completed').length === 1 && receiver.types.length >= CONTACTS + 1, { timeoutMs: 60_000, intervalMs: 100 });

      const digits = (phone: string) => phone.replace(/^\+/, '');
      assert.equal(carrier.invites.map((i) => digits(i.phone)).sort(), phones.map(digits).sort(), `each contact dialled exactly once: ${JSON.stringify(carrier.invites)}`);
      assert.ok(carrier.invites.slice(5).every((i) => i.fromPort === b.sipPort), `after the takeover only node-b dials: ${JSON.stringify(carrier.invites)}`);
      const outcomes = (await listCampaignContacts(db, tenantId, campaign.id)).map((c) => `${c.outcome}/${c.detail ?? ''}`).sort();
      assert.equal(outcomes, [...Array(2).fill('failed/interrupted'), ...Array(CONTACTS - 2).fill('busy/sip-486')].sort());
      assert.equal([...receiver.ids.values()].filter((n) => n > 1), [], 'no webhook-id arrived twice');
      assert.is(receiver.ids.size, CONTACTS + 1);
      assert.is(await b.stop('SIGTERM'), 0);
    } finally {
      await carrier.endpoint.close();
      await receiver.close();
      await cluster.close();
    }
  });
}

test.run();
