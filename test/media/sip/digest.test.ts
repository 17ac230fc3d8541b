import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildAuthorization, digestResponse, DigestServer, ha1, pickChallenge, type DigestAlgorithm } from '../../../media/sip/digest.ts';

test('RFC 2617 3.5 known vector (MD5, qop=auth)', () => {
  const h = ha1('MD5', 'Mufasa', 'testrealm@host.com', 'Circle Of Life');
  assert.is(h, '939e7578ed9e3c518a452acee763bce9');
  assert.is(digestResponse({ algorithm: 'MD5', ha1: h, nonce: 'dcd98b7102dd2f0e8b11d0f600bfb0c093', method: 'GET', uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: '0a4f113b' }), '6629fae49393a05397450978507c4ef1');
});

test('RFC 7616 3.9.1 known vectors (SHA-256 and MD5)', () => {
  const base = { nonce: '7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v', method: 'GET', uri: '/dir/index.html', qop: 'auth', nc: '00000001', cnonce: 'f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ' };
  assert.is(digestResponse({ ...base, algorithm: 'SHA-256', ha1: ha1('SHA-256', 'Mufasa', 'http-auth@example.org', 'Circle of Life') }), '753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1');
  assert.is(digestResponse({ ...base, algorithm: 'MD5', ha1: ha1('MD5', 'Mufasa', 'http-auth@example.org', 'Circle of Life') }), '8ca523f5e9506fed4657c9700eebdbec');
});

function setup(now = { t: 1_000_000 }) {
  const server = new DigestServer({ realm: 'sip.example.com', nonceTtlMs: 60_000, now: () => now.t });
  const store: Record<string, string> = {
    'alice:SHA-256': ha1('SHA-256', 'alice', 'sip.example.com', 's3cret'),
    'alice:MD5': ha1('MD5', 'alice', 'sip.example.com', 's3cret'),
  };
  const lookup = (u: string, _r: string, a: DigestAlgorithm) => store[`${u}:${a}`];
  return { server, lookup, now };
}

test('challenge offers SHA-256 first, then MD5, with qop=auth', () => {
  const { server } = setup();
  const c = server.challenge();
  assert.is(c.name, 'WWW-Authenticate');
  assert.is(c.values.length, 2);
  assert.match(c.values[0]!, /algorithm=SHA-256/);
  assert.match(c.values[1]!, /algorithm=MD5/);
  assert.match(c.values[0]!, /qop="auth"/);
  assert.is(server.challenge({ proxy: true }).name, 'Proxy-Authenticate');
});

test('client <-> server round trip for both algorithms', async () => {
  const { server, lookup } = setup();
  const values = server.challenge().values;
  for (const value of values) {
    const ch = pickChallenge([value])!;
    const authorization = buildAuthorization(ch, { method: 'INVITE', uri: 'sip:bob@example.com', username: 'alice', password: 's3cret' });
    const r = await server.verify({ method: 'INVITE', uri: 'sip:bob@example.com', authorization }, lookup);
    assert.ok(r.ok, JSON.stringify(r));
    if (r.ok) assert.is(r.algorithm, ch.algorithm);
  }
  assert.is(pickChallenge(values)!.algorithm, 'SHA-256');
});

test('wrong password, wrong method, unknown user, forged nonce are refused', async () => {
  const { server, lookup } = setup();
  const ch = pickChallenge(server.challenge().values)!;
  const bad = buildAuthorization(ch, { method: 'INVITE', uri: 'sip:bob@example.com', username: 'alice', password: 'nope' });
  const r1 = await server.verify({ method: 'INVITE', uri: 'sip:bob@example.com', authorization: bad }, lookup);
  assert.ok(!r1.ok && !r1.stale && r1.reason === 'wrong credentials');
  const good = buildAuthorization(ch, { method: 'INVITE', uri: 'sip:bob@example.com', username: 'alice', password: 's3cret' });
  assert.is((await server.verify({ method: 'BYE', uri: 'sip:bob@example.com', authorization: good }, lookup)).ok, false);
  const mallory = buildAuthorization(ch, { method: 'INVITE', uri: 'sip:bob@example.com', username: 'mallory', password: 's3cret' });
  assert.is((await server.verify({ method: 'INVITE', uri: 'sip:bob@example.com', authorization: mallory }, lookup)).ok, false);
  const forged = buildAuthorization({ ...ch, nonce: ch.nonce.slice(0, -2) + 'AA' }, { method: 'INVITE', uri: 'sip:bob@example.com', username: 'alice', password: 's3cret' });
  const r4 = await server.verify({ method: 'INVITE', uri: 'sip:bob@example.com', authorization: forged }, lookup);
  assert.ok(!r4.ok && r4.reason === 'invalid nonce');
  const other = new DigestServer({ realm: 'sip.example.com' });
  assert.is(other.checkNonce(ch.nonce), 'invalid', 'another secret does not accept our nonces');
});

test('replayed nonce count is refused, a higher nc is accepted', async () => {
  const { server, lookup } = setup();
  const ch = pickChallenge(server.challenge().values)!;
  const req = (nc: number) => ({ method: 'REGISTER', uri: 'sip:example.com', authorization: buildAuthorization(ch, { method: 'REGISTER', uri: 'sip:example.com', username: 'alice', password: 's3cret', nc }) });
  const first = req(1);
  assert.ok((await server.verify(first, lookup)).ok);
  const replay = await server.verify(first, lookup);
  assert.ok(!replay.ok && replay.reason === 'replayed nonce count');
  assert.ok((await server.verify(req(2), lookup)).ok);
});

test('expired nonce with right password gives stale=true', async () => {
  const { server, lookup, now } = setup();
  const ch = pickChallenge(server.challenge().values)!;
  now.t += 120_000;
  const authorization = buildAuthorization(ch, { method: 'INVITE', uri: 'sip:b@x', username: 'alice', password: 's3cret' });
  const r = await server.verify({ method: 'INVITE', uri: 'sip:b@x', authorization }, lookup);
  assert.ok(!r.ok && r.stale);
  assert.match(server.challenge({ stale: true }).values[0]!, /stale=true/);
});

test.run();
