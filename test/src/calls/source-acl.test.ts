/**
 * Source ACL: IPv4 and IPv6 CIDR matching, IPv4-mapped IPv6 sources and
 * entries, families kept apart, malformed entries never widening the list.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { normalizeAddress, sourceAllowed } from '../../../src/calls/source-acl.ts';

test('IPv4 CIDRs: inside, outside, boundaries, single addresses', () => {
  assert.ok(sourceAllowed(['10.0.0.0/8'], '10.255.255.255'));
  assert.ok(sourceAllowed(['10.0.0.0/8'], '10.0.0.0'));
  assert.not.ok(sourceAllowed(['10.0.0.0/8'], '11.0.0.0'));
  assert.ok(sourceAllowed(['192.0.2.16/28'], '192.0.2.31'));
  assert.not.ok(sourceAllowed(['192.0.2.16/28'], '192.0.2.32'));
  assert.ok(sourceAllowed(['203.0.113.7'], '203.0.113.7'));
  assert.not.ok(sourceAllowed(['203.0.113.7'], '203.0.113.8'));
  assert.ok(sourceAllowed(['203.0.113.7/32'], '203.0.113.7'));
  assert.ok(sourceAllowed(['0.0.0.0/0'], '198.51.100.1'));
  assert.ok(sourceAllowed(['10.0.0.0/8', '192.0.2.0/24'], '192.0.2.9'), 'any entry may match');
});

test('IPv6 CIDRs: prefixes, case and compressed forms, zone ids', () => {
  assert.ok(sourceAllowed(['2001:db8::/32'], '2001:db8:ffff::1'));
  assert.not.ok(sourceAllowed(['2001:db8::/32'], '2001:db9::1'));
  assert.ok(sourceAllowed(['2001:DB8::/32'], '2001:db8:0:0:0:0:0:7'));
  assert.ok(sourceAllowed(['2001:db8:0:1::/64'], '2001:db8:0:1:ffff:ffff:ffff:ffff'));
  assert.not.ok(sourceAllowed(['2001:db8:0:1::/64'], '2001:db8:0:2::1'));
  assert.ok(sourceAllowed(['::1'], '::1'));
  assert.ok(sourceAllowed(['fe80::/10'], 'fe80::1%eth0'), 'a source\'s zone id is ignored');
});

test('IPv4-mapped IPv6 sources count as IPv4 (dotted and hex forms)', () => {
  assert.is(normalizeAddress('::ffff:127.0.0.1'), '127.0.0.1');
  assert.is(normalizeAddress('::FFFF:10.1.2.3'), '10.1.2.3');
  assert.is(normalizeAddress('::ffff:a01:203'), '10.1.2.3');
  assert.is(normalizeAddress('0:0:0:0:0:ffff:c000:0201'), '192.0.2.1');
  assert.is(normalizeAddress('2001:db8::1'), '2001:db8::1');
  assert.is(normalizeAddress('::1'), '::1');
  assert.is(normalizeAddress('10.0.0.1'), '10.0.0.1');
  assert.ok(sourceAllowed(['127.0.0.1/32'], '::ffff:127.0.0.1'));
  assert.ok(sourceAllowed(['10.0.0.0/8'], '::ffff:a01:203'));
  assert.not.ok(sourceAllowed(['10.0.0.0/8'], '::ffff:b01:203'));
});

test('IPv4-mapped IPv6 entries match the IPv4 addresses they map', () => {
  assert.ok(sourceAllowed(['::ffff:10.0.0.0/104'], '10.200.1.1'));
  assert.ok(sourceAllowed(['::ffff:10.0.0.0/104'], '::ffff:10.200.1.1'));
  assert.not.ok(sourceAllowed(['::ffff:10.0.0.0/104'], '11.0.0.1'));
  assert.ok(sourceAllowed(['::ffff:0:0/96'], '198.51.100.1'), '::ffff:0:0/96 is all of IPv4');
  assert.ok(sourceAllowed(['::ffff:192.0.2.1'], '192.0.2.1'));
});

test('families stay apart: ::/0 is any IPv6 source, not every IPv4 one', () => {
  assert.ok(sourceAllowed(['::/0'], '2001:db8::1'));
  assert.not.ok(sourceAllowed(['::/0'], '10.0.0.1'));
  assert.not.ok(sourceAllowed(['::/0'], '::ffff:10.0.0.1'));
  assert.not.ok(sourceAllowed(['::/64'], '127.0.0.1'));
  assert.not.ok(sourceAllowed(['0.0.0.0/0'], '::1'));
  assert.not.ok(sourceAllowed(['::1/128'], '127.0.0.1'));
});

test('malformed entries and sources are ignored and never widen the list', () => {
  // The strict parser's refusals (test/media/sip/cidr.test.ts): an empty prefix is not /0, whitespace,
  // leading zeros and bits set after the prefix are not read some other way.
  for (const bad of ['10.0.0.0/', '0.0.0.0/', '::/', '10.0.0.0/33', '10.0.0.0/-1', '10.0.0.0/+8', '10.0.0.0/08', '10.0.0.0/8x', '10.0.0.0/8/8',
    '10.0.0/8', 'example.com', '', '/0', '2001:db8::/129', '10.0.0.0/ 8', ' 10.0.0.0/8', '10.0.0.1/0', '010.0.0.0/8', 'fe80::%eth0/10']) {
    assert.not.ok(sourceAllowed([bad], '10.0.0.1'), `entry ${JSON.stringify(bad)}`);
    assert.not.ok(sourceAllowed([bad], '2001:db8::1'), `entry ${JSON.stringify(bad)} (IPv6 source)`);
  }
  assert.ok(sourceAllowed(['garbage', '10.0.0.0/8'], '10.0.0.1'), 'a bad entry does not spoil the good ones');
  assert.not.ok(sourceAllowed(['0.0.0.0/0', '::/0'], 'not-an-address'));
  assert.not.ok(sourceAllowed(['0.0.0.0/0'], ''));
  assert.not.ok(sourceAllowed([], '10.0.0.1'));
});

test.run();
