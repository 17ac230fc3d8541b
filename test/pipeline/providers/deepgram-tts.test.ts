import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeepgramTts } from '../../../pipeline/providers/deepgram-tts.ts';
import { ProviderError } from '../../../pipeline/providers/types.ts';
import { startDeepgramSpeakSimulator } from '../../../tools/simulators/deepgram-speak.ts';
import { speechPatternMs } from '../../../tools/simulators/speech-pattern.ts';
import { waitFor } from '../../support/poll.ts';

const KEY = 'dg-tts-secret-key-0123456789';
const TEXT = 'Thanks for calling. How can I help?';

test('yields raw linear16 at the requested rate, of plausible length, through the Deepgram SDK', async () => {
  const sim = await startDeepgramSpeakSimulator({ apiKey: KEY, ttsChunkBytes: 777 });
  const tts = new DeepgramTts({ apiKey: KEY, baseUrl: sim.url, sampleRate: 16000, model: 'aura-2-thalia-en' });
  try {
    assert.is(tts.sampleRate, 16000);
    const chunks: Int16Array[] = [];
    for await (const c of tts.synthesize(TEXT, { signal: new AbortController().signal })) chunks.push(c);
    const samples = chunks.reduce((n, c) => n + c.length, 0);
    assert.ok(chunks.length > 1);
    assert.ok(Math.abs((samples / 16000) * 1000 - speechPatternMs(TEXT)) < 1, 'no WAV header, no lost bytes');
    assert.equal(sim.stats.lastRequest, { model: 'aura-2-thalia-en', encoding: 'linear16', sampleRate: 16000, container: 'none', text: TEXT });
  } finally {
    await sim.close();
  }
});

test('the voice option picks the Aura model', async () => {
  const sim = await startDeepgramSpeakSimulator();
  const tts = new DeepgramTts({ apiKey: KEY, baseUrl: sim.url });
  try {
    for await (const c of tts.synthesize('Hi.', { voice: 'aura-2-apollo-en', signal: new AbortController().signal })) void c;
    assert.is(sim.stats.lastRequest?.model, 'aura-2-apollo-en');
    assert.is(sim.stats.lastRequest?.sampleRate, 24000);
  } finally {
    await sim.close();
  }
});

test('abort stops the stream; ttfb is at least the configured delay', async () => {
  const sim = await startDeepgramSpeakSimulator({ ttsSpeed: 1, ttsTtfbMs: 100, ttsChunkBytes: 960 });
  const tts = new DeepgramTts({ apiKey: KEY, baseUrl: sim.url });
  try {
    const ac = new AbortController();
    const t0 = performance.now();
    let first = -1;
    let chunks = 0;
    for await (const c of tts.synthesize(TEXT, { signal: ac.signal })) {
      void c;
      if (first < 0) first = performance.now() - t0;
      if (++chunks === 2) ac.abort();
    }
    assert.is(chunks, 2);
    assert.ok(first >= 95, `ttfb ${first.toFixed(1)} ms`);
    await waitFor('the simulator to see the request aborted', () => sim.stats.aborted === 1);
    assert.is(sim.stats.completed, 0);
  } finally {
    await sim.close();
  }
});

test('a rejected key is a ProviderError without the key', async () => {
  const sim = await startDeepgramSpeakSimulator({ apiKey: 'the-right-key-abcdef' });
  try {
    const tts = new DeepgramTts({ apiKey: KEY, baseUrl: sim.url });
    const err = await (async () => {
      for await (const c of tts.synthesize('Hi.', { signal: new AbortController().signal })) void c;
    })().catch((e: unknown) => e);
    assert.instance(err, ProviderError);
    assert.match((err as Error).message, /authentication failed/);
    assert.not.ok((err as Error).message.includes(KEY));
    assert.is(sim.stats.authFailures, 1);
  } finally {
    await sim.close();
  }
});

test.run();
