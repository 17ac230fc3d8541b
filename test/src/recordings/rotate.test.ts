import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import {
  addNumber, confirmTotp, createAgent, createTenant, getNumberCarrier, getRecording, getUser, getWebhookEndpoint, insertUser, listAudit, setNumberCarrier, setPendingTotp, startCall,
  totpSealLabel, withTenant,
} from '../../../storage/index.ts';
import { createWebhookEndpoint, rotateWebhookSecret, signingSecrets } from '../../../src/webhooks/index.ts';
import { HEADER_LENGTH } from '../../../storage/vault/index.ts';
import { rotateTenantRecordingKey } from '../../../src/recordings/index.ts';
import { backends } from '../../support/databases.ts';
import { expectedStereo, recordingFixture, syntheticFrame } from './support.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);
  const tenant = await createTenant(db, { name: 'rot' });
  const agent = await createAgent(db, tenant.id, { name: 'a' });

  async function recordCall(): Promise<string> {
    const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: call.id, agent });
    for (let f = 0; f < 120; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
    await recorder.finish();
    return recorder.recordingId;
  }

  test(`[${backend.name}] tenant key rotation re-wraps every recording without re-encrypting audio`, async () => {
    const ids = [await recordCall(), await recordCall()];
    const before = await Promise.all(ids.map((id) => readFile(fx.store.pathOf({ tenantId: tenant.id, recordingId: id }))));
    const oldKey = (await getRecording(db, tenant.id, ids[0]!))!.keyId;

    const rotated = await rotateTenantRecordingKey(db, fx.vault, tenant.id, 'operator:test');
    assert.is(rotated.version, 2);
    assert.is(rotated.rewrapped, 2);
    assert.is.not(rotated.keyId, oldKey);
    for (const [i, id] of ids.entries()) {
      const ref = { tenantId: tenant.id, recordingId: id };
      const after = await readFile(fx.store.pathOf(ref));
      assert.ok(after.subarray(HEADER_LENGTH).equals(before[i]!.subarray(HEADER_LENGTH)), 'audio chunk bytes unchanged');
      assert.is((await fx.vault.readHeader(ref)).keyId, rotated.keyId);
      assert.is((await getRecording(db, tenant.id, id))!.keyId, rotated.keyId, 'row follows the header');
      assert.ok((await fx.vault.read(ref)).pcm.equals(expectedStereo(120)), 'still decrypts to the same audio');
    }
    const fresh = await recordCall();
    assert.is((await getRecording(db, tenant.id, fresh))!.keyId, rotated.keyId, 'new recordings use the new version');
    assert.ok((await listAudit(db, tenant.id)).some((e) => e.action === 'tenant.key.rotated' && e.actor === 'operator:test'));
  });

  test(`[${backend.name}] tenant key rotation re-seals numbers' carrier credentials, which still unseal after the old version is retired`, async () => {
    const other = await createTenant(db, { name: 'rot-carrier' });
    const otherAgent = await createAgent(db, other.id, { name: 'a' });
    const number = await addNumber(db, other.id, { number: `rot-${backend.name}`, agentId: otherAgent.id, allowedCidrs: [] });
    await setNumberCarrier(db, fx.vault.keys, other.id, number.id, 'twilio', 'twilio-auth-token-rotating');
    const rotated = await rotateTenantRecordingKey(db, fx.vault, other.id, 'operator:test');
    assert.is(rotated.carrierCredentialsResealed, 1);
    assert.equal(rotated.carrierCredentialsFailed, []);
    assert.is(rotated.retired.length, 1, 'the old version could be retired');
    assert.equal(await getNumberCarrier(db, fx.vault.keys, other.id, number.id), { carrier: 'twilio', credential: 'twilio-auth-token-rotating' });
  });

  test(`[${backend.name}] tenant key rotation re-seals TOTP secrets (confirmed and pending) and webhook secrets (current and previous): all still unseal after the old version is retired`, async () => {
    const other = await createTenant(db, { name: 'rot-secrets' });
    const keys = fx.vault.keys;
    const user = (await withTenant(db, other.id, (tx) => insertUser(tx, { tenantId: other.id, email: `rot-${backend.name}@example.com`, role: 'owner' })))!;
    const seal = (text: string) => keys.sealTenantSecret(other.id, totpSealLabel(user.id), Buffer.from(text));
    const confirmed = await seal('JBSWY3DPEHPK3PXP');
    await withTenant(db, other.id, async (tx) => { await setPendingTotp(tx, user.id, confirmed.sealed, confirmed.keyId); await confirmTotp(tx, user.id, 1); });
    const pending = await seal('KRSXG5CTMVRXEZLU');
    await withTenant(db, other.id, (tx) => setPendingTotp(tx, user.id, pending.sealed, pending.keyId));
    const { endpoint, secret: firstSecret } = await createWebhookEndpoint(db, keys, other.id, { url: 'https://hooks.example.com/rot', eventTypes: ['call.ended'], actor: 'test' });
    const rotatedSecret = await rotateWebhookSecret(db, keys, other.id, endpoint.id, { actor: 'test', overlapMs: 3_600_000 });

    const rotated = await rotateTenantRecordingKey(db, fx.vault, other.id, 'operator:test');
    assert.is(rotated.secretsResealed, 4);
    assert.equal(rotated.secretsFailed, []);
    assert.is(rotated.retired.length, 1, 'the old version could be retired');

    const row = (await withTenant(db, other.id, (tx) => getUser(tx, user.id)))!;
    assert.is(row.totpKeyId, rotated.keyId);
    assert.is(row.totpPendingKeyId, rotated.keyId);
    assert.is((await keys.unsealTenantSecret(other.id, totpSealLabel(user.id), row.totpKeyId!, row.totpSecretSealed!)).toString(), 'JBSWY3DPEHPK3PXP');
    assert.is((await keys.unsealTenantSecret(other.id, totpSealLabel(user.id), row.totpPendingKeyId!, row.totpPendingSealed!)).toString(), 'KRSXG5CTMVRXEZLU');
    const stored = (await getWebhookEndpoint(db, other.id, endpoint.id))!;
    assert.is(stored.secretKeyId, rotated.keyId);
    assert.is(stored.previousSecretKeyId, rotated.keyId);
    assert.equal(await signingSecrets(keys, other.id, endpoint.id, stored, new Date()), [rotatedSecret!.secret, firstSecret]);
  });

  test.after(async () => {
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
