import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createAgent, createTenant, getRecording, getTenant, listTenantIds, rows, startCall, withTenant, schema } from '../../../storage/index.ts';
import { KeyDestroyedError, decryptRecording } from '../../../storage/vault/index.ts';
import { eraseTenant } from '../../../src/recordings/index.ts';
import { backends } from '../../support/databases.ts';
import { chunked, rejection } from '../../storage/vault/support/helpers.ts';
import { recordingFixture, syntheticFrame } from './support.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);

  async function recordCall(tenantId: string): Promise<string> {
    const agent = await createAgent(db, tenantId, { name: `a-${crypto.randomUUID()}` });
    const call = await startCall(db, tenantId, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
    const recorder = fx.service.startCallRecording({ tenantId, callId: call.id, agent });
    for (let f = 0; f < 20; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
    await recorder.finish();
    return recorder.recordingId;
  }

  test(`[${backend.name}] tenant erase crypto-shreds: a copied recording no longer decrypts, rows and objects are gone, others untouched`, async () => {
    const doomed = await createTenant(db, { name: 'doomed' });
    const kept = await createTenant(db, { name: 'kept' });
    const r1 = await recordCall(doomed.id);
    const r2 = await recordCall(doomed.id);
    const k1 = await recordCall(kept.id);
    // A "backup": a copy of the ciphertext outside the store.
    const backup = join(fx.dataDir, 'backup.saxrec');
    await copyFile(fx.store.pathOf({ tenantId: doomed.id, recordingId: r1 }), backup);
    const before = await decryptRecording(chunked(await readFile(backup)), fx.vault.keys);
    assert.ok(before.pcm.length > 0, 'the backup decrypts before the erase');

    const erased = await eraseTenant(db, fx.vault, doomed.id, 'operator:test');
    assert.is(erased.recordings, 2);

    assert.instance(await rejection(decryptRecording(chunked(await readFile(backup)), fx.vault.keys)), KeyDestroyedError);
    for (const id of [r1, r2]) assert.is(await fx.store.stat({ tenantId: doomed.id, recordingId: id }), null);
    assert.is(await getTenant(db, doomed.id), undefined);
    assert.not.ok((await listTenantIds(db)).includes(doomed.id));
    for (const table of [schema.recordings, schema.calls, schema.agents, schema.auditLog, schema.apiKeys]) {
      assert.is((await withTenant(db, doomed.id, (tx) => tx.select().from(table))).length, 0);
    }
    const tombstones = await withTenant(db, doomed.id, (tx) => tx.select().from(schema.tenantKeys));
    assert.ok(tombstones.length >= 1 && tombstones.every((k) => k.wrappedKey === null && k.destroyedAt), 'keys kept only as destroyed tombstones');
    const events = rows<{ type: string; detail: { tenantId: string; recordings: number } }>(
      await db.owner.execute(sql`select type, detail from security_events where type = 'tenant.erased'`));
    assert.ok(events.some((e) => e.detail.tenantId === doomed.id && e.detail.recordings === 2));

    assert.ok(await getRecording(db, kept.id, k1));
    assert.ok((await fx.vault.read({ tenantId: kept.id, recordingId: k1 })).pcm.length > 0, 'other tenants still decrypt');
  });

  test(`[${backend.name}] erasing an unknown tenant is an error and destroys nothing`, async () => {
    const err = await rejection(eraseTenant(db, fx.vault, crypto.randomUUID(), 'operator:test'));
    assert.match((err as Error).message, /no tenant/);
  });

  test.after(async () => {
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
