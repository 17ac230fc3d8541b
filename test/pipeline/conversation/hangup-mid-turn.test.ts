/**
 * The caller hangs up while their turn is still open (they said a card
 * number and the VAD's hangover had not run out): the STT flushes what it
 * has, and the words become the call's last caller turn, redacted, with the
 * card's audio span reported for silencing, before the conversation ends;
 * nobody answers it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AudioRedaction } from '../../../pipeline/conversation/index.ts';
import { synthesizeSpeechPattern } from '../../../tools/simulators/index.ts';
import { startHarness } from './helpers.ts';

const SENTENCE = 'my card number is 4111 1111 1111 1111';

test('a turn still open at hang-up is stored redacted and its PII span reported, before the end, unanswered', async () => {
  // A hangover far longer than the test waits: the turn cannot close by itself before the hang-up.
  const h = await startHarness({
    agent: { greeting: 'Hello.' }, settings: { vad: { threshold: 0.02 }, turn: { hangoverMs: 20_000 } }, pace: 'realtime',
    sims: { deepgramLive: { transcripts: () => SENTENCE }, openai: { replies: ['Thank you.'] } },
  });
  const events: string[] = [];
  const spans: AudioRedaction[] = [];
  h.conversation.on('audio_redaction', (s) => { spans.push(s); events.push('audio_redaction'); });
  h.conversation.on('turn', (t) => events.push(`turn:${t.role}`));
  h.conversation.on('end', () => events.push('end'));
  try {
    await h.waitQuiet();
    h.transport.say(synthesizeSpeechPattern(SENTENCE, 8000));
    // The sentence has been heard (the STT shows words for it), then the caller hangs up.
    await h.transport.waitFor(() => h.transport.scriptedMs === 0, 15_000, 'the sentence to be sent');
    assert.is(h.turns.filter((t) => t.role === 'caller').length, 0, 'the turn is still open');
    h.transport.callerHangup();
    const end = await h.running;
    assert.is(end.reason, 'caller_hangup');
    assert.equal(h.turns.filter((t) => t.role === 'caller').map((t) => t.redactedText), ['my card number is [CARD]']);
    const card = spans.filter((s) => s.source === 'caller');
    assert.is(card.length, 1);
    assert.is(card[0]!.type, 'CARD');
    assert.ok(card[0]!.endMs > card[0]!.startMs);
    assert.ok(events.indexOf('audio_redaction') < events.indexOf('end') && events.indexOf('turn:caller') < events.indexOf('end'), events.join(' '));
    // A preemptive answer may have started on the STT's final during the hangover: the hang-up aborted it.
    assert.ok(h.llm.calls.every((c) => c.signal.aborted), 'the last words are not answered');
    assert.is(h.turns.filter((t) => t.role === 'agent').length, 1, 'only the greeting was spoken');
  } finally {
    await h.close();
  }
});

test('a hang-up with no open turn ends the conversation at once, as before', async () => {
  const h = await startHarness({ agent: { greeting: 'Hello.' }, sims: { openai: { replies: ['Hi.'] } } });
  let ended = false;
  h.conversation.on('end', () => { ended = true; });
  try {
    await h.waitQuiet();
    h.transport.callerHangup();
    assert.ok(ended, 'the end is emitted in the hang-up');
    assert.is((await h.running).reason, 'caller_hangup');
  } finally {
    await h.close();
  }
});

test.run();
