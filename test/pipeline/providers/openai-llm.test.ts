import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpenAiLlm } from '../../../pipeline/providers/openai-llm.ts';
import { ProviderError, type LlmChunk } from '../../../pipeline/providers/types.ts';
import { startOpenAiSimulator } from '../../../tools/simulators/openai-chat.ts';
import { waitFor } from '../../support/poll.ts';

const KEY = 'sk-test-secret-key-0123456789abcdef';

async function collect(it: AsyncIterable<LlmChunk>): Promise<LlmChunk[]> {
  const out: LlmChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

test('streams text deltas then done, through the openai SDK', async () => {
  const sim = await startOpenAiSimulator({ apiKey: KEY, replies: ['Hello there. How can I help you today?'] });
  const llm = new OpenAiLlm({ apiKey: KEY, baseUrl: sim.baseUrl, model: 'gpt-test' });
  try {
    const chunks = await collect(llm.chat({ messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], signal: new AbortController().signal }));
    const texts = chunks.flatMap((c) => (c.type === 'text' ? [c.text] : []));
    assert.ok(texts.length > 3, 'text arrives in several deltas');
    assert.is(texts.join(''), 'Hello there. How can I help you today?');
    assert.equal(chunks.at(-1), { type: 'done', finishReason: 'stop' });
    assert.is(sim.stats.lastChatRequest?.model, 'gpt-test');
    assert.is(sim.stats.lastChatRequest?.messages.length, 2);
  } finally {
    await sim.close();
  }
});

test('assembles streamed tool-call deltas into complete calls with parseable JSON arguments', async () => {
  const sim = await startOpenAiSimulator({
    replies: [{ text: 'Let me check.', toolCalls: [
      { name: 'book_table', arguments: { party: 2, time: '19:30', note: 'window seat, please' } },
      { name: 'lookup', arguments: { q: 'x' } },
    ] }],
  });
  const llm = new OpenAiLlm({ apiKey: KEY, baseUrl: sim.baseUrl });
  try {
    const chunks = await collect(llm.chat({
      messages: [{ role: 'user', content: 'book' }],
      tools: [{ name: 'book_table', description: 'Book a table', parameters: { type: 'object', properties: {} } }],
      signal: new AbortController().signal,
    }));
    const calls = chunks.flatMap((c) => (c.type === 'tool_call' ? [c.call] : []));
    assert.is(calls.length, 2);
    assert.is(calls[0]?.name, 'book_table');
    assert.ok(calls[0]?.id.startsWith('call_'));
    assert.equal(JSON.parse(calls[0]!.arguments), { party: 2, time: '19:30', note: 'window seat, please' });
    assert.is(calls[1]?.name, 'lookup');
    assert.equal(chunks.at(-1), { type: 'done', finishReason: 'tool_calls' });
    assert.is(sim.stats.lastChatRequest?.tools?.[0]?.function.name, 'book_table');
  } finally {
    await sim.close();
  }
});

test('history with tool calls and tool results is sent in OpenAI form', async () => {
  const sim = await startOpenAiSimulator({ replies: ['ok'] });
  const llm = new OpenAiLlm({ apiKey: KEY, baseUrl: sim.baseUrl });
  try {
    await collect(llm.chat({
      messages: [
        { role: 'user', content: 'book' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'book_table', arguments: '{"party":2}' }] },
        { role: 'tool', content: '{"ok":true}', toolCallId: 'call_1' },
      ],
      signal: new AbortController().signal,
    }));
    const sent = sim.stats.lastChatRequest!.messages;
    assert.equal(sent[1]?.tool_calls, [{ id: 'call_1', type: 'function', function: { name: 'book_table', arguments: '{"party":2}' } }]);
    assert.is(sent[1]?.content, null);
    assert.is(sent[2]?.tool_call_id, 'call_1');
  } finally {
    await sim.close();
  }
});

test('aborting mid-stream stops iteration and closes the HTTP connection', async () => {
  const sim = await startOpenAiSimulator({ replies: ['one two three four five six seven eight nine ten eleven twelve'], llmTokensPerSecond: 20 });
  const llm = new OpenAiLlm({ apiKey: KEY, baseUrl: sim.baseUrl });
  try {
    const ac = new AbortController();
    const seen: LlmChunk[] = [];
    for await (const c of llm.chat({ messages: [{ role: 'user', content: 'count' }], signal: ac.signal })) {
      seen.push(c);
      if (seen.length === 2) ac.abort();
    }
    assert.is(seen.length, 2, 'nothing is yielded after abort');
    assert.not.ok(seen.some((c) => c.type === 'done'));
    await waitFor('the server sees the client go away', () => sim.stats.chatAborted === 1);
    assert.is(sim.stats.chatCompleted, 0);
  } finally {
    await sim.close();
  }
});

test('time to first token is at least the configured delay', async () => {
  const sim = await startOpenAiSimulator({ replies: ['hi'], llmTtftMs: 150 });
  const llm = new OpenAiLlm({ apiKey: KEY, baseUrl: sim.baseUrl });
  try {
    const t0 = performance.now();
    let firstMs = -1;
    for await (const c of llm.chat({ messages: [{ role: 'user', content: 'x' }], signal: new AbortController().signal })) {
      if (c.type === 'text' && firstMs < 0) firstMs = performance.now() - t0;
    }
    assert.ok(firstMs >= 145, `ttft ${firstMs.toFixed(1)} ms`);
  } finally {
    await sim.close();
  }
});

test('auth failure, server errors and mid-stream drops surface as ProviderError without the key', async () => {
  const sim = await startOpenAiSimulator({ apiKey: 'sk-the-right-key-0000000000' });
  try {
    const llm = new OpenAiLlm({ apiKey: KEY, baseUrl: sim.baseUrl });
    const err = await collect(llm.chat({ messages: [{ role: 'user', content: 'x' }], signal: new AbortController().signal })).catch((e: unknown) => e);
    assert.instance(err, ProviderError);
    assert.match((err as Error).message, /authentication failed/);
    assert.not.ok((err as Error).message.includes(KEY));
  } finally {
    await sim.close();
  }
  const failing = await startOpenAiSimulator({ fault: { type: 'status', status: 500 } });
  const dropping = await startOpenAiSimulator({ replies: ['a b c d e f g h'], fault: { type: 'drop', afterChunks: 3 } });
  try {
    const e500 = await collect(new OpenAiLlm({ apiKey: KEY, baseUrl: failing.baseUrl }).chat({ messages: [{ role: 'user', content: 'x' }], signal: new AbortController().signal })).catch((e: unknown) => e);
    assert.instance(e500, ProviderError);
    assert.match((e500 as Error).message, /HTTP 500/);
    const eDrop = await collect(new OpenAiLlm({ apiKey: KEY, baseUrl: dropping.baseUrl }).chat({ messages: [{ role: 'user', content: 'x' }], signal: new AbortController().signal })).catch((e: unknown) => e);
    assert.instance(eDrop, ProviderError);
    assert.is(dropping.stats.chatDropped, 1);
  } finally {
    await failing.close();
    await dropping.close();
  }
});

test.run();
