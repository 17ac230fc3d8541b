/** The OpenAI simulator's error faults in OpenAI's shapes: the two kinds of 429, and an error event inside a stream. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startOpenAiSimulator } from '../../../tools/simulators/openai-chat.ts';

const AUTH = { authorization: 'Bearer sk-abc-0123456789', 'content-type': 'application/json' };
const BODY = JSON.stringify({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: 'hi' }] });

test('rate_limit: 429 rate_limit_exceeded with retry-after; quota: 429 insufficient_quota; both only for `count` requests', async () => {
  const limited = await startOpenAiSimulator({ fault: { type: 'rate_limit', retryAfterS: 2, count: 1 } });
  const broke = await startOpenAiSimulator({ fault: { type: 'quota' } });
  try {
    const r1 = await fetch(`${limited.baseUrl}/chat/completions`, { method: 'POST', headers: AUTH, body: BODY });
    assert.is(r1.status, 429);
    assert.is(r1.headers.get('retry-after'), '2');
    assert.is(((await r1.json()) as { error: { code: string } }).error.code, 'rate_limit_exceeded');
    const r2 = await fetch(`${limited.baseUrl}/chat/completions`, { method: 'POST', headers: AUTH, body: BODY });
    assert.is(r2.status, 200);
    await r2.text();
    const q = await fetch(`${broke.baseUrl}/chat/completions`, { method: 'POST', headers: AUTH, body: BODY });
    assert.is(q.status, 429);
    const body = (await q.json()) as { error: { code: string; type: string } };
    assert.equal([body.error.code, body.error.type], ['insufficient_quota', 'insufficient_quota']);
    assert.is(q.headers.get('retry-after'), null);
  } finally {
    await limited.close();
    await broke.close();
  }
});

test('stream_error: a 200 stream ends with a data: {"error": ...} event after N chunks', async () => {
  const sim = await startOpenAiSimulator({ replies: ['one two three four'], fault: { type: 'stream_error', afterChunks: 2 } });
  try {
    const r = await fetch(`${sim.baseUrl}/chat/completions`, { method: 'POST', headers: AUTH, body: BODY });
    assert.is(r.status, 200);
    const events = (await r.text()).split('\n\n').filter(Boolean).map((e) => JSON.parse(e.replace(/^data: /, '')) as Record<string, unknown>);
    assert.is(events.length, 3);
    assert.equal(Object.keys(events[2]!), ['error']);
    assert.is((events[2]!.error as { type: string }).type, 'server_error');
    assert.is(sim.stats.chatStreamErrors, 1);
  } finally {
    await sim.close();
  }
});

test.run();
