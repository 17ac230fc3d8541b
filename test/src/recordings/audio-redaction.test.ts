import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgent, createTenant, listCallEvents, startCall } from '../../../storage/index.ts';
import { audioRedactionFrom, AudioRedactionSettingsError, DEFAULT_AUDIO_REDACTION } from '../../../src/recordings/index.ts';
import { backends } from '../../support/databases.ts';
import { expectedStereo, recordingFixture, syntheticFrame } from './support.ts';

test('pii_audio_redaction: on by default, a boolean or an object, anything else refused with the setting named', () => {
  assert.equal(audioRedactionFrom({}), DEFAULT_AUDIO_REDACTION);
  assert.equal(audioRedactionFrom(null), DEFAULT_AUDIO_REDACTION);
  assert.is(audioRedactionFrom({ pii_audio_redaction: false }).enabled, false);
  assert.equal(audioRedactionFrom({ pii_audio_redaction: { holdMs: 5000 } }), { ...DEFAULT_AUDIO_REDACTION, holdMs: 5000 });
  assert.throws(() => audioRedactionFrom({ pii_audio_redaction: 'yes' }), (e: unknown) => e instanceof AudioRedactionSettingsError && /pii_audio_redaction/.test((e as Error).message));
  assert.throws(() => audioRedactionFrom({ pii_audio_redaction: { padMs: -1 } }), (e: unknown) => e instanceof AudioRedactionSettingsError && /padMs/.test((e as Error).message));
});

/** Frame indexes (20 ms) whose both legs are entirely silent. */
function silentFrames(pcm: Buffer): number[] {
  const out: number[] = [];
  for (let f = 0; f * 640 < pcm.length; f++) if (pcm.subarray(f * 640, (f + 1) * 640).every((b) => b === 0)) out.push(f);
  return out;
}

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);
  const tenant = await createTenant(db, { name: 'pci', plan: 'real-estate' });
  const agent = await createAgent(db, tenant.id, { name: 'a' });
  const newCall = async () => (await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() })).id;
  const frames = 250; // 5 s: frames start at t = 1000 ms (syntheticFrame)

  test(`[${backend.name}] a redaction silences its padded span in both legs, early or after the audio was sealed; the metadata lists the spans without content`, async () => {
    const callId = await newCall();
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId, agent, audioRedaction: { enabled: true, holdMs: 1000, padMs: 20 } });
    await recorder.ready;
    for (let f = 0; f < frames; f++) {
      recorder.caller(syntheticFrame('caller', f));
      recorder.agent(syntheticFrame('agent', f));
      if (f === 100) recorder.redactAudio({ type: 'CARD', source: 'caller', startMs: 1000 + 1500, endMs: 1000 + 1800 }); // 0.5 s old: in the window
    }
    recorder.redactAudio({ type: 'CVV', source: 'caller', startMs: 1000 + 200, endMs: 1000 + 300 }); // 4.7 s old: sealed, re-sealed
    const done = (await recorder.finish())!;
    assert.equal(done.mutedSpans, [
      { type: 'CARD', source: 'caller', startMs: 1480, endMs: 1820 },
      { type: 'CVV', source: 'caller', startMs: 180, endMs: 320 },
    ]);
    const read = await fx.vault.read({ tenantId: tenant.id, recordingId: recorder.recordingId });
    const expectedSilent = [...Array.from({ length: 7 }, (_, i) => 9 + i), ...Array.from({ length: 17 }, (_, i) => 74 + i)];
    assert.equal(silentFrames(read.pcm), expectedSilent);
    // Everything outside the padded spans is the audio as recorded.
    const expected = expectedStereo(frames);
    for (const f of expectedSilent) expected.fill(0, f * 640, (f + 1) * 640);
    assert.ok(read.pcm.equals(expected));
    const events = (await listCallEvents(db, tenant.id, callId)).filter((e) => e.type === 'recording_redactions');
    assert.is(events.length, 1);
    assert.equal(events[0]!.data, { recordingId: recorder.recordingId, spans: done.mutedSpans });
  });

  test(`[${backend.name}] overlapping pieces of one decision (an agent sentence's audio chunks) are listed as one span`, async () => {
    const callId = await newCall();
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId, agent, audioRedaction: { enabled: true, holdMs: 1000, padMs: 20 } });
    recorder.redactAudio({ type: 'CARD', source: 'agent', startMs: 1000 + 400, endMs: 1000 + 600 }); // before the recording is open
    await recorder.ready;
    for (let f = 0; f < 100; f++) {
      recorder.caller(syntheticFrame('caller', f));
      recorder.agent(syntheticFrame('agent', f));
    }
    recorder.redactAudio({ type: 'CARD', source: 'agent', startMs: 1000 + 600, endMs: 1000 + 800 });
    recorder.redactAudio({ type: 'CARD', source: 'caller', startMs: 1000 + 700, endMs: 1000 + 900 });
    const done = (await recorder.finish())!;
    assert.equal(done.mutedSpans, [
      { type: 'CARD', source: 'agent', startMs: 380, endMs: 820 },
      { type: 'CARD', source: 'caller', startMs: 680, endMs: 920 },
    ]);
    const read = await fx.vault.read({ tenantId: tenant.id, recordingId: recorder.recordingId });
    assert.equal(silentFrames(read.pcm), Array.from({ length: 27 }, (_, i) => 19 + i));
  });

  test(`[${backend.name}] with pii_audio_redaction off the audio is kept and nothing is listed`, async () => {
    const callId = await newCall();
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId, agent, audioRedaction: audioRedactionFrom({ pii_audio_redaction: false }) });
    await recorder.ready;
    for (let f = 0; f < frames; f++) {
      recorder.caller(syntheticFrame('caller', f));
      recorder.agent(syntheticFrame('agent', f));
    }
    recorder.redactAudio({ type: 'CARD', source: 'caller', startMs: 1000 + 1500, endMs: 1000 + 1800 });
    const done = (await recorder.finish())!;
    assert.equal(done.mutedSpans, []);
    const read = await fx.vault.read({ tenantId: tenant.id, recordingId: recorder.recordingId });
    assert.ok(read.pcm.equals(expectedStereo(frames)));
    assert.is((await listCallEvents(db, tenant.id, callId)).filter((e) => e.type === 'recording_redactions').length, 0);
  });

  test.after(async () => {
    await db.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
