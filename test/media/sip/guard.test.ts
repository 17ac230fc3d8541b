import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SipGuard, type SecurityEvent } from '../../../media/sip/guard.ts';
import { CidrError } from '../../../media/sip/cidr.ts';
import { createRequest } from '../../../media/sip/message.ts';

const req = (extra: Array<[string, string]> = []) => createRequest('OPTIONS', 'sip:x@127.0.0.1', [['Max-Forwards', '70'], ...extra]);

test('token bucket: burst allowed, then ban with an event, then unban after the ban', () => {
  const clock = { t: 0 };
  const events: SecurityEvent[] = [];
  const g = new SipGuard({ ratePerSecond: 10, burst: 5, banMs: 30_000, now: () => clock.t, onSecurityEvent: (e) => events.push(e) });
  for (let i = 0; i < 5; i++) assert.equal(g.check(req(), '10.0.0.1'), { action: 'accept' });
  assert.equal(g.check(req(), '10.0.0.1'), { action: 'drop', reason: 'rate' });
  assert.equal(events, [{ type: 'ban', source: '10.0.0.1', detail: '30000 ms' }]);
  assert.equal(g.check(req(), '10.0.0.2'), { action: 'accept' }, 'other sources unaffected');
  clock.t += 10_000;
  assert.ok(g.isBanned('10.0.0.1'));
  assert.equal(g.check(req(), '10.0.0.1'), { action: 'drop', reason: 'banned' });
  clock.t += 25_000;
  assert.equal(g.check(req(), '10.0.0.1'), { action: 'accept' });
  assert.is(events.at(-1)!.type, 'unban');
});

test('sustained rate under the limit is never banned', () => {
  const clock = { t: 0 };
  const g = new SipGuard({ ratePerSecond: 10, burst: 2, now: () => clock.t });
  for (let i = 0; i < 100; i++) {
    clock.t += 150;
    assert.is(g.check(req(), '10.0.0.9').action, 'accept');
  }
});

test('scanner User-Agents are dropped silently and reported', () => {
  const events: SecurityEvent[] = [];
  const g = new SipGuard({ onSecurityEvent: (e) => events.push(e) });
  for (const ua of ['friendly-scanner', 'sipvicious 0.3', 'SIPCLI/v1.8', 'sip-scan', 'VaxSIPUserAgent/3.1', 'iWar', 'sundayddr']) {
    assert.equal(g.check(req([['User-Agent', ua]]), '192.0.2.1'), { action: 'drop', reason: 'scanner' }, ua);
  }
  assert.is(events.length, 7);
  assert.ok(events.every((e) => e.type === 'scanner' && e.source === '192.0.2.1'));
  assert.is(g.check(req([['User-Agent', 'Linphone/5.0']]), '192.0.2.1').action, 'accept');
});

test('Max-Forwards 0 gets 483, missing Max-Forwards is tolerated', () => {
  const g = new SipGuard();
  assert.equal(g.check(createRequest('INVITE', 'sip:x', [['Max-Forwards', '0']]), '1.1.1.1'), { action: 'reject', status: 483, reason: 'Too Many Hops' });
  assert.is(g.check(createRequest('INVITE', 'sip:x', []), '1.1.1.1').action, 'accept');
});

test('memory is bounded and idle sources expire', () => {
  const clock = { t: 0 };
  const g = new SipGuard({ maxSources: 100, idleMs: 1000, now: () => clock.t });
  for (let i = 0; i < 1000; i++) g.check(req(), `10.1.${i >> 8}.${i & 255}`);
  assert.is(g.trackedSources, 100);
  clock.t += 5000;
  g.sweep();
  assert.is(g.trackedSources, 0);
});

test('trusted sources (addresses and CIDRs, IPv4-mapped too) are not rate limited; their neighbours are', () => {
  const g = new SipGuard({ burst: 1, ratePerSecond: 0.001, trustedSources: ['10.9.9.9', '192.0.2.0/28', '2001:db8::/64'], now: () => 0 });
  for (const source of ['10.9.9.9', '192.0.2.1', '192.0.2.15', '::ffff:192.0.2.3', '2001:db8::7']) {
    for (let i = 0; i < 10; i++) assert.is(g.check(req(), source).action, 'accept', source);
  }
  assert.is(g.bannedSources, 0);
  for (const outside of ['10.9.9.8', '192.0.2.16', '2001:db8:0:1::7']) {
    assert.is(g.admit(outside).action, 'accept');
    assert.equal(g.admit(outside), { action: 'drop', reason: 'rate' }, outside);
  }
});

test('a trusted entry that is not a strict CIDR, or trusts a whole family, is refused', () => {
  for (const entry of ['10.0.0.1/', '10.1.2.3/8', '0.0.0.0/0', '::/0', 'kamailio.local']) {
    assert.throws(() => new SipGuard({ trustedSources: [entry] }), (e: unknown) => e instanceof CidrError, entry);
  }
});

test('a spray of 20,000 spoofed sources does not unban a banned source', () => {
  const clock = { t: 0 };
  const events: SecurityEvent[] = [];
  const g = new SipGuard({ burst: 40, banMs: 60_000, now: () => clock.t, onSecurityEvent: (e) => events.push(e) });
  for (let i = 0; i < 41; i++) g.admit('198.51.100.7');
  assert.ok(g.isBanned('198.51.100.7'));
  for (let i = 0; i < 20_000; i++) assert.is(g.admit(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`).action, 'accept');
  assert.ok(g.trackedSources <= 10_000, `buckets bounded: ${g.trackedSources}`);
  assert.ok(g.isBanned('198.51.100.7'), 'still banned after the spray');
  assert.equal(g.admit('198.51.100.7'), { action: 'drop', reason: 'banned' });
  assert.not.ok(events.some((e) => e.type === 'unban'));
});

test('the ban table is bounded: when full, bans stay and a new offender is held to the sustained rate', () => {
  const clock = { t: 0 };
  const g = new SipGuard({ ratePerSecond: 1, burst: 2, maxSources: 3, now: () => clock.t });
  for (const s of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) for (let i = 0; i < 3; i++) g.admit(s);
  assert.is(g.bannedSources, 3);
  assert.is(g.admit('10.0.0.4').action, 'accept');
  assert.is(g.admit('10.0.0.4').action, 'accept');
  assert.equal(g.admit('10.0.0.4'), { action: 'drop', reason: 'rate' });
  assert.is(g.bannedSources, 3);
  assert.ok(['10.0.0.1', '10.0.0.2', '10.0.0.3'].every((s) => g.isBanned(s)), 'the earlier bans are not displaced');
  assert.equal(g.admit('10.0.0.4'), { action: 'drop', reason: 'rate' }, 'its bucket stays empty');
  clock.t += 1000;
  assert.is(g.admit('10.0.0.4').action, 'accept', 'one per second gets through');
  assert.equal(g.admit('10.0.0.4'), { action: 'drop', reason: 'rate' });
});

test('admit charges before anything is parsed; inspect only looks at the request', () => {
  const g = new SipGuard({ burst: 2, now: () => 0 });
  assert.is(g.admit('10.0.0.5').action, 'accept');
  assert.is(g.admit('10.0.0.5').action, 'accept');
  assert.equal(g.admit('10.0.0.5'), { action: 'drop', reason: 'rate' });
  assert.is(g.inspect(req(), '10.0.0.6').action, 'accept');
  assert.is(g.inspect(req(), '10.0.0.6').action, 'accept', 'inspect never charges');
  assert.equal(g.inspect(req([['User-Agent', 'friendly-scanner']]), '10.0.0.6'), { action: 'drop', reason: 'scanner' });
});

test.run();
