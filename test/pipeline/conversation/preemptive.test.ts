/**
 * Preemptive generation: the answer starts on the STT's final while the VAD
 * hangover still runs. If the turn ends as it was heard, the prepared answer
 * is the reply (one LLM request, provider time hidden in the hangover); if
 * the caller goes on, the prepared answer is thrown away and nothing of it
 * reaches the caller, the history, the transcript or the recording.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeepgramTts } from '../../../pipeline/providers/index.ts';
import type { TextToSpeech } from '../../../pipeline/providers/types.ts';
import { speechPatternMs, synthesizeSpeechPattern } from '../../../tools/simulators/index.ts';
import { KEY, startHarness, type Harness } from './helpers.ts';

const SPECULATIVE = 'Speculative words that nobody may ever hear.';
const REAL = 'The real answer.';

/** A TTS that counts the audio chunks it has yielded per text. */
function countingTts(inner: TextToSpeech, yielded: Map<string, number>): TextToSpeech {
  return {
    name: inner.name,
    sampleRate: inner.sampleRate,
    async *synthesize(text, opts) {
      for await (const pcm of inner.synthesize(text, opts)) {
        yielded.set(text, (yielded.get(text) ?? 0) + 1);
        yield pcm;
      }
    },
  };
}

const playedMs = (h: Harness): number => h.transport.played.reduce((n, p) => n + p.samples, 0) / 8;

test('the caller resumes: the speculative answer never reaches the caller, the history, the transcript or the recording', async () => {
  const yielded = new Map<string, number>();
  const redactions: unknown[] = [];
  const h = await startHarness({
    pace: 'realtime',
    agent: { greeting: 'Hello.' },
    // A long hangover: the test waits (by polling) until the prepared answer has audio, then the caller goes on.
    settings: { turn: { hangoverMs: 3000 } },
    sims: {
      deepgramLive: { transcripts: ['i would like to book', 'a table for two tonight'] },
      // The first request is the speculative one; every later one (however many the turn takes) gets the real answer.
      openai: { replies: (_req, index) => (index === 0 ? SPECULATIVE : REAL) },
    },
    providers: (sims) => ({ tts: countingTts(new DeepgramTts({ apiKey: KEY, baseUrl: sims.deepgramSpeak.url, sampleRate: 16_000 }), yielded) }),
  });
  h.conversation.on('audio_redaction', (r) => redactions.push(r));
  try {
    await h.waitQuiet();
    const greetingMs = playedMs(h);
    const clearsBefore = h.transport.clears.length;
    h.transport.say(synthesizeSpeechPattern('i would like to book', 8000));
    await h.transport.waitFor(() => (yielded.get(SPECULATIVE) ?? 0) > 0, 30_000, 'the speculative answer to have audio');
    assert.is(playedMs(h), greetingMs, 'held, not played');
    assert.equal(h.turns.filter((t) => t.role === 'caller'), [], 'the turn is not over');

    h.transport.say(synthesizeSpeechPattern('a table for two tonight', 8000)); // the caller goes on
    await h.transport.waitFor(() => h.conversation.speculationCount.wasted > 0, 30_000, 'the speculation to be dropped');
    await h.transport.waitFor(() => h.turns.some((t) => t.role === 'agent' && t.redactedText === REAL), 30_000, 'the real answer');
    await h.waitQuiet();

    const spec = h.llm.calls.find((c) => c.messages.at(-1)?.content === 'i would like to book');
    assert.ok(spec, 'the answer was started on the first words');
    assert.ok(h.tts.calls.find((c) => c.text === SPECULATIVE)?.signal.aborted, 'its synthesis was aborted');
    const count = h.conversation.speculationCount;
    assert.ok(count.wasted >= 1 && count.wastedLlmRequests >= 1, JSON.stringify(count));

    // The caller heard the greeting and the real answer, nothing else (the recording is what the transport sent).
    const replyMs = playedMs(h) - greetingMs;
    assert.ok(Math.abs(replyMs - speechPatternMs(REAL)) <= 20, `played ${replyMs} ms after the greeting; the real answer is ${speechPatternMs(REAL)} ms`);
    assert.is(h.transport.clears.length, clearsBefore, 'nothing had to be cleared: nothing of it was queued');
    assert.not.ok(h.conversation.history.some((m) => m.content.includes('Speculative')), 'not in the history');
    assert.not.ok(h.turns.some((t) => t.redactedText.includes('Speculative')), 'not in the transcript');
    // What the STT makes of the rest depends on how long the pause was (same utterance, or the next one).
    const caller = h.turns.filter((t) => t.role === 'caller').map((t) => t.redactedText);
    assert.is(caller.length, 1, 'one caller turn');
    assert.ok(caller[0]!.startsWith('i would like to book'), caller[0]);
    const real = h.llm.calls.at(-1)!;
    assert.equal(real.messages.at(-1), { role: 'user', content: caller[0] });
    assert.not.ok(real.messages.some((m) => m.content.includes('Speculative')), 'the next request does not see it either');
    assert.equal(redactions, []);
  } finally {
    await h.close();
  }
});

test('the turn ends as heard: the prepared answer is the reply, one LLM request, its provider time hidden in the hangover', async () => {
  const h = await startHarness({
    pace: 'realtime',
    agent: { greeting: 'Hello.' },
    // A hangover long enough that the STT's final always comes within it; finalize well clear of the 60 ms word gaps.
    settings: { turn: { hangoverMs: 1500, finalizeAfterMs: 200 } },
    sims: { deepgramLive: { transcripts: ['what time do you open'] }, openai: { replies: ['We open at noon.'] } },
  });
  try {
    await h.waitQuiet();
    h.transport.say(synthesizeSpeechPattern('what time do you open', 8000));
    await h.transport.waitFor(() => h.traces.length > 0, 30_000, 'a trace');
    await h.waitQuiet();
    assert.equal(h.conversation.speculationCount, { started: 1, used: 1, wasted: 0, wastedLlmRequests: 0 });
    assert.is(h.llm.calls.length, 1, 'one LLM request');
    assert.not.ok(h.llm.calls[0]!.signal.aborted);
    const trace = h.traces[0]!;
    assert.ok(trace.preparedMs > 0, `provider time before the turn ended: ${trace.preparedMs} ms`);
    assert.ok(trace.e2eMs >= trace.endpointingMs, 'the answer waited for the hangover');
    const history = h.conversation.history.filter((m) => m.role !== 'system').map((m) => [m.role, m.content]);
    assert.equal(history.slice(-2), [['user', 'what time do you open'], ['assistant', 'We open at noon.']]);
    assert.equal(h.turns.map((t) => t.role), ['agent', 'caller', 'agent']);
  } finally {
    await h.close();
  }
});

test.run();
