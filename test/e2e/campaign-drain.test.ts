/**
 * A single node on embedded PGlite (the default) draining while a campaign runs (issue 16): from the
 * moment the drain begins the campaign runner places no new call, the dial already ringing finishes and is
 * recorded, and the webhook delivery worker keeps delivering until close (there is no other node to hand
 * the lead to), so the contact's event reaches its receiver during the drain.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listCampaignContacts, schema, withTenant } from '../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../storage/vault/index.ts';
import { PostgresTenantKeyStore } from '../../storage/index.ts';
import { SipEndpoint, type IncomingCall } from '../../media/sip/index.ts';
import { grantConsent, localClock, setCallingPolicy } from '../../src/compliance/index.ts';
import { createCampaign, startCampaign } from '../../src/campaigns/index.ts';
import { createWebhookEndpoint } from '../../src/webhooks/index.ts';
import { waitFor } from '../support/poll.ts';
import { startTestServer } from './support/harness.ts';

const ACTOR = 'operator:test';

function zoneInCallingHours(): string {
  const zones = ['Pacific/Kiritimati', 'Asia/Tokyo', 'Asia/Kolkata', 'Europe/Berlin', 'UTC', 'America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu', 'Etc/GMT+12'];
  return zones.find((zone) => { const m = localClock(new Date(), zone).minutes; return m >= 9 * 60 && m < 20 * 60; })!;
}

test('PGlite drain: no new campaign call, the ringing dial is recorded, its webhook is delivered during the drain', async () => {
  const carrier = await SipEndpoint.create({ host: '127.0.0.1', udpPort: 0, tcpPort: 0, guard: false });
  const ringing: IncomingCall[] = [];
  carrier.onInvite((call) => { ringing.push(call); call.progress(180); });
  const received: string[] = [];
  const receiver = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => { received.push((JSON.parse(body) as { type: string }).type); res.writeHead(204).end(); });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const masterHex = randomBytes(32).toString('hex');
  const t = await startTestServer({
    env: {
      SMARTALEX_CAMPAIGN_VIA: `sip:127.0.0.1:${carrier.ports.udp}`, SMARTALEX_WEBHOOK_ALLOW_LOOPBACK: 'true',
      SMARTALEX_MASTER_KEY: masterHex,
    },
  });
  try {
    const { db, tenantId } = t;
    const keys = new KeyRing({ master: new LocalMasterKey(Buffer.from(masterHex, 'hex')), store: new PostgresTenantKeyStore(db) });
    await createWebhookEndpoint(db, keys, tenantId, { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`, eventTypes: ['campaign.contact.completed'], actor: ACTOR });
    await setCallingPolicy(db, tenantId, { timezone: zoneInCallingHours(), windowStart: '08:00', windowEnd: '21:00' });
    const phones = ['+14152400001', '+14152400002', '+14152400003'];
    const contacts = await withTenant(db, tenantId, (tx) => tx.insert(schema.contacts).values(phones.map((phone, i) => ({ tenantId, phone, name: `c${i}` }))).returning());
    for (const phone of phones) await grantConsent(db, tenantId, phone, { source: 'test', actor: ACTOR });
    const campaign = await createCampaign(db, tenantId, { name: 'drain', agentId: t.agentId, contactIds: contacts.map((c) => c.id), maxConcurrent: 1, callsPerSecond: 50, maxAttempts: 1 }, ACTOR);
    await startCampaign(db, tenantId, campaign.id, ACTOR);
    await waitFor('the first dial to ring', () => ringing.length === 1, { timeoutMs: 30_000 });

    const drained = t.server.drain();
    assert.ok(t.server.calls.isDraining);
    ringing[0]!.reject(486, 'Busy Here');
    await drained;
    await waitFor("the ringing contact's event to be delivered during the drain", () => received.length === 1, { timeoutMs: 30_000, intervalMs: 50 });
    assert.equal(received, ['campaign.contact.completed']);
    assert.is(ringing.length, 1, 'no call was placed after the drain began');
    const outcomes = (await listCampaignContacts(db, tenantId, campaign.id)).map((c) => c.outcome ?? c.state).sort();
    assert.equal(outcomes, ['busy', 'pending', 'pending']);
  } finally {
    await t.close();
    await carrier.close();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
});

test.run();
