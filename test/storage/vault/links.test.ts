import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEFAULT_LINK_TTL_MS, parseRecordingLink, signRecordingLink, verifyRecordingLink } from '../../../storage/vault/index.ts';

const secret = 'a-link-signing-secret-of-at-least-32-bytes!';
const now = Date.UTC(2026, 5, 1, 12, 0, 0);
const claims = { tenantId: 'acme', recordingId: 'rec-1' };

test('a signed link verifies, names its tenant and recording, and defaults to 15 minutes', () => {
  const link = signRecordingLink(claims, secret, { now });
  assert.match(link, /^\/v1\/recordings\/acme\/rec-1\?exp=\d+&sig=[A-Za-z0-9_-]{43}$/);
  const result = verifyRecordingLink(link, secret, { now: now + 60_000 });
  assert.equal(result, { ok: true, tenantId: 'acme', recordingId: 'rec-1', expiresAt: new Date(now + DEFAULT_LINK_TTL_MS) });
  assert.equal(verifyRecordingLink(link, secret, { now: now + DEFAULT_LINK_TTL_MS - 1000 }).ok, true);
});

test('a link stops working at its expiry', () => {
  const link = signRecordingLink({ ...claims, expiresAt: new Date(now + 5 * 60_000) }, secret, { now });
  assert.equal(verifyRecordingLink(link, secret, { now: now + 5 * 60_000 - 1000 }).ok, true);
  assert.equal(verifyRecordingLink(link, secret, { now: now + 5 * 60_000 }), { ok: false, reason: 'expired' });
  assert.equal(verifyRecordingLink(link, secret, { now: now + DEFAULT_LINK_TTL_MS * 10 }), { ok: false, reason: 'expired' });
});

test('changing the tenant, recording, expiry or signature breaks the link', () => {
  const link = signRecordingLink(claims, secret, { now });
  const later = { now: now + 1000 };
  const parts = parseRecordingLink(link)!;
  assert.equal(verifyRecordingLink({ ...parts, tenantId: 'globex' }, secret, later), { ok: false, reason: 'bad-signature' });
  assert.equal(verifyRecordingLink(link.replace('/acme/', '/globex/'), secret, later), { ok: false, reason: 'bad-signature' });
  assert.equal(verifyRecordingLink(link.replace('/rec-1?', '/rec-2?'), secret, later), { ok: false, reason: 'bad-signature' });
  assert.equal(verifyRecordingLink({ ...parts, exp: String(Number(parts.exp) + 3600) }, secret, later), { ok: false, reason: 'bad-signature' });
  const sig = parts.sig!;
  const flipped = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
  assert.equal(verifyRecordingLink({ ...parts, sig: flipped }, secret, later), { ok: false, reason: 'bad-signature' });
  assert.equal(verifyRecordingLink(link, 'another-secret-that-is-also-32-bytes-long', later), { ok: false, reason: 'bad-signature' });
  // A forged link that is also expired is reported as forged.
  assert.equal(verifyRecordingLink({ ...parts, tenantId: 'globex' }, secret, { now: now + DEFAULT_LINK_TTL_MS * 2 }), { ok: false, reason: 'bad-signature' });
});

test('malformed links are told apart from bad signatures', () => {
  const link = signRecordingLink(claims, secret, { now });
  const parts = parseRecordingLink(link)!;
  const later = { now: now + 1000 };
  for (const bad of [
    { ...parts, sig: undefined },
    { ...parts, exp: undefined },
    { ...parts, exp: 'soon' },
    { ...parts, exp: '0' + parts.exp },
    { ...parts, sig: parts.sig!.slice(1) },
    { ...parts, sig: parts.sig! + '=' },
    { ...parts, tenantId: '..' },
  ]) {
    assert.equal(verifyRecordingLink(bad, secret, later), { ok: false, reason: 'malformed' });
  }
  for (const bad of ['', '/v1/recordings/acme', '/elsewhere/acme/rec-1?exp=1&sig=x', '/v1/recordings/acme/rec-1/extra' + link.slice(link.indexOf('?'))]) {
    assert.equal(verifyRecordingLink(bad, secret, later), { ok: false, reason: 'malformed' });
  }
});

test('signing refuses short secrets, unsafe ids and expiries in the past or too far away', () => {
  assert.throws(() => signRecordingLink(claims, 'short', { now }), /32 bytes/);
  assert.throws(() => signRecordingLink({ ...claims, tenantId: '../x' }, secret, { now }));
  assert.throws(() => signRecordingLink({ ...claims, expiresAt: new Date(now - 1) }, secret, { now }), /future/);
  assert.throws(() => signRecordingLink({ ...claims, expiresAt: new Date(now + 8 * 86_400_000) }, secret, { now }), /7 days/);
  assert.match(signRecordingLink(claims, secret, { now, basePath: '/r' }), /^\/r\/acme\/rec-1\?/);
});

test.run();
