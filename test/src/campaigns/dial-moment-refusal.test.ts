/**
 * The dialler's own outbound check at the moment of the dial (placeCall's,
 * CallManager): the runner's check passes at 20:59:59, the window closes
 * (21:00) before the dial, and placeCall's check refuses. That refusal is a
 * deferral to the next opening (08:00 the next day), not counted as an
 * attempt, like the runner's own calling-hours deferral; the contact is
 * called once when the window opens. A do-not-call entry that arrives
 * between the two checks stays a final refusal. The call manager is a stand-in
 * whose placeCall runs the real check (assertOutboundAllowed) at the later
 * instant. PGlite and Postgres.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addNumber, createAgent, createTenant, listCampaignContacts, schema, withTenant, type Database } from '../../../storage/index.ts';
import { addToDoNotCall, assertOutboundAllowed, setCallingPolicy } from '../../../src/compliance/index.ts';
import { CampaignRunner, createCampaign, sipDialer, startCampaign } from '../../../src/campaigns/index.ts';
import type { CallManager, PlaceCallOptions } from '../../../src/calls/call-manager.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';

const ACTOR = 'operator:test';

for (const backend of await backends()) {
  const db: Database = await backend.open();

  test(`[${backend.name}] the window closing between the runner's check and the dial defers the contact; DNC at the dial stays final`, async () => {
    const tenant = await createTenant(db, { name: `dial-moment-${crypto.randomUUID()}` });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: '+14152107777', agentId: agent.id, allowedCidrs: [] });
    await setCallingPolicy(db, tenant.id, { timezone: 'UTC', windowStart: '08:00', windowEnd: '21:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], requireConsent: false });
    const [late, barred] = await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values([
      { tenantId: tenant.id, phone: '+14152100101', name: 'late' },
      { tenantId: tenant.id, phone: '+14152100102', name: 'barred' },
    ]).returning());

    // The runner judges at `now`; the dial happens at `dialAt` (one second later, once the window has closed).
    let now = new Date('2026-06-10T20:59:59.000Z');
    let dialAt = new Date('2026-06-10T21:00:00.000Z');
    const attempts: { phone: string; at: string; placed: boolean }[] = [];
    const calls = {
      isDraining: false,
      placeCall: async (options: PlaceCallOptions) => {
        const at = dialAt.toISOString();
        if (options.number === barred!.phone) await addToDoNotCall(db, tenant.id, options.number, { actor: ACTOR });
        try {
          await assertOutboundAllowed(db, tenant.id, { number: options.number, actor: options.actor ?? ACTOR, timeZone: options.timeZone ?? null, now: dialAt });
        } catch (error) {
          attempts.push({ phone: options.number, at, placed: false });
          throw error;
        }
        attempts.push({ phone: options.number, at, placed: true });
        return { callId: null, untilClosed: async () => undefined };
      },
    } as unknown as CallManager;

    const campaign = await createCampaign(db, tenant.id, { name: 'dial moment', agentId: agent.id, contactIds: [late!.id, barred!.id], maxConcurrent: 1, callsPerSecond: 50, maxAttempts: 1 }, ACTOR);
    await startCampaign(db, tenant.id, campaign.id, ACTOR);
    const runner = new CampaignRunner({ db, dial: sipDialer({ db, calls, via: 'sip:127.0.0.1:5060' }), pollMs: 20, clock: () => now });
    const row = async (id: string) => (await listCampaignContacts(db, tenant.id, campaign.id)).find((r) => r.contactId === id)!;
    runner.start();
    try {
      await waitFor('both contacts dialled once', async () => (await row(barred!.id)).state === 'done' && (await row(late!.id)).nextAttemptAt !== null, { timeoutMs: 60_000 });
      const deferred = await row(late!.id);
      assert.equal([deferred.state, deferred.outcome, deferred.detail, deferred.attempts, deferred.nextAttemptAt?.toISOString()],
        ['pending', null, 'outside-calling-hours', 0, '2026-06-11T08:00:00.000Z'], 'deferred to the next opening, not an attempt');
      const refused = await row(barred!.id);
      assert.equal([refused.state, refused.outcome, refused.detail], ['done', 'refused', 'do-not-call'], 'a do-not-call refusal at the dial is final');

      now = new Date('2026-06-11T08:00:00.000Z');
      dialAt = now;
      await waitFor('the deferred contact called when the window opens', async () => (await row(late!.id)).state === 'done', { timeoutMs: 60_000 });
    } finally {
      await runner.stop();
    }
    const done = await row(late!.id);
    assert.equal([done.outcome, done.attempts, done.detail], ['answered', 1, null]);
    const ordered = [...attempts].sort((a, b) => a.at.localeCompare(b.at) || a.phone.localeCompare(b.phone));
    assert.equal(ordered, [
      { phone: late!.phone, at: '2026-06-10T21:00:00.000Z', placed: false },
      { phone: barred!.phone, at: '2026-06-10T21:00:00.000Z', placed: false },
      { phone: late!.phone, at: '2026-06-11T08:00:00.000Z', placed: true },
    ], 'refused at the dial once each; the deferred contact called once, when its window opened');
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
