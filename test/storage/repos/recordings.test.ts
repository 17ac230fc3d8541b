import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import {
  completeRecording, createAgent, createRecording, createTenant, deleteCallWithRecordings, deleteContactWithRecordings,
  deleteRecording, getRecording, listExpiredRecordings, listRecordings, listTranscript, retentionDaysFor, startCall,
  withTenant, schema, addTranscriptTurn, type Database,
} from '../../../storage/index.ts';
import { MemoryObjectStore } from '../../../storage/vault/index.ts';
import { backends } from '../../support/databases.ts';

const DAY = 86_400_000;

async function newCall(db: Database, tenantId: string): Promise<string> {
  const call = await startCall(db, tenantId, { agentId: null, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:1000@y', sipCallId: randomUUID() });
  return call.id;
}

async function storedRecording(db: Database, objects: MemoryObjectStore, tenantId: string, input: { callId: string | null; contactId?: string; retainUntil?: Date }): Promise<string> {
  const id = randomUUID();
  const handle = await objects.create({ tenantId, recordingId: id });
  await handle.append(Buffer.from('ciphertext'));
  await handle.close();
  await createRecording(db, tenantId, {
    id, callId: input.callId, contactId: input.contactId ?? null, objectKey: `${tenantId}/${id}`, keyId: 'tk1-x',
    retainUntil: input.retainUntil ?? new Date(Date.now() + DAY),
  });
  return id;
}

for (const backend of await backends()) {
  const db = await backend.open();
  const objects = new MemoryObjectStore();
  const tenant = await createTenant(db, { name: 'rec', plan: 'dental' });
  const other = await createTenant(db, { name: 'other' });

  test(`[${backend.name}] retention days: the agent's override, else the tenant plan's`, async () => {
    assert.is(await retentionDaysFor(db, tenant.id, null), 90);
    assert.is(await retentionDaysFor(db, tenant.id, 7), 7);
    assert.is(await retentionDaysFor(db, other.id, undefined), 30);
  });

  test(`[${backend.name}] a recording row is created, completed, listed and invisible to other tenants`, async () => {
    const callId = await newCall(db, tenant.id);
    const id = await storedRecording(db, objects, tenant.id, { callId });
    const started = (await getRecording(db, tenant.id, id))!;
    assert.is(started.completedAt, null);
    assert.is(started.sizeBytes, 0);
    await completeRecording(db, tenant.id, id, { sizeBytes: 1234, sha256: 'ab'.repeat(32), durationMs: 2000, cutShort: false });
    const done = (await getRecording(db, tenant.id, id))!;
    assert.is(done.sizeBytes, 1234);
    assert.is(done.durationMs, 2000);
    assert.ok(done.completedAt);
    assert.equal((await listRecordings(db, tenant.id, { callId })).map((r) => r.id), [id]);
    assert.is(await getRecording(db, other.id, id), undefined);
  });

  test(`[${backend.name}] expired recordings are listed by deadline; deleteRecording removes object and row`, async () => {
    const old = await storedRecording(db, objects, tenant.id, { callId: null, retainUntil: new Date(Date.now() - DAY) });
    const fresh = await storedRecording(db, objects, tenant.id, { callId: null, retainUntil: new Date(Date.now() + DAY) });
    const expired = (await listExpiredRecordings(db, tenant.id, new Date())).map((r) => r.id);
    assert.ok(expired.includes(old));
    assert.not.ok(expired.includes(fresh));
    assert.is(await deleteRecording(db, objects, tenant.id, old), true);
    assert.is(await objects.stat({ tenantId: tenant.id, recordingId: old }), null);
    assert.is(await getRecording(db, tenant.id, old), undefined);
    assert.ok(await objects.stat({ tenantId: tenant.id, recordingId: fresh }));
    assert.is(await deleteRecording(db, objects, other.id, fresh), false, 'another tenant cannot delete it');
  });

  test(`[${backend.name}] deleting a call deletes its recordings (objects and rows) and transcript, nothing else`, async () => {
    const callId = await newCall(db, tenant.id);
    const keepCall = await newCall(db, tenant.id);
    const r1 = await storedRecording(db, objects, tenant.id, { callId });
    const r2 = await storedRecording(db, objects, tenant.id, { callId });
    const kept = await storedRecording(db, objects, tenant.id, { callId: keepCall });
    await addTranscriptTurn(db, tenant.id, { callId, seq: 1, speaker: 'caller', redacted: { text: 'my card is [CARD]', entities: [{ type: 'CARD', start: 11, end: 17 }] } });
    const result = await deleteCallWithRecordings(db, objects, tenant.id, callId);
    assert.equal(result, { deleted: true, recordings: 2 });
    for (const id of [r1, r2]) {
      assert.is(await objects.stat({ tenantId: tenant.id, recordingId: id }), null);
      assert.is(await getRecording(db, tenant.id, id), undefined);
    }
    assert.is((await listTranscript(db, tenant.id, callId)).length, 0);
    assert.ok(await getRecording(db, tenant.id, kept));
    assert.ok(await objects.stat({ tenantId: tenant.id, recordingId: kept }));
    assert.equal(await deleteCallWithRecordings(db, objects, other.id, keepCall), { deleted: false, recordings: 0 }, 'not across tenants');
    assert.ok(await getRecording(db, tenant.id, kept));
  });

  test(`[${backend.name}] deleting a contact deletes the recordings made with it`, async () => {
    const [contact] = await withTenant(db, tenant.id, (tx) => tx.insert(schema.contacts).values({ tenantId: tenant.id, phone: '+14152100' }).returning());
    const callId = await newCall(db, tenant.id);
    const withContact = await storedRecording(db, objects, tenant.id, { callId, contactId: contact!.id });
    const without = await storedRecording(db, objects, tenant.id, { callId });
    assert.equal(await deleteContactWithRecordings(db, objects, tenant.id, contact!.id), { deleted: true, recordings: 1 });
    assert.is(await objects.stat({ tenantId: tenant.id, recordingId: withContact }), null);
    assert.is(await getRecording(db, tenant.id, withContact), undefined);
    assert.ok(await getRecording(db, tenant.id, without));
    const left = await withTenant(db, tenant.id, (tx) => tx.select().from(schema.contacts));
    assert.not.ok(left.some((c) => c.id === contact!.id));
  });

  test.after(() => backend.cleanup());
}

test.run();
