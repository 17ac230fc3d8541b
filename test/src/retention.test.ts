import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent, createTenant, getRecording, listAudit, startCall, type Database } from '../../storage/index.ts';
import { startRetentionSweeper, sweepExpiredRecordings } from '../../src/retention.ts';
import { backends } from '../support/databases.ts';
import { recordingFixture, syntheticFrame, type RecordingFixture } from './recordings/support.ts';

const DAY = 86_400_000;

async function recordOne(db: Database, fx: RecordingFixture, tenantId: string, agent: { id: string; retentionDays: number | null }): Promise<string> {
  const call = await startCall(db, tenantId, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
  const recorder = fx.service.startCallRecording({ tenantId, callId: call.id, agent });
  for (let f = 0; f < 10; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
  await recorder.finish();
  return recorder.recordingId;
}

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);

  test(`[${backend.name}] the sweep deletes expired recordings (object and row) in every tenant and leaves the rest`, async () => {
    const t1 = await createTenant(db, { name: 't1' });           // 30 days
    const t2 = await createTenant(db, { name: 't2', plan: 'dental' }); // 90 days
    const short1 = await createAgent(db, t1.id, { name: 's', retentionDays: 1 });
    const plan1 = await createAgent(db, t1.id, { name: 'p' });
    const short2 = await createAgent(db, t2.id, { name: 's', retentionDays: 1 });
    const expiring = [
      { tenantId: t1.id, recordingId: await recordOne(db, fx, t1.id, short1) },
      { tenantId: t2.id, recordingId: await recordOne(db, fx, t2.id, short2) },
    ];
    const keeping = [{ tenantId: t1.id, recordingId: await recordOne(db, fx, t1.id, plan1) }];

    const nothingYet = await sweepExpiredRecordings({ db, store: fx.store });
    assert.is(nothingYet.deleted, 0);

    const result = await sweepExpiredRecordings({ db, store: fx.store, now: new Date(Date.now() + 2 * DAY), batch: 1 });
    assert.equal(result, { tenants: 2, deleted: 2, failed: 0, exportsExpired: 0 });
    for (const ref of expiring) {
      assert.is(await fx.store.stat(ref), null, 'object deleted');
      assert.is(await getRecording(db, ref.tenantId, ref.recordingId), undefined, 'row deleted');
    }
    for (const ref of keeping) {
      assert.ok(await fx.store.stat(ref), 'unexpired object kept');
      assert.ok(await getRecording(db, ref.tenantId, ref.recordingId), 'unexpired row kept');
    }
    const logged = (await listAudit(db, t1.id)).find((e) => e.action === 'recordings.expired');
    assert.equal(logged?.detail, { deleted: 1, failed: 0 });

    const later = await sweepExpiredRecordings({ db, store: fx.store, now: new Date(Date.now() + 31 * DAY) });
    assert.is(later.deleted, 1, 'the plan-retention recording goes after 30 days');
    assert.is(await fx.store.stat(keeping[0]!), null);
  });

  test(`[${backend.name}] the periodic sweeper runs on demand, never twice at once, and stops cleanly`, async () => {
    const sweeper = startRetentionSweeper({ db, store: fx.store, intervalMinutes: 60, firstRunMs: 3_600_000 });
    const [a, b] = [sweeper.runNow(), sweeper.runNow()];
    assert.is(a, b, 'a second request joins the sweep in progress');
    assert.is((await a).failed, 0);
    await sweeper.stop();
  });

  test.after(async () => {
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
