/** ScriptedLanguageModel: script rules, echo fallback, word-by-word streaming, end_call on goodbye, abort. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DEMO_KEYPAD_MENU, keypadMenuText, keypadOnlyNotice, ScriptedLanguageModel } from '../../../pipeline/offline/index.ts';
import { AI_DISCLOSURE } from '../../../pipeline/conversation/index.ts';
import type { ChatMessage, LlmChunk, ToolSpec } from '../../../pipeline/providers/types.ts';

const endCall: ToolSpec = { name: 'end_call', description: 'Hang up', parameters: { type: 'object', properties: {} } };

async function collect(llm: ScriptedLanguageModel, messages: ChatMessage[], tools?: ToolSpec[], signal = new AbortController().signal): Promise<LlmChunk[]> {
  const out: LlmChunk[] = [];
  for await (const chunk of llm.chat({ messages, ...(tools ? { tools } : {}), signal })) out.push(chunk);
  return out;
}
const textOf = (chunks: LlmChunk[]): string => chunks.map((c) => (c.type === 'text' ? c.text : '')).join('');

test('a keyword rule answers, streamed one word per chunk, then done', async () => {
  const llm = new ScriptedLanguageModel();
  const chunks = await collect(llm, [
    { role: 'system', content: 'You are a restaurant host.' },
    { role: 'user', content: 'Hello, I would like to book a table for two.' },
  ]);
  assert.is(textOf(chunks), 'Of course. For how many people, and at what time?');
  const texts = chunks.filter((c) => c.type === 'text');
  assert.is(texts.length, 10);
  assert.equal(chunks[chunks.length - 1], { type: 'done', finishReason: 'stop' });
});

test('custom rules: keywords match whole words, case-insensitively, first rule wins', async () => {
  const llm = new ScriptedLanguageModel({
    rules: [
      { match: 'menu', reply: 'We have pasta.' },
      { match: /price/i, reply: 'Ten euros.' },
    ],
  });
  assert.is(textOf(await collect(llm, [{ role: 'user', content: 'What is on the MENU and the price?' }])), 'We have pasta.');
  assert.is(textOf(await collect(llm, [{ role: 'user', content: 'Any menus?' }])).startsWith('I heard you say'), true);
});

test('no rule matches: the echo fallback repeats the caller', async () => {
  const llm = new ScriptedLanguageModel({ rules: [] });
  const reply = textOf(await collect(llm, [{ role: 'user', content: 'purple elephants' }]));
  assert.is(reply, 'I heard you say "purple elephants". How can I help with that?');
});

test('the last user message is the one answered; no user message gets the greeting', async () => {
  const llm = new ScriptedLanguageModel({ greeting: 'Hi there.' });
  assert.is(textOf(await collect(llm, [{ role: 'system', content: 'x' }])), 'Hi there.');
  const reply = textOf(await collect(llm, [
    { role: 'user', content: 'book a table' },
    { role: 'assistant', content: 'For how many?' },
    { role: 'user', content: 'what are your opening hours' },
  ]));
  assert.match(reply, /open from noon/);
});

test('goodbye with an end_call tool: farewell, then the tool call', async () => {
  const llm = new ScriptedLanguageModel();
  const chunks = await collect(llm, [{ role: 'user', content: 'Thanks, goodbye!' }], [endCall]);
  assert.is(textOf(chunks), 'Thank you for calling. Goodbye!');
  const call = chunks.find((c) => c.type === 'tool_call');
  assert.ok(call && call.type === 'tool_call');
  assert.is(call.call.name, 'end_call');
  assert.equal(JSON.parse(call.call.arguments), { reason: 'caller_said_goodbye' });
  assert.equal(chunks[chunks.length - 1], { type: 'done', finishReason: 'tool_calls' });
});

test('goodbye without the tool offered: farewell only; after a tool result: nothing more to say', async () => {
  const llm = new ScriptedLanguageModel();
  const chunks = await collect(llm, [{ role: 'user', content: 'bye' }]);
  assert.is(chunks.some((c) => c.type === 'tool_call'), false);
  assert.equal(chunks[chunks.length - 1], { type: 'done', finishReason: 'stop' });
  const after = await collect(llm, [
    { role: 'user', content: 'bye' },
    { role: 'assistant', content: '', toolCalls: [{ id: 'a', name: 'end_call', arguments: '{}' }] },
    { role: 'tool', content: 'ok', toolCallId: 'a' },
  ], [endCall]);
  assert.equal(after, [{ type: 'done', finishReason: 'stop' }]);
});

test('keypad menu: 1 answers the opening hours, 2 the disclosure again, each followed by the menu', async () => {
  const llm = new ScriptedLanguageModel();
  const menu = keypadMenuText();
  assert.is(menu, 'Press 1 for our opening hours, 2 to hear about this assistant, or 3 to end the call.');
  assert.is(textOf(await collect(llm, [{ role: 'user', content: '[keypad] 1#' }], [endCall])), `We are open from noon until ten in the evening, every day. ${menu}`);
  // Without the terminator (the run ended on the inter-digit timeout) the same choice.
  const two = textOf(await collect(llm, [{ role: 'user', content: '[keypad] 2' }], [endCall]));
  assert.ok(two.startsWith(AI_DISCLOSURE), two);
  assert.ok(two.endsWith(menu));
});

test('keypad menu: 3 says the farewell and calls end_call; an unknown key gets the menu without the keys echoed', async () => {
  const llm = new ScriptedLanguageModel();
  const three = await collect(llm, [{ role: 'user', content: '[keypad] 3#' }], [endCall]);
  assert.is(textOf(three), 'Thank you for calling. Goodbye!');
  assert.is(three.find((c) => c.type === 'tool_call')?.type, 'tool_call');
  const unknown = textOf(await collect(llm, [{ role: 'user', content: '[keypad] 4711#' }], [endCall]));
  assert.is(unknown, `Sorry, that key is not on the menu. ${keypadMenuText()}`);
  assert.not.match(unknown, /4711/);
  // Speech still goes through the script; a menu can be turned off, then keys are answered like speech.
  assert.is(textOf(await collect(llm, [{ role: 'user', content: 'what are your opening hours' }])), 'We are open from noon until ten in the evening, every day.');
  const plain = new ScriptedLanguageModel({ keypadMenu: false });
  assert.match(textOf(await collect(plain, [{ role: 'user', content: '[keypad] 1#' }])), /^I heard you say/);
});

test('the keypad-only notice offers the menu (or plain typing without a menu)', () => {
  assert.ok(keypadOnlyNotice(DEMO_KEYPAD_MENU).endsWith(keypadMenuText()));
  assert.match(keypadOnlyNotice(DEMO_KEYPAD_MENU), /can't understand speech/);
  assert.match(keypadOnlyNotice(undefined), /press the hash key/);
});

test('abort stops the stream between words', async () => {
  const llm = new ScriptedLanguageModel({ wordDelayMs: 5 });
  const controller = new AbortController();
  const out: LlmChunk[] = [];
  for await (const chunk of llm.chat({ messages: [{ role: 'user', content: 'book a table' }], signal: controller.signal })) {
    out.push(chunk);
    if (out.length === 2) controller.abort();
  }
  assert.is(out.length, 2);
  assert.is(out.some((c) => c.type === 'done'), false);
});

test.run();
