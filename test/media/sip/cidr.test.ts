/**
 * The one CIDR parser (media/sip/cidr.ts): what it accepts and the canonical
 * text it stores; every malformed form refused with a one-line reason, never
 * read wider ("203.0.113.7/" is not /0); whole-family entries only with
 * allowAny.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CidrError, parseCidr, type CidrProblem } from '../../../media/sip/cidr.ts';

test('accepts IPv4 and IPv6 networks and bare addresses, in canonical form', () => {
  const cases: Array<[string, string, 4 | 6, number]> = [
    ['203.0.113.0/24', '203.0.113.0/24', 4, 24],
    ['198.51.100.7', '198.51.100.7/32', 4, 32],
    ['198.51.100.7/32', '198.51.100.7/32', 4, 32],
    ['10.0.0.0/8', '10.0.0.0/8', 4, 8],
    ['192.0.2.16/28', '192.0.2.16/28', 4, 28],
    ['0.0.0.0/1', '0.0.0.0/1', 4, 1],
    ['2001:DB8::/32', '2001:db8::/32', 6, 32],
    ['::1', '::1/128', 6, 128],
    ['fe80::/10', 'fe80::/10', 6, 10],
    ['::ffff:10.0.0.0/104', '::ffff:10.0.0.0/104', 6, 104],
  ];
  for (const [entry, text, family, prefix] of cases) {
    const c = parseCidr(entry);
    assert.equal({ text: c.text, family: c.family, prefix: c.prefix, any: c.any }, { text, family, prefix, any: false }, entry);
  }
});

function refused(entry: string, problem: CidrProblem, options: { allowAny?: boolean } = {}): CidrError {
  try {
    parseCidr(entry, options);
  } catch (error) {
    assert.instance(error, CidrError, entry);
    const e = error as CidrError;
    assert.is(e.problem, problem, `${JSON.stringify(entry)}: ${e.message}`);
    assert.ok(e.message.startsWith(`${JSON.stringify(entry)}: `), e.message);
    assert.not.match(e.message, /\n/);
    return e;
  }
  assert.unreachable(`${JSON.stringify(entry)} was accepted`);
  throw new Error('unreachable');
}

test('an empty or blank prefix is refused, never read as /0', () => {
  refused('203.0.113.7/', 'empty-prefix');
  refused('2001:db8::1/', 'empty-prefix');
  refused('203.0.113.7/ ', 'space');
  refused('203.0.113.7/\t', 'space');
  assert.match(refused('203.0.113.7/', 'empty-prefix').message, /nothing after "\/"/);
});

test('signed, non-decimal, leading-zero and out-of-range prefixes are refused', () => {
  for (const bits of ['-1', '+8', '8x', '0x8', '1e1', '8.0', '08', '00', '032', '٣', '８']) refused(`10.0.0.0/${bits}`, 'bad-prefix');
  refused('10.0.0.0/33', 'prefix-range');
  refused('10.0.0.0/1000', 'bad-prefix');
  refused('2001:db8::/129', 'prefix-range');
  refused('10.0.0.0/8/8', 'slashes');
});

test('bad addresses are refused: short, out of range, leading zeros, hex, names, zones', () => {
  for (const entry of ['10.0.0/8', '10.0.0.300/8', '010.0.0.1', '10.0.0.01/32', '0x0a.0.0.1', 'example.com', '/0', '/', '1.2.3.4.5', '2001:db8::g/32', '1:2:3:4:5:6:7:8:9']) {
    refused(entry, 'address');
  }
  refused('fe80::1%eth0', 'zone');
  refused('fe80::%eth0/10', 'zone');
  refused('', 'empty');
  refused('   ', 'empty');
  refused(' 10.0.0.0/8', 'space');
});

test('bits set after the prefix are refused (a typo must not widen or narrow silently)', () => {
  refused('203.0.113.7/24', 'host-bits');
  refused('10.1.2.3/8', 'host-bits');
  refused('2001:db8::1/32', 'host-bits');
  refused('192.0.2.17/28', 'host-bits');
});

test('whole-family entries need allowAny', () => {
  assert.match(refused('0.0.0.0/0', 'any').message, /every IPv4 source/);
  assert.match(refused('::/0', 'any').message, /every IPv6 source/);
  assert.match(refused('::ffff:0:0/96', 'any').message, /every IPv4 source/);
  assert.equal(parseCidr('0.0.0.0/0', { allowAny: true }).any, true);
  assert.equal(parseCidr('::/0', { allowAny: true }).text, '::/0');
  assert.equal(parseCidr('::ffff:0.0.0.0/96', { allowAny: true }).any, true);
  refused('0.0.0.0/', 'empty-prefix', { allowAny: true });
  refused('0.0.0.0/-0', 'bad-prefix', { allowAny: true });
});

test.run();
