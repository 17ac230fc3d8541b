/**
 * The OpenAI adapter's retry policy within a turn's budget, against the
 * simulator through the SDK: a rate limit is retried after retry-after, an
 * exhausted quota never is, an error event before the first token is retried
 * but not one after text went out, and past the first-token deadline the
 * error goes to the caller (the conversation apologises).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpenAiLlm } from '../../../pipeline/providers/openai-llm.ts';
import { ProviderError, type LlmChunk } from '../../../pipeline/providers/types.ts';
import { startOpenAiSimulator, type OpenAiSimOptions } from '../../../tools/simulators/openai-chat.ts';

const KEY = 'sk-test-secret-key-0123456789abcdef';

async function run(sim: OpenAiSimOptions, llm: Partial<ConstructorParameters<typeof OpenAiLlm>[0]> = {}) {
  const s = await startOpenAiSimulator({ replies: ['We open at noon.'], ...sim });
  try {
    const adapter = new OpenAiLlm({ apiKey: KEY, baseUrl: s.baseUrl, ...llm });
    const chunks: LlmChunk[] = [];
    let error: unknown;
    try {
      for await (const c of adapter.chat({ messages: [{ role: 'user', content: 'when do you open' }], signal: new AbortController().signal })) chunks.push(c);
    } catch (e) {
      error = e;
    }
    const text = chunks.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('');
    return { text, error, requests: s.stats.chatRequests };
  } finally {
    await s.close();
  }
}

test('429 rate_limit_exceeded is retried after retry-after and the reply arrives', async () => {
  const r = await run({ fault: { type: 'rate_limit', retryAfterS: 0, count: 1 } });
  assert.is(r.error, undefined);
  assert.is(r.text, 'We open at noon.');
  assert.is(r.requests, 2);
});

test('429 insufficient_quota is not retried', async () => {
  const r = await run({ fault: { type: 'quota' } });
  assert.instance(r.error, ProviderError);
  assert.match((r.error as Error).message, /HTTP 429.*quota/);
  assert.not.ok((r.error as Error).message.includes(KEY));
  assert.is(r.requests, 1);
});

test('a retry-after beyond the first-token deadline is not waited for', async () => {
  const r = await run({ fault: { type: 'rate_limit', retryAfterS: 30 } }, { firstTokenDeadlineMs: 2000 });
  assert.instance(r.error, ProviderError);
  assert.is(r.requests, 1);
});

test('an error event before the first token is retried; one after text went out is not', async () => {
  const early = await run({ fault: { type: 'stream_error', afterChunks: 1, count: 1 } });
  assert.is(early.error, undefined);
  assert.is(early.text, 'We open at noon.');
  assert.is(early.requests, 2);
  const late = await run({ fault: { type: 'stream_error', afterChunks: 3, count: 1 } });
  assert.instance(late.error, ProviderError);
  assert.ok(late.text.length > 0, 'some text went out first');
  assert.is(late.requests, 1);
});

test('5xx is retried at most maxAttempts times', async () => {
  const r = await run({ fault: { type: 'status', status: 503 } }, { maxAttempts: 3, retryBackoffMs: 1 });
  assert.instance(r.error, ProviderError);
  assert.match((r.error as Error).message, /HTTP 503/);
  assert.is(r.requests, 3);
});

test('no first token by the deadline: a ProviderError, not a wait for the slow model', async () => {
  const r = await run({ llmTtftMs: 20_000 }, { firstTokenDeadlineMs: 300 });
  assert.instance(r.error, ProviderError);
  assert.match((r.error as Error).message, /no first token within 300 ms/);
  assert.is(r.text, '');
});

test.run();
