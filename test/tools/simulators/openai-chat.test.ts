import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startOpenAiSimulator, tokenize } from '../../../tools/simulators/openai-chat.ts';

const AUTH = { authorization: 'Bearer sk-abc-0123456789', 'content-type': 'application/json' };

test('requires a bearer key and answers with OpenAI\'s error body', async () => {
  const sim = await startOpenAiSimulator({ apiKey: 'sk-right-0123456789' });
  try {
    const missing = await fetch(`${sim.baseUrl}/chat/completions`, { method: 'POST', body: '{}' });
    assert.is(missing.status, 401);
    const wrong = await fetch(`${sim.baseUrl}/chat/completions`, { method: 'POST', headers: AUTH, body: '{}' });
    assert.is(wrong.status, 401);
    const body = (await wrong.json()) as { error: { code: string; message: string } };
    assert.is(body.error.code, 'invalid_api_key');
    assert.not.ok(body.error.message.includes('sk-abc-0123456789'), 'the key is masked, as OpenAI does');
    assert.is(sim.stats.authFailures, 2);
  } finally {
    await sim.close();
  }
});

test('streams SSE chat.completion.chunk lines ending in [DONE], tool calls as indexed fragments', async () => {
  const sim = await startOpenAiSimulator({ replies: [{ text: 'On it.', toolCalls: [{ name: 'hang_up', arguments: { reason: 'caller said goodbye' } }] }] });
  try {
    const res = await fetch(`${sim.baseUrl}/chat/completions`, {
      method: 'POST', headers: AUTH,
      body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'bye' }], stream: true, stream_options: { include_usage: true } }),
    });
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const lines = (await res.text()).split('\n\n').filter(Boolean);
    assert.is(lines.at(-1), 'data: [DONE]');
    const chunks = lines.slice(0, -1).map((l) => {
      assert.ok(l.startsWith('data: '));
      return JSON.parse(l.slice(6)) as { object: string; choices: Array<{ delta: Record<string, unknown>; finish_reason: string | null }>; usage?: unknown };
    });
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk'));
    assert.is(chunks[0]!.choices[0]!.delta.role, 'assistant');
    const text = chunks.map((c) => (c.choices[0]?.delta.content as string | undefined) ?? '').join('');
    assert.is(text, 'On it.');
    const toolDeltas = chunks.flatMap((c) => (c.choices[0]?.delta.tool_calls as Array<{ index: number; id?: string; function: { name?: string; arguments: string } }> | undefined) ?? []);
    assert.ok(toolDeltas.length > 2, 'arguments arrive in fragments');
    assert.ok(toolDeltas[0]!.id && toolDeltas[0]!.function.name === 'hang_up');
    assert.ok(toolDeltas.slice(1).every((d) => d.index === 0 && d.id === undefined));
    assert.equal(JSON.parse(toolDeltas.map((d) => d.function.arguments).join('')), { reason: 'caller said goodbye' });
    const finishes = chunks.map((c) => c.choices[0]?.finish_reason).filter(Boolean);
    assert.equal(finishes, ['tool_calls']);
    assert.equal(chunks.at(-1)!.choices, [], 'usage chunk last when include_usage');
    assert.ok(chunks.at(-1)!.usage);
    assert.is(sim.stats.chatCompleted, 1);
  } finally {
    await sim.close();
  }
});

test('non-streaming completion, reply functions, and the 500 fault', async () => {
  const sim = await startOpenAiSimulator({ replies: (req, i) => `reply ${i} to ${req.messages.length}`, fault: { type: 'status', status: 500, count: 1 } });
  try {
    const post = (): Promise<Response> => fetch(`${sim.baseUrl}/chat/completions`, { method: 'POST', headers: AUTH, body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'x' }] }) });
    assert.is((await post()).status, 500);
    const ok = (await (await post()).json()) as { object: string; choices: Array<{ message: { content: string }; finish_reason: string }> };
    assert.is(ok.object, 'chat.completion');
    assert.is(ok.choices[0]!.message.content, 'reply 1 to 1');
    assert.is(ok.choices[0]!.finish_reason, 'stop');
  } finally {
    await sim.close();
  }
});

test('speech: pcm is raw 24 kHz, wav carries a header, unsupported formats are refused', async () => {
  const sim = await startOpenAiSimulator();
  try {
    const speak = (format: string): Promise<Response> => fetch(`${sim.baseUrl}/audio/speech`, { method: 'POST', headers: AUTH, body: JSON.stringify({ model: 'tts-1', voice: 'alloy', input: 'Hello there.', response_format: format }) });
    const pcm = new Uint8Array(await (await speak('pcm')).arrayBuffer());
    const wav = new Uint8Array(await (await speak('wav')).arrayBuffer());
    assert.is(wav.length, pcm.length + 44);
    assert.is(Buffer.from(wav.subarray(0, 4)).toString('ascii'), 'RIFF');
    assert.is(Buffer.from(wav).readUInt32LE(24), 24000);
    assert.is((await speak('mp3')).status, 400);
  } finally {
    await sim.close();
  }
});

test('tokenize keeps every character and leading spaces', () => {
  const text = 'Hello there, how are you doing today?';
  const tokens = tokenize(text);
  assert.is(tokens.join(''), text);
  assert.ok(tokens.length >= 7);
});

test.run();
