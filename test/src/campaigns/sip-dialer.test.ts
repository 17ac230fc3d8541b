/**
 * The SIP dialler's outcomes from the call manager's answers: SIP statuses to
 * busy / no answer / failed, and a dial the server could not place because it
 * is draining put back (deferred to now, not an attempt) instead of failed,
 * with placeCall never reached; a dial refused at the tenant's concurrent
 * call limit put back for CALL_LIMIT_RETRY_MS. The TCPA check runs first, for real.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { addNumber, createAgent, createTenant, type Database } from '../../../storage/index.ts';
import { setCallingPolicy } from '../../../src/compliance/index.ts';
import { CALL_LIMIT_RETRY_MS, outcomeOfStatus, sipDialer } from '../../../src/campaigns/index.ts';
import { CallLimitError, type CallManager } from '../../../src/calls/call-manager.ts';
import { backends } from '../../support/databases.ts';

test('SIP statuses: 486/600 busy, 408/480/487 no answer, the rest failed', () => {
  assert.equal([486, 600, 408, 480, 487, 503, 404, undefined].map(outcomeOfStatus), ['busy', 'busy', 'no-answer', 'no-answer', 'no-answer', 'failed', 'failed', 'failed']);
});

for (const backend of await backends()) {
  const db: Database = await backend.open();

  test(`[${backend.name}] draining: the dial is deferred to now and no call is placed; otherwise the carrier's answer is the outcome`, async () => {
    const tenant = await createTenant(db, { name: `dialer-${crypto.randomUUID()}` });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: '+14152108888', agentId: agent.id, allowedCidrs: [] });
    await setCallingPolicy(db, tenant.id, { windowStart: '00:00', windowEnd: '24:00', requireConsent: false });
    let placed = 0;
    let draining = true;
    const calls = {
      get isDraining() { return draining; },
      placeCall: async () => { placed++; throw Object.assign(new Error('busy'), { name: 'SipCallError', status: 486 }); },
    } as unknown as CallManager;
    const dial = sipDialer({ db, calls, via: 'sip:127.0.0.1:5060' });
    const now = new Date('2026-06-10T12:00:00.000Z');
    const request = { tenantId: tenant.id, campaignId: crypto.randomUUID(), agentId: agent.id, phone: '+14152100777', timeZone: null, callerId: null, now };
    assert.equal(await dial(request), { outcome: 'deferred', retryAt: now, detail: 'server-draining' });
    assert.is(placed, 0, 'placeCall is not reached while draining');
    draining = false;
    assert.equal(await dial(request), { outcome: 'busy', callId: null, detail: 'sip-486' });
    assert.is(placed, 1);
  });

  test(`[${backend.name}] a dial refused at the tenant's concurrent call limit is put back, not failed`, async () => {
    const tenant = await createTenant(db, { name: `dialer-${crypto.randomUUID()}` });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: '+14152108889', agentId: agent.id, allowedCidrs: [] });
    await setCallingPolicy(db, tenant.id, { windowStart: '00:00', windowEnd: '24:00', requireConsent: false });
    const calls = {
      isDraining: false,
      placeCall: async () => { throw new CallLimitError(tenant.id, 1); },
    } as unknown as CallManager;
    const dial = sipDialer({ db, calls, via: 'sip:127.0.0.1:5060' });
    const now = new Date('2026-06-10T12:00:00.000Z');
    const request = { tenantId: tenant.id, campaignId: crypto.randomUUID(), agentId: agent.id, phone: '+14152100778', timeZone: null, callerId: null, now };
    assert.equal(await dial(request), { outcome: 'deferred', retryAt: new Date(now.getTime() + CALL_LIMIT_RETRY_MS), detail: 'call-limit' });
  });

  test.after(async () => {
    await backend.cleanup();
  });
}

test.run();
