import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { verifyTelnyxSignature, verifyTwilioSignature } from '../../../src/streams/webhook-signatures.ts';
import { checkStreamToken, mintStreamToken } from '../../../src/streams/stream-token.ts';

// The two examples of Twilio's request-validation documentation (auth token 12345).
const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
const params = (caller: string): Record<string, string> => ({ CallSid: 'CA1234567890ABCDE', Caller: caller, Digits: '1234', From: caller, To: '+18005551212' });

test('Twilio signatures: the published examples verify; a changed parameter, URL or token does not', () => {
  assert.ok(verifyTwilioSignature('12345', url, params('+14158675309'), 'RSOYDt4T1cUTdK1PDd93/VVr8B8='));
  assert.ok(verifyTwilioSignature('12345', url, params('+14158675310'), 'GvWf1cFY/Q7PnoempGyD5oXAezc='));
  assert.not.ok(verifyTwilioSignature('12345', url, params('+14158675311'), 'GvWf1cFY/Q7PnoempGyD5oXAezc='));
  assert.not.ok(verifyTwilioSignature('12345', `${url}&x=1`, params('+14158675310'), 'GvWf1cFY/Q7PnoempGyD5oXAezc='));
  assert.not.ok(verifyTwilioSignature('54321', url, params('+14158675310'), 'GvWf1cFY/Q7PnoempGyD5oXAezc='));
  assert.not.ok(verifyTwilioSignature('12345', url, params('+14158675310'), undefined));
  assert.not.ok(verifyTwilioSignature('12345', url, params('+14158675310'), ''));
});

test('Twilio signatures: a URL signed with or without the default port verifies either way', () => {
  assert.ok(verifyTwilioSignature('12345', 'https://mycompany.com:443/myapp.php?foo=1&bar=2', params('+14158675310'), 'GvWf1cFY/Q7PnoempGyD5oXAezc='));
  assert.not.ok(verifyTwilioSignature('12345', 'https://mycompany.com:8443/myapp.php?foo=1&bar=2', params('+14158675310'), 'GvWf1cFY/Q7PnoempGyD5oXAezc='));
});

test('Telnyx signatures: Ed25519 over timestamp|body with the raw public key; stale, altered or foreign requests fail', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  const body = '{"data":{"event_type":"call.initiated"}}';
  const now = 1_800_000_000;
  const sig = sign(null, Buffer.from(`${now}|${body}`), privateKey).toString('base64');
  assert.ok(verifyTelnyxSignature(raw, body, sig, String(now), now + 10));
  assert.ok(verifyTelnyxSignature(publicKey.export({ format: 'pem', type: 'spki' }).toString(), body, sig, String(now), now));
  assert.not.ok(verifyTelnyxSignature(raw, `${body} `, sig, String(now), now), 'body changed');
  assert.not.ok(verifyTelnyxSignature(raw, body, sig, String(now + 1), now), 'timestamp changed');
  assert.not.ok(verifyTelnyxSignature(raw, body, sig, String(now), now + 301), 'too old');
  const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  assert.not.ok(verifyTelnyxSignature(other, body, sig, String(now), now), 'another account');
  assert.not.ok(verifyTelnyxSignature('not a key', body, sig, String(now), now));
  assert.not.ok(verifyTelnyxSignature(raw, body, undefined, String(now), now));
});

test('stream tokens: bound to tenant, number, call and carrier; expire; refuse tampering and another secret', () => {
  const secret = randomBytes(32);
  const claims = { tenantId: '6f1c1f9e-8a55-4c1b-9b59-6a2b0c9e0a11', numberId: '0d8f6c4e-1b2a-4c3d-8e9f-0a1b2c3d4e5f', callId: 'CA1', carrier: 'twilio' as const };
  const token = mintStreamToken(secret, claims, 1_000_000);
  assert.equal(checkStreamToken(secret, token, 1_000_000 + 59_000), { ok: true, claims });
  assert.equal(checkStreamToken(secret, token, 1_000_000 + 60_000), { ok: false, reason: 'expired' });
  assert.equal(checkStreamToken(randomBytes(32), token, 1_000_000), { ok: false, reason: 'bad-signature' });
  const [payload, sig] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), tenantId: '11111111-1111-4111-8111-111111111111' })).toString('base64url');
  assert.equal(checkStreamToken(secret, `${forged}.${sig}`, 1_000_000), { ok: false, reason: 'bad-signature' });
  for (const bad of [undefined, '', 'x', 'a.b.c', `${payload}`]) assert.equal(checkStreamToken(secret, bad, 1_000_000).ok, false);
});

test.run();
