/**
 * The outbound compliance rules without a database: phone normalisation (a US
 * 10-digit number equals +1XXXXXXXXXX whatever the punctuation), masking (only
 * the last 4 digits), caller-ID parsing and choice, calling hours read with
 * Intl in the policy's time zone (DST switch days in New York, a second zone,
 * the end-exclusive boundary, weekdays), day lists, and the order reasons win.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  callerIdUser, callingHours, canonicalTimeZone, describeDays, evaluateOutbound, isE164, localClock, maskPhone, normalisePhone, phoneCountry, timeZoneForPhone, ownedNumber, parseDays, phoneVariants, pickCallerNumber,
} from '../../../src/compliance/index.ts';
import type { OutboundFacts, OutboundPolicy } from '../../../storage/index.ts';

/** The defaults a tenant starts with (the database test checks them), changed as given. */
const policy = (changes: Partial<OutboundPolicy> = {}): OutboundPolicy => ({
  timezone: 'America/New_York', windowStart: '08:00', windowEnd: '21:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], requireConsent: true, ...changes,
});
const open = (p: OutboundPolicy, iso: string): boolean => callingHours(p, new Date(iso)).open;

test('normalisePhone: punctuation stripped, valid numbers as E.164 (without +: read as US), short extensions kept', () => {
  for (const spelling of ['(212) 555-0123', '212.555.0123', '212-555-0123', '2125550123', '1 212 555 0123', '+1 (212) 555-0123', ' +12125550123 ']) {
    assert.is(normalisePhone(spelling), '+12125550123', spelling);
  }
  assert.is(normalisePhone('+44 20 7946 0958'), '+442079460958');
  assert.is(normalisePhone('020 7946 0958', 'GB'), '+442079460958', 'a national number read in the given country');
  assert.is(normalisePhone('2000'), '2000', 'an internal extension is kept as it is');
  assert.ok(isE164('+442079460958'));
  assert.not.ok(isE164('2000'));
  assert.is(phoneCountry('+442079460958'), 'GB');
  for (const bad of ['', 'abc', 'sip:+12125550123@carrier', '212-555-0123 x12', '++12125550123', '+123', '12', '1234567890123456', '212/555/0123',
    '+15551234567', '5551234', '+1212555012', '+4420794609581234', '0123456789']) {
    assert.is(normalisePhone(bad), undefined, bad);
  }
  assert.equal(phoneVariants('+12125550123'), ['+12125550123', '2125550123', '12125550123']);
  assert.equal(phoneVariants('+442079460958'), ['+442079460958']);
});

test('timeZoneForPhone: a single-zone country gives its zone, a multi-zone country none', () => {
  assert.is(timeZoneForPhone('+442079460958'), 'Europe/London');
  assert.is(timeZoneForPhone('+4915123456789'), 'Europe/Berlin');
  assert.is(timeZoneForPhone('+33612345678'), 'Europe/Paris');
  assert.is(timeZoneForPhone('+919812345678'), 'Asia/Kolkata');
  assert.is(timeZoneForPhone('+819012345678'), 'Asia/Tokyo');
  assert.is(timeZoneForPhone('+12125550123'), undefined, 'the US has several zones');
  assert.is(timeZoneForPhone('+61412345678'), undefined, 'so has Australia');
  assert.is(timeZoneForPhone('2000'), undefined);
});

test('maskPhone keeps only the last 4 digits', () => {
  assert.is(maskPhone('+12125550123'), '+*******0123');
  assert.is(maskPhone('(212) 555-0123'), '******0123');
  assert.is(maskPhone('2000'), '****');
  assert.is(maskPhone('abc'), '(no digits)');
});

test('caller ID: the From user part, from a SIP URI, name-addr, tel URI or bare number', () => {
  assert.is(callerIdUser('sip:+12125550100@10.0.0.1'), '+12125550100');
  assert.is(callerIdUser('"Acme Dental" <sip:212-555-0100@pbx.example;user=phone>;tag=abc'), '212-555-0100');
  assert.is(callerIdUser('sips:+12125550100;npdi@pbx.example'), '+12125550100');
  assert.is(callerIdUser('tel:+1-212-555-0100'), '+1-212-555-0100');
  assert.is(callerIdUser('(212) 555-0100'), '(212) 555-0100');
  assert.is(callerIdUser('sip:pbx.example'), undefined);
  assert.is(callerIdUser('mailto:a@b.example'), undefined);
  assert.is(callerIdUser('anonymous'), undefined);
  const owned = ['2000', '+12125550100'];
  assert.is(ownedNumber(owned, '212-555-0100'), '+12125550100', 'compared normalised, returned as stored');
  assert.is(ownedNumber(owned, '2000'), '2000');
  assert.is(ownedNumber(owned, '+13105550199'), undefined);
  assert.is(pickCallerNumber(owned), '+12125550100', 'a full number is preferred over an older extension');
  assert.is(pickCallerNumber(['2000', 'support']), '2000');
  assert.is(pickCallerNumber(['support']), undefined);
  assert.is(pickCallerNumber([]), undefined);
});

test('time zones: Intl decides; unknown ones are refused', () => {
  assert.is(canonicalTimeZone('America/New_York'), 'America/New_York');
  assert.is(canonicalTimeZone('america/new_york'), 'America/New_York');
  assert.is(canonicalTimeZone('Mars/Olympus'), undefined);
  assert.is(canonicalTimeZone(''), undefined);
  const broken = callingHours(policy({ timezone: 'Mars/Olympus' }), new Date('2026-06-10T16:00:00Z'));
  assert.is(broken.open, false, 'a stored zone Intl does not know closes the window');
});

test('calling hours in America/New_York across the March DST switch (2026-03-08)', () => {
  const ny = policy();
  // Saturday, still EST (UTC-5)
  assert.is(open(ny, '2026-03-07T12:59:00Z'), false, 'Sat 07:59 EST');
  assert.is(open(ny, '2026-03-07T13:00:00Z'), true, 'Sat 08:00 EST');
  // Sunday, EDT (UTC-4) from 07:00Z: a fixed -5 offset would get both of these wrong
  assert.is(localClock(new Date('2026-03-08T12:00:00Z'), 'America/New_York').label, 'Sun 08:00');
  assert.is(open(ny, '2026-03-08T11:59:00Z'), false, 'Sun 07:59 EDT');
  assert.is(open(ny, '2026-03-08T12:00:00Z'), true, 'Sun 08:00 EDT (start inclusive)');
  assert.is(open(ny, '2026-03-09T00:59:59Z'), true, 'Sun 20:59:59 EDT');
  assert.is(open(ny, '2026-03-09T01:00:00Z'), false, 'Sun 21:00 EDT (end exclusive)');
  // The skipped hour never opens a 02:00-03:00 window that day
  const night = policy({ windowStart: '02:00', windowEnd: '03:00' });
  assert.is(open(night, '2026-03-08T06:59:00Z'), false, '01:59 EST');
  assert.is(open(night, '2026-03-08T07:00:00Z'), false, '03:00 EDT');
  assert.is(open(night, '2026-03-09T06:30:00Z'), true, 'Mon 02:30 EDT');
});

test('calling hours in America/New_York across the November DST switch (2026-11-01)', () => {
  const ny = policy();
  assert.is(open(ny, '2026-10-31T12:00:00Z'), true, 'Sat 08:00 EDT');
  assert.is(open(ny, '2026-11-01T12:30:00Z'), false, 'Sun 07:30 EST (08:30 under the old offset)');
  assert.is(open(ny, '2026-11-01T13:00:00Z'), true, 'Sun 08:00 EST');
  assert.is(open(ny, '2026-11-02T01:59:59Z'), true, 'Sun 20:59:59 EST');
  assert.is(open(ny, '2026-11-02T02:00:00Z'), false, 'Sun 21:00 EST (end exclusive)');
  // The repeated hour: 01:30 happens twice, both inside a 01:00-02:00 window
  const repeated = policy({ windowStart: '01:00', windowEnd: '02:00' });
  assert.is(open(repeated, '2026-11-01T05:30:00Z'), true, '01:30 EDT');
  assert.is(open(repeated, '2026-11-01T06:30:00Z'), true, '01:30 EST');
  assert.is(open(repeated, '2026-11-01T07:00:00Z'), false, '02:00 EST');
});

test('calling hours in other zones: America/Los_Angeles (DST) and Asia/Kolkata (+05:30)', () => {
  const la = policy({ timezone: 'America/Los_Angeles' });
  assert.is(open(la, '2026-03-08T14:59:00Z'), false, 'Sun 07:59 PDT');
  assert.is(open(la, '2026-03-08T15:00:00Z'), true, 'Sun 08:00 PDT');
  assert.is(open(la, '2026-07-01T03:59:00Z'), true, 'Tue 20:59 PDT');
  assert.is(open(la, '2026-07-01T04:00:00Z'), false, 'Tue 21:00 PDT');
  assert.is(open(policy(), '2026-07-01T03:59:00Z'), false, 'the same instant is 23:59 in New York');
  const kolkata = policy({ timezone: 'Asia/Kolkata', windowStart: '09:30', windowEnd: '18:00' });
  assert.is(open(kolkata, '2026-01-15T03:59:00Z'), false, '09:29 IST');
  assert.is(open(kolkata, '2026-01-15T04:00:00Z'), true, '09:30 IST');
  assert.is(open(kolkata, '2026-01-15T12:29:00Z'), true, '17:59 IST');
  assert.is(open(kolkata, '2026-01-15T12:30:00Z'), false, '18:00 IST');
});

test('weekdays are the local day, not the UTC one; 24:00 ends at midnight', () => {
  const weekdays = policy({ days: ['mon', 'tue', 'wed', 'thu', 'fri'], windowEnd: '24:00' });
  assert.is(open(weekdays, '2026-03-06T15:00:00Z'), true, 'Fri 10:00');
  const saturday = callingHours(weekdays, new Date('2026-03-07T15:00:00Z'));
  assert.equal(saturday, { open: false, why: 'it is Sat 10:00 in America/New_York; calls are allowed 08:00-24:00 on mon-fri' });
  assert.is(open(weekdays, '2026-03-07T03:30:00Z'), true, 'Fri 22:30 EST, already Saturday in UTC');
  assert.is(open(weekdays, '2026-03-07T04:59:59Z'), true, 'Fri 23:59:59 EST');
  assert.is(open(weekdays, '2026-03-07T05:00:00Z'), false, 'Sat 00:00 EST');
  assert.is(open(weekdays, '2026-03-09T03:30:00Z'), false, 'Sun 23:30 EDT, Monday in UTC');
});

test('day lists', () => {
  assert.equal(parseDays('mon,tue'), ['mon', 'tue']);
  assert.equal(parseDays('fri, mon-wed'), ['mon', 'tue', 'wed', 'fri']);
  assert.equal(parseDays('weekdays'), ['mon', 'tue', 'wed', 'thu', 'fri']);
  assert.equal(parseDays('Sat,SUN'), ['sat', 'sun']);
  assert.equal(parseDays('all'), ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']);
  assert.throws(() => parseDays('mon,funday'), /unknown day "funday"/);
  assert.throws(() => parseDays('fri-mon'), /bad day range/);
  assert.throws(() => parseDays(''), /at least one day/);
  assert.is(describeDays(['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun']), 'mon-sun');
  assert.is(describeDays(['mon', 'tue', 'thu', 'fri', 'sat']), 'mon,tue,thu-sat');
});

test('reasons: invalid number, then do-not-call (over consent), consent, caller ID, hours', () => {
  const facts = (changes: Partial<OutboundFacts> = {}): OutboundFacts => ({ policy: policy(), doNotCall: false, consent: true, numbers: ['+12125550100'], ...changes });
  const at = new Date('2026-06-10T16:00:00Z'); // Wed 12:00 EDT
  const night = new Date('2026-06-10T03:00:00Z'); // Tue 23:00 EDT
  const reason = (f: OutboundFacts, callee: string | undefined, now = at, from?: string): string => {
    const d = evaluateOutbound(f, { callee, now, ...(from !== undefined ? { from } : {}) });
    return d.allowed ? `allowed:${d.callerNumber}` : d.reason;
  };
  assert.is(reason(facts(), '+12125550123'), 'allowed:+12125550100');
  assert.is(reason(facts({ doNotCall: true }), undefined, night), 'invalid-number');
  assert.is(reason(facts({ doNotCall: true, consent: true }), '+12125550123', night, 'sip:x@y'), 'do-not-call');
  assert.is(reason(facts({ consent: false }), '+12125550123', night, 'sip:x@y'), 'no-consent');
  assert.is(reason(facts({ consent: false, policy: policy({ requireConsent: false }) }), '+12125550123'), 'allowed:+12125550100');
  assert.is(reason(facts(), '+12125550123', night, 'sip:x@y'), 'caller-id-not-owned');
  assert.is(reason(facts({ numbers: [] }), '+12125550123'), 'caller-id-not-owned');
  assert.is(reason(facts(), '+12125550123', night), 'outside-calling-hours');
  assert.is(reason(facts(), '+12125550123', at, '<sip:2125550100@pbx>'), 'allowed:+12125550100');
  const refused = evaluateOutbound(facts({ doNotCall: true }), { callee: '+12125550123', now: at });
  assert.equal(refused, { allowed: false, reason: 'do-not-call', message: 'the number ending 0123 is on the tenant\'s do-not-call list' });
  for (const f of [facts({ doNotCall: true }), facts({ consent: false }), facts({ numbers: [] })]) {
    const d = evaluateOutbound(f, { callee: '+12125550123', now: at, from: 'sip:+13105550199@x' });
    assert.ok(!d.allowed && !d.message.includes('2125550123') && !d.message.includes('3105550199'), 'messages never hold a whole number');
  }
});

test('calling hours are read in the callee\'s own time zone when it is known, the tenant\'s otherwise', () => {
  const facts: OutboundFacts = { policy: policy(), doNotCall: false, consent: true, numbers: ['+12125550100'] };
  const at = new Date('2026-06-10T13:30:00Z'); // 09:30 in New York, 06:30 in Los Angeles
  assert.ok(evaluateOutbound(facts, { callee: '+12125550123', now: at }).allowed, 'open in the tenant\'s zone');
  const la = evaluateOutbound(facts, { callee: '+13105550123', now: at, timeZone: 'America/Los_Angeles' });
  assert.equal(la.allowed ? 'allowed' : la.reason, 'outside-calling-hours');
  assert.match(la.allowed ? '' : la.message, /America\/Los_Angeles/);
  const late = new Date('2026-06-11T02:30:00Z'); // 22:30 in New York, 19:30 in Los Angeles
  assert.ok(evaluateOutbound(facts, { callee: '+13105550123', now: late, timeZone: 'america/los_angeles' }).allowed, 'open in the callee\'s zone');
  assert.not.ok(evaluateOutbound(facts, { callee: '+13105550123', now: late, timeZone: 'Mars/Olympus' }).allowed, 'an unknown zone falls back to the tenant\'s');
});

test.run();
