/**
 * nextCallingTime: when a call refused for calling hours may be made, read in
 * the policy's zone with Intl (the same clock callingHours uses): later the
 * same day, the next day, past days not allowed, across a daylight-saving
 * change, and never for a policy that cannot open.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { callingHours, evaluateOutbound, nextCallingTime } from '../../../src/compliance/index.ts';
import type { OutboundFacts, OutboundPolicy } from '../../../storage/index.ts';

const policy = (changes: Partial<OutboundPolicy> = {}): OutboundPolicy => ({
  timezone: 'America/New_York', windowStart: '08:00', windowEnd: '21:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], requireConsent: true, ...changes,
});
const next = (p: OutboundPolicy, iso: string): string | undefined => nextCallingTime(p, new Date(iso))?.toISOString();

test('inside the window: now', () => {
  assert.is(next(policy(), '2026-06-10T15:30:12.345Z'), '2026-06-10T15:30:12.345Z');
});

test('before the window: its start the same local day; after it: the next day\'s start', () => {
  // 06:10:30 EDT (UTC-4) -> 08:00 EDT the same day.
  assert.is(next(policy(), '2026-06-10T10:10:30.000Z'), '2026-06-10T12:00:00.000Z');
  // 21:00 EDT exactly (the end is exclusive) -> 08:00 the next day.
  assert.is(next(policy(), '2026-06-11T01:00:00.000Z'), '2026-06-11T12:00:00.000Z');
  // 23:59 EDT -> 08:00 the next day.
  assert.is(next(policy(), '2026-06-11T03:59:59.000Z'), '2026-06-11T12:00:00.000Z');
});

test('the contact\'s own zone sets the clock: the same instant opens at different times', () => {
  const at = '2026-06-10T03:00:00.000Z'; // 23:00 EDT, 12:00 JST, 20:00 PDT
  assert.is(next(policy({ timezone: 'Asia/Tokyo' }), at), at);
  assert.is(next(policy({ timezone: 'America/Los_Angeles' }), at), at);
  assert.is(next(policy({ timezone: 'America/New_York' }), at), '2026-06-10T12:00:00.000Z');
  assert.is(next(policy({ timezone: 'UTC' }), at), '2026-06-10T08:00:00.000Z');
});

test('days not allowed are skipped: Friday evening -> Monday morning', () => {
  // Fri 2026-06-12 22:00 EDT, weekdays only -> Mon 2026-06-15 08:00 EDT.
  assert.is(next(policy({ days: ['mon', 'tue', 'wed', 'thu', 'fri'] }), '2026-06-13T02:00:00.000Z'), '2026-06-15T12:00:00.000Z');
  // Saturday noon, inside the hours but not an allowed day.
  assert.is(next(policy({ days: ['mon', 'tue', 'wed', 'thu', 'fri'] }), '2026-06-13T16:00:00.000Z'), '2026-06-15T12:00:00.000Z');
  // One day a week.
  assert.is(next(policy({ days: ['wed'] }), '2026-06-11T12:00:00.000Z'), '2026-06-17T12:00:00.000Z');
});

test('across daylight saving: the window opens at 08:00 local on either side of the change', () => {
  // 2026-03-08 is the US spring-forward day (02:00 EST -> 03:00 EDT). 00:30 EST Sunday -> 08:00 EDT = 12:00Z.
  assert.is(next(policy(), '2026-03-08T05:30:00.000Z'), '2026-03-08T12:00:00.000Z');
  // Saturday 22:00 EST -> Sunday 08:00 EDT.
  assert.is(next(policy(), '2026-03-08T03:00:00.000Z'), '2026-03-08T12:00:00.000Z');
  // 2026-11-01 fall back (02:00 EDT -> 01:00 EST). Saturday 22:00 EDT -> Sunday 08:00 EST = 13:00Z.
  assert.is(next(policy(), '2026-11-01T02:00:00.000Z'), '2026-11-01T13:00:00.000Z');
  for (const iso of ['2026-03-08T05:30:00.000Z', '2026-11-01T02:00:00.000Z']) assert.ok(callingHours(policy(), nextCallingTime(policy(), new Date(iso))!).open, iso);
});

test('a policy that never opens has no next time', () => {
  assert.is(next(policy({ timezone: 'Mars/Olympus' }), '2026-06-10T03:00:00.000Z'), undefined);
  assert.is(next(policy({ windowStart: '21:00', windowEnd: '08:00' }), '2026-06-10T03:00:00.000Z'), undefined);
  assert.is(next(policy({ days: [] }), '2026-06-10T03:00:00.000Z'), undefined);
});

test('evaluateOutbound: an hours refusal carries the next opening in the callee\'s zone; other refusals carry none', () => {
  const facts = (changes: Partial<OutboundFacts> = {}): OutboundFacts => ({ policy: policy({ timezone: 'UTC' }), doNotCall: false, consent: true, numbers: ['+14152100000'], ...changes });
  const now = new Date('2026-06-10T03:00:00.000Z');
  const hours = evaluateOutbound(facts(), { callee: '+14152100001', now, timeZone: 'America/New_York' });
  assert.equal(hours, { allowed: false, reason: 'outside-calling-hours', message: (hours as { message: string }).message, retryAt: new Date('2026-06-10T12:00:00.000Z') });
  const tenantZone = evaluateOutbound(facts(), { callee: '+14152100001', now, timeZone: null });
  assert.equal((tenantZone as { retryAt?: Date }).retryAt, new Date('2026-06-10T08:00:00.000Z'));
  const dnc = evaluateOutbound(facts({ doNotCall: true }), { callee: '+14152100001', now, timeZone: 'America/New_York' });
  assert.equal([(dnc as { reason: string }).reason, 'retryAt' in dnc], ['do-not-call', false]);
});

test.run();
