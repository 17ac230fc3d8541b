/**
 * Barge-in against the simulators through the real adapters: caller speech
 * over the agent clears playback at once, aborts the LLM and TTS work in
 * flight and trims the history to what was heard; a backchannel ("mm-hmm")
 * or noise does not cut the agent off.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FRAME_MS } from '../../../media/audio/frames.ts';
import { assistantTexts, startHarness } from './helpers.ts';

const LONG_REPLY =
  'Sure. We have a lovely terrace with a view of the river and the old town. ' +
  'In the evening we light candles on every table and a pianist plays until late. ' +
  'Our kitchen serves fresh pasta made every morning by our chef from Bologna. ' +
  'Would you like me to tell you about the wine list as well?';

/**
 * These tests count LLM requests: the 150 ms pause after "Hello." in the
 * fixture would start a speculative answer (then thrown away), so the STT is
 * asked to finalize at VAD stop, as without preemptive generation.
 */
const NO_SPECULATION = { turn: { finalizeAfterMs: 200 } };

test('caller speech over the agent clears playback within a frame, aborts LLM and TTS, trims history', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    settings: NO_SPECULATION,
    sims: {
      llmTokensPerSecond: 12,
      deepgramLive: { transcripts: ['hello i would like to book a table', 'wait what time do you open'] },
      openai: { replies: [LONG_REPLY, 'We open at noon.'] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.pace = 'realtime';
    h.transport.sayFixture('hello-book-table-8k.wav');
    // the reply has started playing (its first sentence) while the LLM still streams
    await h.transport.waitFor(() => h.llm.calls.length === 1 && h.tts.calls.length >= 3 && h.transport.queuedMs() > 0, 15_000, 'the reply to start');
    h.transport.sayFixture('what-time-open-8k.wav');
    await h.transport.waitFor(() => h.interrupts.length > 0, 10_000, 'a barge-in');
    const interrupt = h.interrupts[0]!;
    const clear = h.transport.clears[0]!;
    assert.ok(clear, 'playback cleared');
    assert.ok(clear.lastFrameEndMs - interrupt.atMs <= FRAME_MS, `cleared ${clear.lastFrameEndMs - interrupt.atMs} ms after the decision`);
    assert.ok(h.llm.calls[0]!.signal.aborted, 'LLM request in flight was aborted');
    const replyTts = h.tts.calls.slice(2); // after the two greeting sentences
    assert.ok(replyTts.length > 0 && replyTts.every((c) => c.signal.aborted), 'TTS of the reply was aborted');
    const heard = assistantTexts(h.conversation.history)[1] ?? '';
    assert.ok(heard.length > 0 && heard.length < LONG_REPLY.length, `history keeps what was heard: "${heard}"`);
    const heardWords = heard.replace(/\.\.\.$/, '').split(' ');
    assert.equal(heardWords, LONG_REPLY.split(' ').slice(0, heardWords.length), 'heard text is a prefix of the reply');
    const agentTurn = h.turns.find((t) => t.role === 'agent' && t.interrupted);
    assert.ok(agentTurn, 'the interrupted agent turn is reported');
    // the interruption becomes the next turn and is answered
    await h.transport.waitFor(() => h.llm.calls.length === 2, 10_000, 'the next LLM call');
    assert.equal(h.llm.calls[1]!.messages.at(-1), { role: 'user', content: 'wait what time do you open' });
    assert.ok(h.llm.calls[1]!.messages.some((m) => m.role === 'assistant' && m.content === heard), 'the LLM sees the trimmed reply');
  } finally {
    await h.close();
  }
});

async function longReplyThen(caller: string, transcript: string): Promise<void> {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    settings: NO_SPECULATION,
    sims: {
      deepgramLive: { transcripts: ['tell me about the restaurant', transcript] },
      openai: { replies: [LONG_REPLY] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('hello-book-table-8k.wav');
    await h.transport.waitFor(() => h.tts.calls.length >= 4 && h.transport.queuedMs() > 3000, 15_000, 'the reply to be queued');
    h.transport.say(new Int16Array(8000 * 0.2));
    h.transport.sayFixture(caller);
    const sentBefore = h.transport.sentMs;
    await h.waitQuiet(20_000);
    assert.equal(h.interrupts.length, 0, 'no barge-in');
    assert.equal(h.transport.clears.length, 0, 'playback never cleared');
    assert.ok(h.transport.sentMs > sentBefore + 3000, 'the reply played on');
    assert.equal(assistantTexts(h.conversation.history).at(-1), LONG_REPLY, 'history keeps the whole reply');
    assert.equal(h.llm.calls.length, 1, 'no new turn for it');
    assert.equal(h.turns.filter((t) => t.role === 'caller').length, 1);
  } finally {
    await h.close();
  }
}

test('a backchannel (mm-hmm) over the agent does not interrupt', async () => {
  await longReplyThen('mm-hmm-8k.wav', 'mm-hmm');
});

test('noise over the agent does not interrupt', async () => {
  await longReplyThen('noise-8k.wav', '');
});

test.run();
