import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startDeepgramSpeakSimulator } from '../../../tools/simulators/deepgram-speak.ts';
import { speechPatternMs } from '../../../tools/simulators/speech-pattern.ts';

const speak = (url: string, query: string, text: string, auth = 'Token k-123456'): Promise<Response> =>
  fetch(`${url}/v1/speak?${query}`, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });

test('Token auth is required (401 with Deepgram\'s body)', async () => {
  const sim = await startDeepgramSpeakSimulator();
  try {
    const res = await fetch(`${sim.url}/v1/speak?encoding=linear16`, { method: 'POST', body: '{"text":"hi"}' });
    assert.is(res.status, 401);
    assert.is(((await res.json()) as { err_code: string }).err_code, 'INVALID_AUTH');
  } finally {
    await sim.close();
  }
});

test('raw linear16 with container=none, WAV otherwise; length follows the text', async () => {
  const sim = await startDeepgramSpeakSimulator();
  try {
    const text = 'One two three four five.';
    const raw = new Uint8Array(await (await speak(sim.url, 'model=aura-2-thalia-en&encoding=linear16&sample_rate=8000&container=none', text)).arrayBuffer());
    assert.is(raw.length, Math.round((speechPatternMs(text) * 8000) / 1000) * 2);
    const wav = new Uint8Array(await (await speak(sim.url, 'encoding=linear16&sample_rate=8000', text)).arrayBuffer());
    assert.is(wav.length, raw.length + 44);
    const longer = new Uint8Array(await (await speak(sim.url, 'encoding=linear16&sample_rate=8000&container=none', `${text} ${text}`)).arrayBuffer());
    assert.ok(longer.length > raw.length * 1.9);
    assert.is((await speak(sim.url, 'encoding=linear16&sample_rate=11025&container=none', text)).status, 400);
    assert.is((await speak(sim.url, 'encoding=linear16&container=none', '')).status, 400);
  } finally {
    await sim.close();
  }
});

test.run();
