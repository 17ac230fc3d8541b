import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpenAiTts } from '../../../pipeline/providers/openai-tts.ts';
import { ProviderError } from '../../../pipeline/providers/types.ts';
import { startOpenAiSimulator } from '../../../tools/simulators/openai-chat.ts';
import { speechPatternMs } from '../../../tools/simulators/speech-pattern.ts';
import { waitFor } from '../../support/poll.ts';

const KEY = 'sk-tts-secret-key-0123456789abcdef';
const TEXT = 'Your table for two is booked for half past seven.';

test('yields 24 kHz PCM16 of plausible length, in several chunks, through the openai SDK', async () => {
  // An odd chunk size on the wire makes samples straddle network chunks.
  const sim = await startOpenAiSimulator({ apiKey: KEY, ttsChunkBytes: 1001 });
  const tts = new OpenAiTts({ apiKey: KEY, baseUrl: sim.baseUrl, voice: 'coral' });
  try {
    assert.is(tts.sampleRate, 24000);
    const chunks: Int16Array[] = [];
    for await (const c of tts.synthesize(TEXT, { signal: new AbortController().signal })) chunks.push(c);
    const samples = chunks.reduce((n, c) => n + c.length, 0);
    const ms = (samples / 24000) * 1000;
    assert.ok(chunks.length > 1);
    assert.ok(Math.abs(ms - speechPatternMs(TEXT)) < 1, `got ${ms} ms`);
    assert.ok(ms > 2000 && ms < 6000, 'about the length of the sentence spoken');
    assert.ok(chunks.some((c) => c.some((s) => Math.abs(s) > 1000)), 'audio is not silence');
    assert.equal(sim.stats.lastSpeechRequest?.response_format, 'pcm');
    assert.equal(sim.stats.lastSpeechRequest?.voice, 'coral');
  } finally {
    await sim.close();
  }
});

test('odd byte boundaries do not shift samples: the result equals the simulator\'s waveform', async () => {
  const sim = await startOpenAiSimulator({ ttsChunkBytes: 333 });
  const even = await startOpenAiSimulator({ ttsChunkBytes: 4096 });
  try {
    const read = async (baseUrl: string): Promise<Int16Array> => {
      const parts: Int16Array[] = [];
      for await (const c of new OpenAiTts({ apiKey: KEY, baseUrl }).synthesize('Hello world.', { signal: new AbortController().signal })) parts.push(c);
      const out = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    };
    assert.equal(Array.from(await read(sim.baseUrl)), Array.from(await read(even.baseUrl)));
  } finally {
    await sim.close();
    await even.close();
  }
});

test('abort stops the stream and the server sees the client leave', async () => {
  const sim = await startOpenAiSimulator({ ttsSpeed: 1, ttsChunkBytes: 960 });
  const tts = new OpenAiTts({ apiKey: KEY, baseUrl: sim.baseUrl });
  try {
    const ac = new AbortController();
    let chunks = 0;
    for await (const c of tts.synthesize(TEXT, { signal: ac.signal })) {
      void c;
      chunks += 1;
      if (chunks === 2) ac.abort();
    }
    assert.is(chunks, 2);
    await waitFor('the simulator to see the request aborted', () => sim.stats.speechAborted === 1);
    assert.is(sim.stats.speechCompleted, 0);
  } finally {
    await sim.close();
  }
});

test('time to first byte is at least the configured delay', async () => {
  const sim = await startOpenAiSimulator({ ttsTtfbMs: 120 });
  const tts = new OpenAiTts({ apiKey: KEY, baseUrl: sim.baseUrl });
  try {
    const t0 = performance.now();
    let first = -1;
    for await (const c of tts.synthesize('Hi.', { signal: new AbortController().signal })) {
      void c;
      if (first < 0) first = performance.now() - t0;
    }
    assert.ok(first >= 115, `ttfb ${first.toFixed(1)} ms`);
  } finally {
    await sim.close();
  }
});

test('a rejected key is a ProviderError without the key', async () => {
  const sim = await startOpenAiSimulator({ apiKey: 'sk-the-right-key-0000000000' });
  try {
    const tts = new OpenAiTts({ apiKey: KEY, baseUrl: sim.baseUrl });
    const err = await (async () => {
      for await (const c of tts.synthesize('Hi.', { signal: new AbortController().signal })) void c;
    })().catch((e: unknown) => e);
    assert.instance(err, ProviderError);
    assert.not.ok((err as Error).message.includes(KEY));
    assert.match((err as Error).message, /authentication failed/);
  } finally {
    await sim.close();
  }
});

test.run();
