/**
 * WebRTC call tokens: signed, short-lived, bound to one tenant's agent, used
 * once; minted through POST /v1/agents/:agentId/call-tokens by a role that
 * may change agents, audited without the token.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { createAgent, listAudit } from '../../../storage/index.ts';
import { CALL_TOKEN_MAX_TTL_MS, checkCallToken, mintCallToken, UsedCallTokens } from '../../../src/webrtc/call-token.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

const secret = randomBytes(32);
const claims = { tenantId: randomUUID(), agentId: randomUUID() };

test('a minted token checks out with its tenant and agent until it expires', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  const { token, expiresAtMs } = mintCallToken(secret, claims, now, 60_000);
  assert.is(expiresAtMs, now + 60_000);
  const checked = checkCallToken(secret, token, now + 59_000);
  assert.ok(checked.ok);
  if (checked.ok) {
    assert.is(checked.claims.tenantId, claims.tenantId);
    assert.is(checked.claims.agentId, claims.agentId);
  }
  assert.equal(checkCallToken(secret, token, now + 60_000), { ok: false, reason: 'expired' });
  // The lifetime is capped whatever is asked for.
  assert.is(mintCallToken(secret, claims, now, 24 * 3600_000).expiresAtMs, now + CALL_TOKEN_MAX_TTL_MS);
});

test('a token under another secret, tampered with or malformed is refused', () => {
  const { token } = mintCallToken(secret, claims);
  assert.equal(checkCallToken(randomBytes(32), token), { ok: false, reason: 'bad-signature' });
  const [payload, sig] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload!, 'base64url').toString()), agentId: randomUUID() })).toString('base64url');
  assert.equal(checkCallToken(secret, `${forged}.${sig}`), { ok: false, reason: 'bad-signature' });
  for (const bad of [undefined, 42, '', 'abc', `${token}.x`, 'x'.repeat(5000)]) assert.is(checkCallToken(secret, bad).ok, false, String(bad).slice(0, 20));
});

test('a widget token carries its page origin under the signature; an API token carries none', () => {
  const widget = mintCallToken(secret, { ...claims, origin: 'https://shop.example' });
  const checked = checkCallToken(secret, widget.token);
  assert.ok(checked.ok && checked.claims.origin === 'https://shop.example');
  const plain = checkCallToken(secret, mintCallToken(secret, claims).token);
  assert.ok(plain.ok && plain.claims.origin === undefined);
  // Rewriting the origin breaks the signature.
  const [payload, sig] = widget.token.split('.');
  const forged = Buffer.from(Buffer.from(payload!, 'base64url').toString('utf8').replace('shop.example', 'evil.example')).toString('base64url');
  assert.equal(checkCallToken(secret, `${forged}.${sig}`), { ok: false, reason: 'bad-signature' });
});

test('a token starts one call: its id is remembered until it expires', () => {
  const used = new UsedCallTokens();
  const now = Date.now();
  const first = checkCallToken(secret, mintCallToken(secret, claims, now, 60_000).token, now);
  const second = checkCallToken(secret, mintCallToken(secret, claims, now, 60_000).token, now);
  assert.ok(first.ok && second.ok);
  if (!first.ok || !second.ok) return;
  assert.ok(used.claim(first.claims, now));
  assert.not.ok(used.claim(first.claims, now + 1000), 'a replay is refused');
  assert.ok(used.claim(second.claims, now), 'another token of the same agent is its own');
  used.claim(second.claims, now + 61_000 + 1000);
  assert.is(used.size, 1, 'expired ids are forgotten');
});

for (const backend of await backends()) {
  test(`[${backend.name}] POST /v1/agents/:agentId/call-tokens: managers mint, viewers may not, the audit log has it without the token`, async () => {
    const db = await backend.open();
    const h = await apiHarness(db, { services: { callTokenSecret: secret } });
    try {
      const tenantId = await h.tenant();
      const agent = await createAgent(db, tenantId, { name: 'web', mode: 'echo' });
      const url = `/v1/agents/${agent.id}/call-tokens`;
      const minted = await h.app.inject({ method: 'POST', url, headers: { authorization: await h.bearer(tenantId, 'manager') }, payload: { ttlSeconds: 120 } });
      assert.is(minted.statusCode, 201, minted.body);
      const body = minted.json() as { token: string; expiresAt: string; agentId: string; callPath: string };
      const checked = checkCallToken(secret, body.token, h.clock().getTime());
      assert.ok(checked.ok && checked.claims.tenantId === tenantId && checked.claims.agentId === agent.id);
      assert.is(Date.parse(body.expiresAt), Math.floor((h.clock().getTime() + 120_000) / 1000) * 1000);
      assert.is(body.callPath, `/call/${agent.id}#token=${body.token}`);

      const viewer = await h.app.inject({ method: 'POST', url, headers: { authorization: await h.bearer(tenantId, 'viewer') }, payload: {} });
      assert.is(viewer.statusCode, 403);
      const otherTenant = await h.tenant('other');
      const foreign = await h.app.inject({ method: 'POST', url, headers: { authorization: await h.bearer(otherTenant, 'owner') }, payload: {} });
      assert.is(foreign.statusCode, 404, 'another tenant\'s agent is not found');
      const tooLong = await h.app.inject({ method: 'POST', url, headers: { authorization: await h.bearer(tenantId, 'owner') }, payload: { ttlSeconds: 86_400 } });
      assert.is(tooLong.statusCode, 400);

      const entries = (await listAudit(db, tenantId)).filter((e) => e.action === 'call-token.minted');
      assert.is(entries.length, 1);
      assert.is(entries[0]!.target, agent.id);
      assert.not.ok(JSON.stringify(entries).includes(body.token.split('.')[1]!), 'the token is not in the audit log');
    } finally {
      await h.close();
      await db.close();
    }
  });
}

test.run();
