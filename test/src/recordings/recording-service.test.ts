import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createAgent, createTenant, getRecording, listTranscript, startCall } from '../../../storage/index.ts';
import { HEADER_LENGTH } from '../../../storage/vault/index.ts';
import { openRecordingVault } from '../../../src/recordings/index.ts';
import { backends } from '../../support/databases.ts';
import { expectedStereo, recordingFixture, syntheticFrame } from './support.ts';

const DAY = 86_400_000;

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);
  const tenant = await createTenant(db, { name: 'svc', plan: 'real-estate' });
  const agent = await createAgent(db, tenant.id, { name: 'a' });
  const shortAgent = await createAgent(db, tenant.id, { name: 'b', retentionDays: 3 });
  const newCall = async () => (await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() })).id;

  test(`[${backend.name}] synthetic frames of both legs record into two channels; the row is created at start and completed at the end`, async () => {
    const callId = await newCall();
    const before = Date.now();
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId, agent });
    // Frames arrive at once, before the recording is open: they are held, then written.
    const frames = 150; // 3 s: more than one 64 KiB chunk
    for (let f = 0; f < frames; f++) {
      recorder.caller(syntheticFrame('caller', f));
      recorder.agent(syntheticFrame('agent', f));
    }
    await recorder.ready;
    const open = (await getRecording(db, tenant.id, recorder.recordingId))!;
    assert.ok(open, 'row exists while recording');
    assert.is(open.completedAt, null);
    assert.is(open.callId, callId);
    assert.is(open.objectKey, `${tenant.id}/${recorder.recordingId}`);
    const days = (open.retainUntil.getTime() - before) / DAY;
    assert.ok(days > 364.99 && days < 365.01, `plan retention, got ${days} days`);

    const done = (await recorder.finish())!;
    assert.is(done.durationMs, 3000);
    assert.is(done.cutShort, false);
    assert.is(recorder.droppedFrames, 0);
    const row = (await getRecording(db, tenant.id, recorder.recordingId))!;
    assert.ok(row.completedAt);
    const file = fx.store.pathOf({ tenantId: tenant.id, recordingId: recorder.recordingId });
    const bytes = await readFile(file);
    assert.is(row.sizeBytes, bytes.length);
    assert.is(row.sha256, createHash('sha256').update(bytes.subarray(HEADER_LENGTH)).digest('hex'));
    assert.is(row.keyId, (await fx.vault.readHeader({ tenantId: tenant.id, recordingId: recorder.recordingId })).keyId);
    assert.is((await stat(file)).mode & 0o777, 0o600);

    const expected = expectedStereo(frames);
    assert.is(bytes.indexOf(expected.subarray(0, 64)), -1, 'no plaintext on disk');
    const read = await fx.vault.read({ tenantId: tenant.id, recordingId: recorder.recordingId });
    assert.is(read.header.channels, 2);
    assert.ok(read.pcm.equals(expected), 'decrypted audio equals what was recorded');
    assert.is(await recorder.finish(), done, 'finish is idempotent');
  });

  test(`[${backend.name}] the agent's retention days override the plan; late frames after finish are dropped, not thrown`, async () => {
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: await newCall(), agent: shortAgent });
    recorder.caller(syntheticFrame('caller', 0));
    const done = (await recorder.finish())!;
    const days = (done.retainUntil.getTime() - Date.now()) / DAY;
    assert.ok(days > 2.99 && days <= 3, `agent retention, got ${days}`);
    recorder.caller(syntheticFrame('caller', 1));
    assert.is(recorder.droppedFrames, 1);
  });

  test(`[${backend.name}] frames at another sample rate are resampled into the recording`, async () => {
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: await newCall(), agent });
    await recorder.ready;
    for (let f = 0; f < 50; f++) {
      recorder.caller(syntheticFrame('caller', f));
      recorder.agent({ ...syntheticFrame('agent', f, 16000), timeMs: 1000 + f * 20 });
    }
    const done = (await recorder.finish())!;
    assert.is(done.durationMs, 1000);
    const read = await fx.vault.read({ tenantId: tenant.id, recordingId: recorder.recordingId });
    assert.is(read.pcm.length, 50 * 160 * 4);
  });

  test(`[${backend.name}] a recording that cannot start resolves finish() with null and never throws into the media path`, async () => {
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: crypto.randomUUID(), agent }); // no such call: FK fails
    recorder.caller(syntheticFrame('caller', 0));
    await recorder.ready.catch(() => undefined);
    recorder.agent(syntheticFrame('agent', 0));
    assert.is(await recorder.finish(), null);
    assert.is(await fx.store.stat({ tenantId: tenant.id, recordingId: recorder.recordingId }), null, 'object removed again');
  });

  test(`[${backend.name}] transcript turns are redacted before they are stored`, async () => {
    const callId = await newCall();
    await fx.service.addTranscriptTurn({ tenantId: tenant.id, callId, seq: 1, speaker: 'caller', text: 'my social is one two three four five six seven eight nine' });
    const [turn] = await listTranscript(db, tenant.id, callId);
    assert.is(turn!.redactedText, 'my social is [SSN]');
    assert.equal(turn!.entities, [{ type: 'SSN', start: 13, end: 18 }]);
  });

  test(`[${backend.name}] the link secret comes from the master key: stable across restarts, different per master`, async () => {
    const again = await openRecordingVault({ SMARTALEX_DATA_DIR: fx.dataDir, SMARTALEX_MASTER_KEY: undefined }, db);
    assert.ok(again.linkSecret.equals(fx.linkSecret));
    const other = await openRecordingVault({ SMARTALEX_DATA_DIR: fx.dataDir, SMARTALEX_MASTER_KEY: Buffer.alloc(32, 7).toString('base64') }, db);
    assert.not.ok(other.linkSecret.equals(fx.linkSecret));
    assert.is(other.linkSecret.length, 32);
  });

  test.after(async () => {
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
