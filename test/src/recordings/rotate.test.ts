import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFile } from 'node:fs/promises';
import { addNumber, createAgent, createTenant, getNumberCarrier, getRecording, listAudit, setNumberCarrier, startCall } from '../../../storage/index.ts';
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

  test.after(async () => {
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
