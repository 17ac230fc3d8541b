import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildAuthorization, DEFAULT_DIGEST_ALGORITHMS, digestResponse, DigestServer, ha1, parseDigestAlgorithms, pickChallenge, type DigestAlgorithm,
} from '../../../media/sip/digest.ts';

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
  // Both algorithms offered, so the tests below can answer either; the shipped default is tested on its own.
  const server = new DigestServer({ realm: 'sip.example.com', nonceTtlMs: 60_000, now: () => now.t, algorithms: ['MD5', 'SHA-256'] });
  const store: Record<string, string> = {
    'alice:SHA-256': ha1('SHA-256', 'alice', 'sip.example.com', 's3cret'),
    'alice:MD5': ha1('MD5', 'alice', 'sip.example.com', 's3cret'),
  };
  const lookup = (u: string, _r: string, a: DigestAlgorithm) => store[`${u}:${a}`];
  return { server, lookup, now };
}

test('the default challenge offers MD5 alone (a SHA-256 challenge beside it fails libre-based UAs such as baresip), with qop=auth', () => {
  const server = new DigestServer({ realm: 'sip.example.com' });
  assert.equal(DEFAULT_DIGEST_ALGORITHMS, ['MD5']);
  const c = server.challenge();
  assert.is(c.name, 'WWW-Authenticate');
  assert.is(c.values.length, 1);
  assert.match(c.values[0]!, /algorithm=MD5/);
  assert.match(c.values[0]!, /qop="auth"/);
  assert.is(server.challenge({ proxy: true }).name, 'Proxy-Authenticate');
  const ordered = new DigestServer({ realm: 'r', algorithms: ['SHA-256', 'MD5'] }).challenge().values;
  assert.equal(ordered.map((v) => /algorithm=([\w-]+)/.exec(v)?.[1]), ['SHA-256', 'MD5'], 'the configured order is kept');
  assert.equal(server.challenge({ algorithms: ['SHA-256'] }).values.map((v) => /algorithm=([\w-]+)/.exec(v)?.[1]), ['SHA-256'], 'a per-request list wins');
});

test('SHA-256 only: an MD5 answer is refused even with the right password; SHA-256 gets in', async () => {
  const { lookup } = setup();
  const cases: Array<[string, DigestServer, { algorithms?: readonly DigestAlgorithm[] }]> = [
    ['server-wide SHA-256 only', new DigestServer({ realm: 'sip.example.com', algorithms: ['SHA-256'] }), {}],
    ['a number\'s own SHA-256-only list on a default server', setup().server, { algorithms: ['SHA-256'] }],
  ];
  for (const [name, server, only] of cases) {
    // The caller answers with MD5 anyway (a stale default challenge, or a forged algorithm): our nonce, right password.
    const md5 = { ...pickChallenge(server.challenge(only).values)!, algorithm: 'MD5' as const };
    const authorization = buildAuthorization(md5, { method: 'INVITE', uri: 'sip:bob@example.com', username: 'alice', password: 's3cret' });
    const r = await server.verify({ method: 'INVITE', uri: 'sip:bob@example.com', authorization }, lookup, only);
    assert.ok(!r.ok && r.reason === 'unsupported algorithm', `${name}: ${JSON.stringify(r)}`);
    const sha = pickChallenge(server.challenge(only).values)!;
    assert.is(sha.algorithm, 'SHA-256', name);
    const good = buildAuthorization(sha, { method: 'INVITE', uri: 'sip:bob@example.com', username: 'alice', password: 's3cret' });
    assert.ok((await server.verify({ method: 'INVITE', uri: 'sip:bob@example.com', authorization: good }, lookup, only)).ok, name);
  }
});

test('parseDigestAlgorithms: order kept, case-insensitive, unknown, empty and repeated names refused', () => {
  assert.equal(parseDigestAlgorithms('MD5,SHA-256'), ['MD5', 'SHA-256']);
  assert.equal(parseDigestAlgorithms('sha-256 , md5'), ['SHA-256', 'MD5']);
  assert.equal(parseDigestAlgorithms('SHA-256'), ['SHA-256']);
  assert.throws(() => parseDigestAlgorithms(''), /comma-separated list/);
  assert.throws(() => parseDigestAlgorithms('MD5,'), /comma-separated list/);
  assert.throws(() => parseDigestAlgorithms('SHA-1'), /unknown digest algorithm "SHA-1"/);
  assert.throws(() => parseDigestAlgorithms('MD5,md5'), /listed twice/);
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

test('a nonce is remembered until it expires, however many other nonces are used meanwhile', async () => {
  const { server, lookup, now } = setup();
  const uri = 'sip:example.com';
  const answer = (nonce: string, nc: number) => ({ method: 'REGISTER', uri, authorization: buildAuthorization({ ...pickChallenge(server.challenge().values)!, nonce }, { method: 'REGISTER', uri, username: 'alice', password: 's3cret', nc }) });
  const first = answer(server.createNonce(), 1);
  assert.ok((await server.verify(first, lookup)).ok);
  // More than the old count bound (10,000 entries) of other nonces, all within the lifetime.
  for (let i = 0; i < 10_050; i++) {
    if (i % 1000 === 0) now.t += 1_000;
    assert.ok((await server.verify(answer(server.createNonce(), 1), lookup)).ok);
  }
  assert.is(server.trackedNonces, 10_051);
  const replay = await server.verify(first, lookup);
  assert.ok(!replay.ok && replay.reason === 'replayed nonce count', JSON.stringify(replay));
  // Once a nonce has expired it is answered stale before the memory is asked, so the memory lets it go.
  now.t += 60_001;
  assert.ok((await server.verify(answer(server.createNonce(), 1), lookup)).ok);
  assert.is(server.trackedNonces, 1, 'expired nonces are forgotten: the memory is bounded by the nonce lifetime');
  const late = await server.verify(first, lookup);
  assert.ok(!late.ok && late.stale, 'the expired nonce is stale, not accepted');
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
