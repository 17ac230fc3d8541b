/**
 * Turns against the providers' bad-day behaviours, through the real adapters
 * and the conversation: an empty speech_final after the words' final closes
 * the turn on that signal; a "yes" seen only in an interim result is
 * answered; a socket that goes silent mid-utterance is replaced and the turn
 * still gets its words; an exhausted OpenAI quota is apologised for at once,
 * not retried.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { APOLOGY } from '../../../pipeline/conversation/index.ts';
import { DeepgramStt, type DeepgramSttOptions } from '../../../pipeline/providers/index.ts';
import type { SpeechToText, SttEvent, SttStream } from '../../../pipeline/providers/types.ts';
import { KEY, startHarness } from './helpers.ts';

/** Wraps an STT so every event it hands the conversation is logged, in order, beside the conversation's own events. */
function loggingStt(inner: SpeechToText, log: string[]): SpeechToText {
  return {
    name: inner.name,
    stream(opts): SttStream {
      const s = inner.stream(opts);
      return {
        push: (pcm) => s.push(pcm),
        finalize: () => s.finalize(),
        close: () => s.close(),
        events: () => ({
          async *[Symbol.asyncIterator](): AsyncIterator<SttEvent> {
            for await (const ev of s.events()) {
              log.push(ev.type === 'final' ? `final:${ev.text === '' ? 'empty' : 'words'}${ev.speechFinal ? ':speech_final' : ''}` : ev.type);
              yield ev;
            }
          },
        }),
      };
    },
  };
}

const LONG_REPLY =
  'Sure. We have a lovely terrace with a view of the river and the old town. ' +
  'In the evening we light candles on every table and a pianist plays until late. ' +
  'Our kitchen serves fresh pasta made every morning by our chef from Bologna.';

const deepgram = (url: string, o: Partial<DeepgramSttOptions> = {}): DeepgramStt => new DeepgramStt({ apiKey: KEY, baseUrl: url, ...o });

test('an empty speech_final after the words\' final closes the turn on that signal, not on a later utterance end', async () => {
  const log: string[] = [];
  const h = await startHarness({
    pace: 'realtime',
    // VAD stops after Deepgram's endpoint: the Finalize it triggers finds nothing buffered and gets no reply.
    settings: { turn: { hangoverMs: 500, sttFinalTimeoutMs: 8000, finalizeAfterMs: 500 } },
    sims: { deepgramLive: { transcripts: ['what time do you open tomorrow'], splitSpeechFinal: true, finalizeWhenIdle: 'silent' } },
    providers: (sims) => ({ stt: loggingStt(deepgram(sims.deepgramLive.url, { endpointingMs: 300, utteranceEndMs: 2500 }), log) }),
  });
  h.conversation.on('turn', (t) => {
    if (t.role === 'caller') log.push('turn');
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('what-time-open-8k.wav');
    await h.transport.waitFor(() => log.includes('turn') && log.includes('utterance_end'), 20_000, 'the turn and the utterance end');
    const turnAt = log.indexOf('turn');
    assert.ok(log.indexOf('final:empty:speech_final') >= 0 && log.indexOf('final:empty:speech_final') < turnAt, log.join(' '));
    assert.ok(turnAt < log.indexOf('utterance_end'), `the turn closed before the utterance end: ${log.join(' ')}`);
    assert.equal(h.llm.calls[0]!.messages.at(-1), { role: 'user', content: 'what time do you open tomorrow' });
  } finally {
    await h.close();
  }
});

test('a "yes" seen only in an interim result is answered', async () => {
  const h = await startHarness({
    pace: 'realtime',
    sims: {
      deepgramLive: { transcripts: ['yes'], interimIntervalMs: 100, interimOnlySegments: () => true },
      openai: { replies: ['Great, you are booked.'] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('yes-please-8k.wav');
    await h.transport.waitFor(() => h.llm.calls.length > 0, 15_000, 'the LLM to be asked');
    const said = h.llm.calls[0]!.messages.at(-1);
    assert.equal(said?.role, 'user');
    assert.match(String(said?.content), /^yes( yes)?$/);
  } finally {
    await h.close();
  }
});

test('a socket that stops answering mid-utterance is replaced and the turn still gets its words', async () => {
  const h = await startHarness({
    pace: 'realtime',
    settings: { turn: { sttFinalTimeoutMs: 8000 } },
    sims: { deepgramLive: { transcripts: ['what time do you open tomorrow'], socketFault: { kind: 'stall', afterMessages: 2 } } },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('what-time-open-8k.wav');
    await h.transport.waitFor(() => h.llm.calls.length > 0, 20_000, 'the LLM to be asked');
    assert.equal(h.llm.calls[0]!.messages.at(-1), { role: 'user', content: 'what time do you open tomorrow' });
    assert.is(h.sims.deepgramLive.stats.stalls, 1);
    assert.is(h.sims.deepgramLive.stats.connections, 2);
  } finally {
    await h.close();
  }
});

test('insufficient_quota: one request, then the apology and hang-up', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    sims: { deepgramLive: { transcripts: ['hello'] }, openai: { fault: { type: 'quota' } } },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('yes-please-8k.wav');
    await h.running;
    assert.equal(h.failures.map((f) => f.stage), ['llm']);
    assert.is(h.sims.openai.stats.chatRequests, 1, 'not retried');
    assert.equal(h.tts.calls.at(-1)?.text, APOLOGY);
    assert.equal(h.transport.hangups, ['llm_failure']);
  } finally {
    await h.close();
  }
});

test('caller speech over the agent is confirmed as a barge-in from voiced VAD time before any word arrives', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    // No word ever arrives for the interruption, and the plain duration rule is out of reach: only voiced time can confirm it.
    settings: { bargeIn: { maxUnrecognizedMs: 60_000 } },
    sims: {
      deepgramLive: { transcripts: (seg) => (seg.index === 0 ? 'tell me about the restaurant' : '') },
      openai: { replies: [LONG_REPLY] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('hello-book-table-8k.wav');
    await h.transport.waitFor(() => h.tts.calls.length >= 3 && h.transport.queuedMs() > 3000, 15_000, 'the reply to be queued');
    h.transport.pace = 'realtime';
    h.transport.sayFixture('what-time-open-8k.wav');
    await h.transport.waitFor(() => h.interrupts.length > 0, 15_000, 'a barge-in');
    assert.is(h.transport.clears.length, 1, 'playback cleared');
  } finally {
    await h.close();
  }
});

test.run();
