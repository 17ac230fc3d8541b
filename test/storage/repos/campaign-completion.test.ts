/**
 * A campaign completes when its last contacts are settled at the same moment (storage/repos/campaigns.ts), on
 * PGlite and a Postgres server: the last two dials of a campaign finish in two concurrent transactions (as a
 * runner with two calls in flight finishes them), and the campaign completes once, with one
 * campaign.completed event. Each transaction must see the other's settled contact before it decides that
 * contacts are still open: counted unlocked, each saw the other's contact still dialing, neither completed
 * the campaign, and it stayed running with nothing left to dial. Many campaigns, so an interleaving
 * that loses the completion is met on a server (concurrent transactions; 3 of 30 were lost unlocked); PGlite
 * runs transactions one by one, so a few campaigns show the same outcome there.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  changeCampaignState, claimNextContact, createAgent, createTenant, finishContactAttempt, getCampaign, insertCampaign, insertWebhookEndpoint,
  listWebhookEvents, schema, withTenant, type Database,
} from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';

const ACTOR = 'operator:test';

/** A running campaign over `count` contacts, with an endpoint that wants its events. */
async function runningCampaign(db: Database, tenantId: string, agentId: string, count: number): Promise<string> {
  const rows = await withTenant(db, tenantId, (tx) => tx.insert(schema.contacts).values(Array.from({ length: count }, (_, i) => ({
    tenantId, phone: `+1415${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`, name: `c${i}`,
  }))).returning());
  const campaign = await insertCampaign(db, tenantId, { name: 'last-two', agentId, contactIds: rows.map((r) => r.id), maxConcurrent: count }, { actor: ACTOR, action: 'campaign.created' });
  await changeCampaignState(db, tenantId, campaign.id, 'start', ACTOR);
  return campaign.id;
}

for (const backend of await backends()) {
  test(`[${backend.name}] the last two contacts settled at once: the campaign completes, once`, async () => {
    const db = await backend.open();
    const CAMPAIGNS = backend.name === 'postgres' ? 30 : 3;
    try {
      const tenant = await createTenant(db, { name: `t-${randomUUID()}` });
      const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
      await insertWebhookEndpoint(db, tenant.id, {
        id: randomUUID(), url: 'https://hooks.example/x', eventTypes: ['campaign.completed'], secretSealed: randomBytes(32), secretKeyId: 'test',
      }, { actor: ACTOR, action: 'webhook.created' });
      const ids: string[] = [];
      for (let i = 0; i < CAMPAIGNS; i++) ids.push(await runningCampaign(db, tenant.id, agent.id, 2));
      await Promise.all(ids.map(async (id) => {
        const now = new Date();
        const first = await claimNextContact(db, tenant.id, id, now);
        const second = await claimNextContact(db, tenant.id, id, now);
        assert.ok(first && second, 'both contacts claimed');
        await Promise.all([first!, second!].map((c) => finishContactAttempt(db, tenant.id, id, c.id, { outcome: 'answered', retryAt: null })));
      }));
      const states = await Promise.all(ids.map(async (id) => (await getCampaign(db, tenant.id, id))?.state));
      const stuck = states.filter((s) => s !== 'completed').length;
      assert.is(stuck, 0, `${stuck} of ${CAMPAIGNS} campaigns left ${states.find((s) => s !== 'completed')} with nothing to dial`);
      const completed = (await listWebhookEvents(db, tenant.id, 500)).filter((e) => e.type === 'campaign.completed');
      assert.is(completed.length, CAMPAIGNS, 'one campaign.completed per campaign');
      assert.is(new Set(completed.map((e) => e.subject)).size, CAMPAIGNS);
    } finally {
      await backend.cleanup();
    }
  });
}

test.run();
