/**
 * Calling hours put a campaign contact off, they do not fail it: with an
 * injected clock at 03:00 UTC, a contact in New York (22:00 the evening
 * before) waits for 08:00 New York time, a contact with no zone waits for
 * 08:00 in the tenant's zone (UTC), a contact in Tokyo (noon) is called at
 * once; the waits are not counted as attempts, and each is called exactly once
 * when the clock reaches its window. Do-not-call and consent refusals are final
 * and audited. PGlite and Postgres.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addNumber, createAgent, createTenant, getCampaign, listAudit, listCampaignContacts, schema, withTenant, type Database } from '../../../storage/index.ts';
import { addToDoNotCall, grantConsent, setCallingPolicy } from '../../../src/compliance/index.ts';
import { CampaignRunner, compliantDialer, createCampaign, startCampaign, type DialRequest } from '../../../src/campaigns/index.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';

const ACTOR = 'operator:test';

for (const backend of await backends()) {
  const db: Database = await backend.open();

  test(`[${backend.name}] outside calling hours: rescheduled to the window in the contact's zone (the tenant's otherwise); DNC and no consent final`, async () => {
    const tenant = await createTenant(db, { name: `hours-${crypto.randomUUID()}` });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: '+14152109999', agentId: agent.id, allowedCidrs: [] });
    await setCallingPolicy(db, tenant.id, { timezone: 'UTC', windowStart: '08:00', windowEnd: '21:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] });
    const people = [
      { key: 'newYork', phone: '+14152100001', timeZone: 'America/New_York' },
      { key: 'tenantZone', phone: '+14152100002', timeZone: null },
      { key: 'tokyo', phone: '+14152100003', timeZone: 'Asia/Tokyo' },
      { key: 'dnc', phone: '+14152100004', timeZone: 'Asia/Tokyo' },
      { key: 'noConsent', phone: '+14152100005', timeZone: 'Asia/Tokyo' },
    ] as const;
    const rows = await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values(people.map((p) => ({ tenantId: tenant.id, phone: p.phone, name: p.key, timeZone: p.timeZone }))).returning());
    for (const p of people) if (p.key !== 'noConsent') await grantConsent(db, tenant.id, p.phone, { source: 'test', actor: ACTOR });
    await addToDoNotCall(db, tenant.id, '+14152100004', { actor: ACTOR });

    let now = new Date('2026-06-10T03:00:00.000Z');
    const dialled: { phone: string; at: string }[] = [];
    const dial = compliantDialer(db, async (req: DialRequest) => {
      dialled.push({ phone: req.phone, at: now.toISOString() });
      return { outcome: 'answered', callId: null };
    });
    const campaign = await createCampaign(db, tenant.id, { name: 'hours', agentId: agent.id, contactIds: rows.map((r) => r.id), maxConcurrent: 2, callsPerSecond: 50, maxAttempts: 1 }, ACTOR);
    await startCampaign(db, tenant.id, campaign.id, ACTOR);
    const runner = new CampaignRunner({ db, dial, pollMs: 20, clock: () => now });
    const state = async () => new Map((await listCampaignContacts(db, tenant.id, campaign.id)).map((r) => [rows.find((c) => c.id === r.contactId)!.name!, r]));
    runner.start();
    try {
      await waitFor('the first pass over every contact', async () => {
        const s = await state();
        return s.get('tokyo')?.state === 'done' && s.get('dnc')?.state === 'done' && s.get('noConsent')?.state === 'done'
          && s.get('newYork')?.nextAttemptAt !== null && s.get('tenantZone')?.nextAttemptAt !== null;
      }, { timeoutMs: 60_000 });
      let s = await state();
      assert.equal([s.get('tokyo')!.outcome, s.get('tokyo')!.attempts], ['answered', 1]);
      assert.equal([s.get('dnc')!.outcome, s.get('dnc')!.detail], ['refused', 'do-not-call']);
      assert.equal([s.get('noConsent')!.outcome, s.get('noConsent')!.detail], ['refused', 'no-consent']);
      for (const [key, opens] of [['newYork', '2026-06-10T12:00:00.000Z'], ['tenantZone', '2026-06-10T08:00:00.000Z']] as const) {
        const r = s.get(key)!;
        assert.equal([r.state, r.outcome, r.detail, r.attempts, r.nextAttemptAt?.toISOString()], ['pending', null, 'outside-calling-hours', 0, opens], key);
      }
      assert.equal(dialled.map((d) => d.phone), ['+14152100003']);
      const refusals = (await listAudit(db, tenant.id, 100)).filter((a) => a.action === 'call.refused').map((a) => (a.detail as { reason: string }).reason).sort();
      assert.equal(refusals, ['do-not-call', 'no-consent', 'outside-calling-hours', 'outside-calling-hours']);

      now = new Date('2026-06-10T08:00:00.000Z');
      await waitFor('the tenant-zone contact called at 08:00 UTC', async () => (await state()).get('tenantZone')?.state === 'done', { timeoutMs: 60_000 });
      s = await state();
      assert.is(s.get('newYork')!.state, 'pending', 'New York is still at 04:00');
      now = new Date('2026-06-10T12:00:00.000Z');
      await waitFor('the campaign to complete', async () => (await getCampaign(db, tenant.id, campaign.id))?.state === 'completed', { timeoutMs: 60_000 });
    } finally {
      await runner.stop();
    }
    const s = await state();
    assert.equal([s.get('newYork')!.outcome, s.get('newYork')!.attempts, s.get('newYork')!.detail], ['answered', 1, null]);
    assert.equal([s.get('tenantZone')!.outcome, s.get('tenantZone')!.attempts], ['answered', 1]);
    assert.equal(dialled, [
      { phone: '+14152100003', at: '2026-06-10T03:00:00.000Z' },
      { phone: '+14152100002', at: '2026-06-10T08:00:00.000Z' },
      { phone: '+14152100001', at: '2026-06-10T12:00:00.000Z' },
    ], 'each called once, when its window opened');
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
