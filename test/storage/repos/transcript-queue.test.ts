/**
 * Queued transcript turns (storage/repos/transcript-queue.ts): written in one
 * statement when the call is finished, in finishCall's own transaction, or
 * after the flush interval; late turns of a finished call are written at once.
 */
import { randomUUID } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { redact } from '../../../pipeline/redact/index.ts';
import { createTenant, finishCall, getCall, listTranscript, queueTranscriptTurn, startCall, transcriptQueue } from '../../../storage/index.ts';
import { backends } from '../../support/databases.ts';
import { waitFor } from '../../support/poll.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const tenant = await createTenant(db, { name: 't' });
  const newCall = async (): Promise<string> =>
    (await startCall(db, tenant.id, { agentId: null, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: randomUUID() })).id;

  test(`[${backend.name}] queued turns are written by finishCall, together, and a call read as ended has them`, async () => {
    const callId = await newCall();
    const written = [1, 2, 3].map((seq) => queueTranscriptTurn(db, tenant.id, { callId, seq, speaker: seq % 2 ? 'caller' : 'agent', redacted: redact(`turn ${seq}`) }));
    assert.is((await listTranscript(db, tenant.id, callId)).length, 0, 'nothing written before the call ends');
    await finishCall(db, tenant.id, callId, { reason: 'bye' });
    assert.is((await getCall(db, tenant.id, callId))!.state, 'ended');
    assert.equal((await listTranscript(db, tenant.id, callId)).map((t) => [t.seq, t.redactedText]), [[1, 'turn 1'], [2, 'turn 2'], [3, 'turn 3']]);
    const rows = await Promise.all(written);
    assert.equal(rows.map((r) => r.seq), [1, 2, 3]);
    // A turn reported after the call ended is written at once.
    const late = await queueTranscriptTurn(db, tenant.id, { callId, seq: 4, speaker: 'agent', redacted: redact('goodbye') });
    assert.is(late.seq, 4);
    assert.is((await listTranscript(db, tenant.id, callId)).length, 4);
  });

  test(`[${backend.name}] a long call's queued turns are written after the flush interval`, async () => {
    const queue = transcriptQueue(db);
    const before = queue.flushAfterMs;
    queue.flushAfterMs = 50;
    try {
      const callId = await newCall();
      void queueTranscriptTurn(db, tenant.id, { callId, seq: 1, speaker: 'caller', redacted: redact('still talking') });
      await waitFor('the queued turn to be written', async () => (await listTranscript(db, tenant.id, callId)).length === 1);
      await finishCall(db, tenant.id, callId, { reason: 'bye' });
      assert.is((await listTranscript(db, tenant.id, callId)).length, 1, 'not written twice');
    } finally {
      queue.flushAfterMs = before;
    }
  });

  test(`[${backend.name}] unredacted-looking turns are refused when queued`, async () => {
    const callId = await newCall();
    try {
      await queueTranscriptTurn(db, tenant.id, { callId, seq: 1, speaker: 'caller', redacted: { text: 'ssn 123-45-6789', entities: [{ type: 'SSN', start: 4, end: 15 }] } });
      assert.unreachable('should refuse');
    } catch (error) {
      assert.match((error as Error).message, /offsets/);
    }
  });

  test.after(async () => {
    await db.close();
    await backend.cleanup();
  });
}

test.run();
