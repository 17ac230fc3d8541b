/**
 * Keypad input through the real conversation, with the OpenAI simulator behind
 * the real adapter: a run of keys ending in '#' (or a pause) is a caller turn
 * the LLM receives as "[keypad] <keys>", while the 'turn' event (what the call
 * record stores) carries it redacted; a key over the agent cuts it off.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { contentText } from '../../support/content-text.ts';
import { startHarness } from './helpers.ts';

const CARD = '4111111111111111';
const LONG_REPLY =
  'Sure. We have a lovely terrace with a view of the river and the old town. ' +
  'In the evening we light candles on every table and a pianist plays until late. ' +
  'Our kitchen serves fresh pasta made every morning by our chef from Bologna. ' +
  'Would you like me to tell you about the wine list as well?';

test('keys until # reach the LLM as one caller turn; the emitted turn is redacted', async () => {
  const h = await startHarness({ agent: { greeting: 'Hello.' }, sims: { openai: { replies: ['Thank you, I have your card.'] } } });
  try {
    await h.waitQuiet();
    h.transport.press(`${CARD}#`);
    await h.transport.waitFor(() => h.llm.calls.length === 1, 10_000, 'the LLM call');
    assert.equal(h.llm.calls[0]!.messages.at(-1), { role: 'user', content: `[keypad] ${CARD}#` });
    await h.transport.waitFor(() => h.sims.openai.stats.lastChatRequest !== null, 10_000, 'the simulator to receive the request');
    assert.is(h.sims.openai.stats.lastChatRequest!.messages.at(-1)?.content, `[keypad] ${CARD}#`, 'the simulator received the keys');
    const caller = h.turns.filter((t) => t.role === 'caller');
    assert.is(caller.length, 1);
    assert.is(caller[0]!.redactedText, '[keypad] [CARD]#');
    const e = caller[0]!.entities[0]!;
    assert.is(caller[0]!.redactedText.slice(e.start, e.end), '[CARD]');
    await h.transport.waitFor(() => h.turns.some((t) => t.role === 'agent' && /card/.test(t.redactedText) && !t.redactedText.startsWith('Hello')), 10_000, 'the reply');
    assert.not.ok(contentText(h.turns).includes('4111'), `no emitted turn holds the digits: ${contentText(h.turns)}`);
  } finally {
    await h.close();
  }
});

test('a menu choice ends with the inter-digit pause and stays as typed', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    settings: { keypad: { interDigitTimeoutMs: 300 } },
    sims: { openai: { replies: ['You chose opening hours.'] } },
  });
  try {
    await h.waitQuiet();
    h.transport.press('2');
    await h.transport.waitFor(() => h.llm.calls.length === 1, 10_000, 'the LLM call after the pause');
    assert.equal(h.llm.calls[0]!.messages.at(-1), { role: 'user', content: '[keypad] 2' });
    assert.is(h.turns.find((t) => t.role === 'caller')?.redactedText, '[keypad] 2');
  } finally {
    await h.close();
  }
});

test('a key pressed while the agent speaks interrupts it, like speech', async () => {
  const h = await startHarness({
    agent: { greeting: 'Hello.' },
    sims: { llmTokensPerSecond: 12, openai: { replies: [LONG_REPLY, 'Here is the wine list.'] } },
  });
  try {
    await h.waitQuiet();
    h.transport.press('1#');
    await h.transport.waitFor(() => h.llm.calls.length === 1 && h.tts.calls.length >= 3 && h.transport.queuedMs() > 0, 15_000, 'the reply to start');
    const sent = h.transport.sentMs;
    await h.transport.waitFor(() => h.transport.sentMs > sent + 400 && h.transport.queuedMs() > 0, 15_000, 'some of the reply to be heard');
    h.transport.press('3');
    await h.transport.waitFor(() => h.interrupts.length > 0, 10_000, 'a barge-in');
    assert.ok(h.transport.clears.length > 0, 'playback cleared');
    assert.ok(h.llm.calls[0]!.signal.aborted, 'the LLM request in flight was aborted');
    const replyTts = h.tts.calls.slice(2); // after the two greeting sentences
    assert.ok(replyTts.length > 0 && replyTts.every((c) => c.signal.aborted), 'TTS of the reply was aborted');
    h.transport.press('#');
    await h.transport.waitFor(() => h.llm.calls.length === 2, 10_000, 'the next LLM call');
    assert.equal(h.llm.calls[1]!.messages.at(-1), { role: 'user', content: '[keypad] 3#' });
  } finally {
    await h.close();
  }
});

test.run();
