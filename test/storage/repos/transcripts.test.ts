import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { addTranscriptTurn, createTenant, listTranscript, startCall, TranscriptTurnError } from '../../../storage/index.ts';
import { redact } from '../../../pipeline/redact/index.ts';
import { contentText } from '../../support/content-text.ts';
import { backends } from '../../support/databases.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const tenant = await createTenant(db, { name: 't' });
  const other = await createTenant(db, { name: 'o' });
  const call = await startCall(db, tenant.id, { agentId: null, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: randomUUID() });

  test(`[${backend.name}] turns store redacted text and entities, in order, per tenant`, async () => {
    const raw = 'my card is 4111 1111 1111 1111 and my email is john dot smith at gmail dot com';
    await addTranscriptTurn(db, tenant.id, { callId: call.id, seq: 2, speaker: 'agent', redacted: redact('thanks, anything else?') });
    await addTranscriptTurn(db, tenant.id, { callId: call.id, seq: 1, speaker: 'caller', redacted: redact(raw), latency: { e2eMs: 640 } });
    const turns = await listTranscript(db, tenant.id, call.id);
    assert.equal(turns.map((t) => t.seq), [1, 2]);
    assert.is(turns[0]!.redactedText, 'my card is [CARD] and my email is [EMAIL]');
    assert.equal(turns[0]!.entities, [{ type: 'CARD', start: 11, end: 17 }, { type: 'EMAIL', start: 34, end: 41 }]);
    assert.not.match(contentText(turns), /4111|smith|gmail/);
    assert.equal(turns[0]!.latency, { e2eMs: 640 });
    assert.is((await listTranscript(db, other.id, call.id)).length, 0);
  });

  test(`[${backend.name}] entities that do not point at their tags are refused`, async () => {
    try {
      await addTranscriptTurn(db, tenant.id, { callId: call.id, seq: 3, speaker: 'caller', redacted: { text: 'ssn 123-45-6789', entities: [{ type: 'SSN', start: 4, end: 15 }] } });
      assert.unreachable('should refuse');
    } catch (err) {
      assert.instance(err, TranscriptTurnError);
      assert.not.match((err as Error).message, /123-45/);
    }
  });

  test.after(() => backend.cleanup());
}

test.run();
