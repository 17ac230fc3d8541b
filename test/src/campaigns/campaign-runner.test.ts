/**
 * A campaign over 50 contacts through the real TCPA check (a DNC entry and a
 * contact without consent refused for good, one outside calling hours in their
 * own time zone put off to when their window opens) with a scripted callee (answers, busy then answers, never answers): pacing
 * and concurrency hold, busy / no-answer are retried up to the limit, every
 * contact gets its outcome and event, the campaign completes once; a runner
 * that dies mid-campaign leaves its in-flight dials to be settled as
 * interrupted by the next one, which never calls them again. PGlite and Postgres.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  addNumber, campaignProgress, createAgent, createTenant, getCampaign, listCampaignContacts, listWebhookEvents, withTenant, schema, type Database,
} from '../../../storage/index.ts';
import { addToDoNotCall, getCallingPolicy, grantConsent, localClock, nextCallingTime, setCallingPolicy } from '../../../src/compliance/index.ts';
import { CampaignRunner, cancelCampaign, compliantDialer, createCampaign, pauseCampaign, resumeCampaign, startCampaign, type DialRequest, type DialResult } from '../../../src/campaigns/index.ts';
import { createWebhookEndpoint } from '../../../src/webhooks/index.ts';
import { KeyRing, LocalMasterKey } from '../../../storage/vault/index.ts';
import { PostgresTenantKeyStore } from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';

const ACTOR = 'operator:test';
const ZONES = ['Pacific/Kiritimati', 'Asia/Tokyo', 'Asia/Kolkata', 'Europe/Berlin', 'UTC', 'America/New_York', 'America/Los_Angeles', 'Pacific/Honolulu', 'Etc/GMT+12'];
const inWindow = (zone: string): boolean => { const m = localClock(new Date(), zone).minutes; return m >= 9 * 60 && m < 20 * 60; };
const outWindow = (zone: string): boolean => { const m = localClock(new Date(), zone).minutes; return m < 7 * 60 || m >= 22 * 60; };

for (const backend of await backends()) {
  const db: Database = await backend.open();
  const keys = new KeyRing({ master: LocalMasterKey.generate(), store: new PostgresTenantKeyStore(db) });

  async function world(count: number) {
    const tenant = await createTenant(db, { name: `c-${crypto.randomUUID()}` });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: `+14152${String(Math.floor(Math.random() * 1e6)).padStart(6, '0')}`, agentId: agent.id, allowedCidrs: [] });
    const tenantZone = ZONES.find(inWindow)!;
    const nightZone = ZONES.find(outWindow)!;
    await setCallingPolicy(db, tenant.id, { timezone: tenantZone, windowStart: '08:00', windowEnd: '21:00' });
    const phones = Array.from({ length: count }, (_, i) => `+1415220${String(i).padStart(4, '0')}`);
    const rows = await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values(phones.map((phone, i) => ({
      tenantId: tenant.id, phone, name: `c${i}`, timeZone: i === 2 ? nightZone : null,
    }))).returning());
    for (const [i, phone] of phones.entries()) if (i !== 1) await grantConsent(db, tenant.id, phone, { source: 'test', actor: ACTOR });
    await addToDoNotCall(db, tenant.id, phones[0]!, { actor: ACTOR });
    await createWebhookEndpoint(db, keys, tenant.id, { url: 'https://hooks.example/x', eventTypes: ['campaign.contact.completed', 'campaign.completed'], actor: ACTOR });
    return { tenantId: tenant.id, agentId: agent.id, contacts: rows, phones };
  }

  /** The scripted callee: index 3 mod 10 busy the first time, 7 mod 10 never answers, the rest answer. */
  function callee(phones: string[]) {
    const placed = new Map<string, number>();
    let inFlight = 0;
    let maxInFlight = 0;
    const place = async (req: DialRequest): Promise<DialResult> => {
      const n = (placed.get(req.phone) ?? 0) + 1;
      placed.set(req.phone, n);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 5));
      inFlight--;
      const i = phones.indexOf(req.phone);
      if (i % 10 === 3 && n === 1) return { outcome: 'busy', callId: null, detail: 'sip-486' };
      if (i % 10 === 7) return { outcome: 'no-answer', callId: null, detail: 'sip-408' };
      return { outcome: 'answered', callId: null };
    };
    return { place, placed, maxInFlight: () => maxInFlight };
  }

  test(`[${backend.name}] 50 contacts: refusals recorded, calling hours deferred, busy and no-answer retried to the limit, each contact's outcome, one completion`, async () => {
    const w = await world(50);
    const script = callee(w.phones);
    const campaign = await createCampaign(db, w.tenantId, {
      name: 'spring', agentId: w.agentId, contactIds: w.contacts.map((c) => c.id), maxConcurrent: 3, callsPerSecond: 100, maxAttempts: 2, retrySpacingSeconds: 0,
    }, ACTOR);
    const runner = new CampaignRunner({ db, dial: compliantDialer(db, (req) => script.place(req)), pollMs: 20 });
    await startCampaign(db, w.tenantId, campaign.id, ACTOR);
    runner.start();
    try {
      await waitFor('every contact but the one waiting for its calling hours done', async () => (await campaignProgress(db, w.tenantId, campaign.id))?.byState.done === 49, { timeoutMs: 60_000 });
    } finally {
      await runner.stop();
    }
    assert.is((await getCampaign(db, w.tenantId, campaign.id))?.state, 'running', 'a deferred contact keeps the campaign running');
    const rows = await listCampaignContacts(db, w.tenantId, campaign.id);
    const byPhone = new Map(rows.map((r) => [w.phones[w.contacts.findIndex((c) => c.id === r.contactId)]!, r]));
    assert.equal([byPhone.get(w.phones[0]!)!.outcome, byPhone.get(w.phones[0]!)!.detail], ['refused', 'do-not-call']);
    assert.equal([byPhone.get(w.phones[1]!)!.outcome, byPhone.get(w.phones[1]!)!.detail], ['refused', 'no-consent']);
    const night = byPhone.get(w.phones[2]!)!;
    assert.equal([night.state, night.outcome, night.detail, night.attempts], ['pending', null, 'outside-calling-hours', 0]);
    const policy = await getCallingPolicy(db, w.tenantId);
    const opens = nextCallingTime({ ...policy, timezone: w.contacts[2]!.timeZone! }, new Date())!;
    assert.ok(night.nextAttemptAt!.getTime() > Date.now(), 'deferred to the future');
    assert.ok(Math.abs(night.nextAttemptAt!.getTime() - opens.getTime()) < 5 * 60_000, 'deferred to when the contact\'s own window opens');
    assert.is(localClock(night.nextAttemptAt!, w.contacts[2]!.timeZone!).minutes, 8 * 60, 'at 08:00 in the contact\'s zone');
    await cancelCampaign(db, w.tenantId, campaign.id, ACTOR);
    for (const [i, phone] of w.phones.entries()) {
      if (i === 2) continue;
      const r = byPhone.get(phone)!;
      assert.is(r.state, 'done');
      if (i < 3) {
        assert.is(script.placed.get(phone), undefined, `refused contact ${i} was never dialled`);
        continue;
      }
      if (i % 10 === 3) assert.equal([r.outcome, r.attempts, script.placed.get(phone)], ['answered', 2, 2], `contact ${i}`);
      else if (i % 10 === 7) assert.equal([r.outcome, r.attempts, script.placed.get(phone)], ['no-answer', 2, 2], `contact ${i}`);
      else assert.equal([r.outcome, r.attempts, script.placed.get(phone)], ['answered', 1, 1], `contact ${i}`);
    }
    assert.ok(script.maxInFlight() <= 3, `at most 3 calls at once (saw ${script.maxInFlight()})`);
    const progress = (await campaignProgress(db, w.tenantId, campaign.id))!;
    assert.equal(progress.byOutcome, { refused: 2, 'no-answer': 5, answered: 42, cancelled: 1 });
    const events = await listWebhookEvents(db, w.tenantId, 500);
    assert.is(events.filter((e) => e.type === 'campaign.contact.completed').length, 50);
    const done = events.filter((e) => e.type === 'campaign.completed');
    assert.is(done.length, 1);
    assert.equal((done[0]!.payload as { data: { outcomes: unknown } }).data.outcomes, { refused: 2, 'no-answer': 5, answered: 42, cancelled: 1 });
  });

  test(`[${backend.name}] a runner dying mid-campaign: the next one settles its in-flight dials as interrupted and never redials them`, async () => {
    const w = await world(12);
    const campaign = await createCampaign(db, w.tenantId, {
      name: 'restart', agentId: w.agentId, contactIds: w.contacts.map((c) => c.id).slice(3), maxConcurrent: 2, callsPerSecond: 50, maxAttempts: 1,
    }, ACTOR);
    await startCampaign(db, w.tenantId, campaign.id, ACTOR);
    const first = new Map<string, number>();
    const hung = new CampaignRunner({ db, dial: compliantDialer(db, async (req) => { first.set(req.phone, 1); return new Promise<DialResult>(() => {}); }), pollMs: 20 });
    hung.start();
    await waitFor('two calls in flight', () => first.size === 2, { timeoutMs: 30_000 });
    void hung.stop(); // the process "dies": its calls never finish
    const second = new Map<string, number>();
    const runner = new CampaignRunner({ db, dial: compliantDialer(db, async (req) => { second.set(req.phone, (second.get(req.phone) ?? 0) + 1); return { outcome: 'answered', callId: null }; }), pollMs: 20 });
    runner.start();
    try {
      await waitFor('the campaign to complete', async () => (await getCampaign(db, w.tenantId, campaign.id))?.state === 'completed', { timeoutMs: 60_000 });
    } finally {
      await runner.stop();
    }
    for (const phone of first.keys()) assert.is(second.get(phone), undefined, 'an interrupted dial is not made again');
    assert.is(second.size, 9 - 2);
    assert.ok([...second.values()].every((n) => n === 1), 'nobody is called twice');
    const rows = await listCampaignContacts(db, w.tenantId, campaign.id);
    assert.is(rows.filter((r) => r.outcome === 'failed' && r.detail === 'interrupted').length, 2);
    assert.is(rows.filter((r) => r.outcome === 'answered').length, 7);
  });

  test(`[${backend.name}] pause stops new dials, resume carries on; pacing keeps calls per second`, async () => {
    const w = await world(20); // 17 to dial: at 10 a second, far from done when the pause comes after two
    const campaign = await createCampaign(db, w.tenantId, {
      name: 'paced', agentId: w.agentId, contactIds: w.contacts.map((c) => c.id).slice(3), maxConcurrent: 5, callsPerSecond: 10, maxAttempts: 1,
    }, ACTOR);
    await startCampaign(db, w.tenantId, campaign.id, ACTOR);
    const starts: number[] = [];
    let paused = false;
    let dialledWhilePaused = 0;
    const runner = new CampaignRunner({ db, dial: compliantDialer(db, async () => { if (paused) dialledWhilePaused++; return { outcome: 'answered', callId: null }; }), pollMs: 20 });
    // The runner serves every running campaign in the database: only this one's dials are counted.
    runner.onDialStart = (d) => { if (d.campaignId === campaign.id) starts.push(d.at); };
    runner.start();
    try {
      await waitFor('two dials', () => starts.length >= 2, { timeoutMs: 30_000 });
      await pauseCampaign(db, w.tenantId, campaign.id, ACTOR);
      // Dials claimed before the pause committed were in flight: they finish. None starts after them.
      await waitFor('the calls in flight at the pause to finish', () => runner.inFlight === 0, { timeoutMs: 60_000 });
      paused = true;
      const during = starts.length;
      await runner.refresh();
      await runner.refresh();
      assert.is(starts.length, during, 'no new dial while paused');
      assert.is(runner.inFlight, 0);
      paused = false;
      await resumeCampaign(db, w.tenantId, campaign.id, ACTOR);
      await waitFor('the campaign to complete', async () => (await getCampaign(db, w.tenantId, campaign.id))?.state === 'completed', { timeoutMs: 60_000 });
    } finally {
      await runner.stop();
    }
    assert.is(dialledWhilePaused, 0);
    assert.is(starts.length, 17);
    // Starts are at least 1/cps apart (timers never fire early): pacing is a floor, measured in the bench, not here.
    // Each is its pacing slot's time, reported once its claim commits: claims can commit out of order, so in order of slot.
    const slots = [...starts].sort((a, b) => a - b);
    for (let i = 1; i < slots.length; i++) assert.ok(slots[i]! - slots[i - 1]! >= 99 - 1, `gap ${i}: ${slots[i]! - slots[i - 1]!} ms`);
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
