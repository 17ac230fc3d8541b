/** The SSRF address rules and the retry schedule (pure functions). */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkAddress, embeddedIpv4, resolveAllowed, retryDelayMs, RETRY_DELAYS_MS } from '../../../src/webhooks/index.ts';

const refused = [
  '127.0.0.1', '127.8.9.10', '10.0.0.1', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '169.254.1.1', '100.64.0.1',
  '0.0.0.0', '224.0.0.1', '255.255.255.255', '198.18.0.1', '::1', '::', 'fe80::1', 'fc00::1', 'fd00:ec2::254', 'ff02::1',
  '::ffff:127.0.0.1', '::ffff:10.0.0.1', '::ffff:169.254.169.254', '::ffff:7f00:1', '64:ff9b::a9fe:a9fe', '::ffff:0:a00:1', '2001:db8::1',
];
const allowed = ['93.184.216.34', '8.8.8.8', '172.32.0.1', '2606:4700::1111', '::ffff:8.8.8.8'];

test('private, loopback, link-local, metadata and reserved addresses are refused, IPv6 and IPv4-mapped included', () => {
  for (const a of refused) assert.is(checkAddress(a).allowed, false, a);
  for (const a of allowed) assert.is(checkAddress(a).allowed, true, a);
  assert.is(checkAddress('not-an-ip').allowed, false);
});

test('the loopback setting allows loopback only, however it is spelt', () => {
  for (const a of ['127.0.0.1', '::1', '::ffff:127.0.0.1']) assert.is(checkAddress(a, { allowLoopback: true }).allowed, true, a);
  for (const a of ['10.0.0.1', '169.254.169.254', 'fe80::1', '::ffff:192.168.0.1']) assert.is(checkAddress(a, { allowLoopback: true }).allowed, false, a);
});

test('embedded IPv4 addresses are read from mapped, compatible and NAT64 forms', () => {
  assert.is(embeddedIpv4('::ffff:10.1.2.3'), '10.1.2.3');
  assert.is(embeddedIpv4('::FFFF:0a01:0203'), '10.1.2.3');
  assert.is(embeddedIpv4('64:ff9b::169.254.169.254'), '169.254.169.254');
  assert.is(embeddedIpv4('2606:4700::1111'), undefined);
});

test('a name is refused when any address it resolves to is refused', async () => {
  let error: unknown;
  await resolveAllowed('mixed.example', { allowLoopback: false, resolve: async () => [{ address: '8.8.8.8', family: 4 }, { address: '10.0.0.1', family: 4 }] }).catch((e) => { error = e; });
  assert.is((error as Error)?.name, 'RefusedAddressError');
  const ok = await resolveAllowed('public.example', { allowLoopback: false, resolve: async () => [{ address: '8.8.8.8', family: 4 }] });
  assert.equal(ok.map((a) => a.address), ['8.8.8.8']);
  error = undefined;
  await resolveAllowed('[::1]', { allowLoopback: false }).catch((e) => { error = e; });
  assert.ok(error, 'an IP literal is checked without DNS');
});

test('the retry schedule spans about a day with +-20 % jitter, then gives up', () => {
  const total = RETRY_DELAYS_MS.reduce((a, b) => a + b, 0);
  assert.ok(total > 24 * 3600_000 && total < 30 * 3600_000);
  assert.is(retryDelayMs(1, () => 0), 4_000);
  assert.is(retryDelayMs(1, () => 1), 6_000);
  assert.is(retryDelayMs(RETRY_DELAYS_MS.length + 1, () => 0.5), undefined);
});

test.run();
