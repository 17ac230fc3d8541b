/**
 * A conversation against the provider simulators through the real adapters
 * (Deepgram live STT, OpenAI chat, Deepgram Aura TTS): the disclosure comes
 * first, a caller turn gets a spoken reply with a complete latency trace, and
 * transcripts leave the pipeline redacted.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AI_DISCLOSURE } from '../../../pipeline/conversation/index.ts';
import { contentText } from '../../support/content-text.ts';
import { assistantTexts, startHarness } from './helpers.ts';

test('the greeting begins with the AI disclosure, spoken first and first in history', async () => {
  const h = await startHarness({ agent: { greeting: 'Welcome to Bella Cucina. How can I help?' } });
  try {
    await h.waitQuiet();
    assert.equal(h.tts.calls[0]?.text, AI_DISCLOSURE);
    assert.ok(h.transport.played.length > 0);
    const first = h.conversation.history.find((m) => m.role === 'assistant');
    assert.ok(first?.content.startsWith(AI_DISCLOSURE), 'first assistant message starts with the disclosure');
    assert.equal(assistantTexts(h.conversation.history)[0], `${AI_DISCLOSURE} Welcome to Bella Cucina. How can I help?`);
    const agentTurn = h.turns.find((t) => t.role === 'agent');
    assert.ok(agentTurn?.redactedText.startsWith(AI_DISCLOSURE));
  } finally {
    await h.close();
  }
});

test('a greeting that already discloses is not disclosed twice', async () => {
  const h = await startHarness({ agent: { greeting: "Hello, I'm an AI assistant for Bella Cucina. How can I help?" } });
  try {
    await h.waitQuiet();
    const first = assistantTexts(h.conversation.history)[0] ?? '';
    assert.equal(first, "Hello, I'm an AI assistant for Bella Cucina. How can I help?");
    assert.not.ok(first.includes(AI_DISCLOSURE));
  } finally {
    await h.close();
  }
});

test('a caller turn gets a spoken reply and a latency trace with every field', async () => {
  const h = await startHarness({
    pace: 'realtime',
    sims: { deepgramLive: { transcripts: ['what time do you open tomorrow'] }, openai: { replies: ['We open at noon. See you then!'] } },
  });
  try {
    await h.waitQuiet();
    const playedBefore = h.transport.played.length;
    h.transport.sayFixture('what-time-open-8k.wav');
    await h.transport.waitFor(() => h.traces.length > 0, 15_000, 'a trace');
    await h.waitQuiet();
    const trace = h.traces[0]!;
    for (const field of ['endpointingMs', 'sttFinalMs', 'llmTtftMs', 'llmFirstSentenceMs', 'ttsTtfbMs', 'e2eMs', 'overheadMs'] as const) {
      assert.type(trace[field], 'number', field);
      assert.ok(Number.isFinite(trace[field]), field);
    }
    assert.ok(trace.endpointingMs >= 200, `endpointing includes the 200 ms hangover (${trace.endpointingMs})`);
    assert.ok(trace.e2eMs >= trace.endpointingMs, 'e2e covers endpointing');
    assert.ok(trace.overheadMs >= 0, `overhead is never negative (${trace.overheadMs})`);
    const parts = trace.endpointingMs + trace.sttFinalMs + trace.llmFirstSentenceMs + trace.ttsTtfbMs + trace.overheadMs - trace.preparedMs;
    // The parts tile e2e; only the clamp of a pacer stamp (at most one 20 ms tick) may separate them.
    assert.ok(Math.abs(trace.e2eMs - parts) <= 20.5, `e2e ${trace.e2eMs} vs parts ${parts}: ${JSON.stringify(trace)}`);
    assert.equal(trace.vadMissed, false);
    assert.ok(h.transport.played.length > playedBefore, 'agent audio played after the turn');
    const roles = h.turns.map((t) => t.role);
    assert.equal(roles, ['agent', 'caller', 'agent']);
    assert.equal(h.turns[1]!.redactedText, 'what time do you open tomorrow');
    assert.equal(h.turns[2]!.trace, trace);
    const lastUser = h.llm.calls[0]!.messages.at(-1);
    assert.equal(lastUser, { role: 'user', content: 'what time do you open tomorrow' });
    assert.equal(assistantTexts(h.conversation.history).at(-1), 'We open at noon. See you then!');
  } finally {
    await h.close();
  }
});

test('a reply whose playout start the transport never announces still gets its trace, from when its audio was queued, marked estimated', async () => {
  const h = await startHarness({
    sims: { deepgramLive: { transcripts: ['what time do you open tomorrow'] }, openai: { replies: ['We open at noon.'] } },
  });
  try {
    await h.waitQuiet();
    h.transport.announcePlayout = false;
    h.transport.sayFixture('what-time-open-8k.wav');
    await h.transport.waitFor(() => h.turns.length >= 3, 15_000, 'the agent\'s reply to play out');
    assert.is(h.traces.length, 1, 'one trace for the one caller turn');
    const trace = h.traces[0]!;
    assert.is(trace.playoutEstimated, true);
    assert.ok(Number.isFinite(trace.e2eMs) && trace.e2eMs >= trace.endpointingMs, JSON.stringify(trace));
    assert.equal(h.turns[2]!.trace, trace, 'the agent turn carries it');
  } finally {
    await h.close();
  }
});

test('transcripts leave the pipeline redacted: a card number comes out as [CARD]', async () => {
  const h = await startHarness({
    sims: {
      deepgramLive: { transcripts: ['my card number is 4111 1111 1111 1111'] },
      openai: { replies: ['Thanks, I have noted card 4111 1111 1111 1111.'] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('hello-book-table-8k.wav');
    await h.transport.waitFor(() => h.turns.filter((t) => t.role === 'agent').length >= 2, 15_000, 'the reply');
    const caller = h.turns.find((t) => t.role === 'caller')!;
    assert.ok(caller.redactedText.includes('[CARD]'), caller.redactedText);
    assert.not.ok(/4111/.test(caller.redactedText));
    assert.ok(caller.entities.some((e) => e.type === 'CARD'));
    const agent = h.turns.filter((t) => t.role === 'agent').at(-1)!;
    assert.not.ok(/4111/.test(agent.redactedText), 'agent turns are redacted too');
    assert.not.ok(contentText(h.turns).includes('4111'), contentText(h.turns));
  } finally {
    await h.close();
  }
});

test('a card number said across two caller turns is redacted in both', async () => {
  const h = await startHarness({
    // It counts LLM requests: the fixture's pause after "Hello." would start a speculative answer.
    settings: { turn: { finalizeAfterMs: 200 } },
    sims: {
      deepgramLive: { transcripts: ['my card number is 4111 1111', '1111 1111'] },
      openai: { replies: ['Go on.', 'Thank you.'] },
    },
  });
  try {
    await h.waitQuiet();
    h.transport.sayFixture('hello-book-table-8k.wav');
    await h.transport.waitFor(() => h.turns.filter((t) => t.role === 'agent').length >= 2, 15_000, 'the first reply');
    await h.waitQuiet();
    h.transport.sayFixture('what-time-open-8k.wav');
    await h.transport.waitFor(() => h.turns.filter((t) => t.role === 'caller').length >= 2, 15_000, 'the second caller turn');
    const caller = h.turns.filter((t) => t.role === 'caller').map((t) => t.redactedText);
    assert.equal(caller, ['my card number is [CARD]', '[CARD]']);
    await h.transport.waitFor(() => h.llm.calls.length === 2, 15_000, 'the second LLM call');
    assert.equal(h.llm.calls[1]!.messages.filter((m) => m.role === 'user').map((m) => m.content), ['my card number is 4111 1111', '1111 1111'], 'the LLM hears the words as said');
  } finally {
    await h.close();
  }
});

test.run();
