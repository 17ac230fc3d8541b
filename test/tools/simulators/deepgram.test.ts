/**
 * The combined Deepgram simulator: STT (/v1/listen WebSocket) and TTS
 * (/v1/speak) on one base URL, driven through the official-SDK adapters
 * configured with that one URL, as the server is with DEEPGRAM_BASE_URL.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeepgramStt } from '../../../pipeline/providers/deepgram-stt.ts';
import { DeepgramTts } from '../../../pipeline/providers/deepgram-tts.ts';
import { ProviderError, type SttEvent } from '../../../pipeline/providers/types.ts';
import { startDeepgramSimulator } from '../../../tools/simulators/deepgram.ts';
import { startAllSimulators } from '../../../tools/simulators/index.ts';
import { speechPatternMs } from '../../../tools/simulators/speech-pattern.ts';
import { burstsAndSilence, collectUntil, frames20ms, sleep } from '../../pipeline/providers/helpers.ts';

const RATE = 16000;
const KEY = 'dg-combined-key-0123456789';

async function transcribe(stt: DeepgramStt): Promise<string[]> {
  const stream = stt.stream({ sampleRate: RATE });
  try {
    let n = 0;
    for (const f of frames20ms(burstsAndSilence(RATE, [['silence', 200], ['tone', 600], ['silence', 600]]), RATE)) {
      stream.push(f);
      if (++n % 10 === 0) await sleep(1);
    }
    const events = await collectUntil(stream.events(), (ev) => ev.some((e) => e.type === 'final' && e.text.length > 0));
    return events.flatMap((e: SttEvent) => (e.type === 'final' && e.text ? [e.text] : []));
  } finally {
    await stream.close();
  }
}

async function synthesize(tts: DeepgramTts, text: string): Promise<number> {
  let samples = 0;
  for await (const c of tts.synthesize(text, { signal: new AbortController().signal })) samples += c.length;
  return samples;
}

test('one base URL serves /v1/listen and /v1/speak through the SDK adapters', async () => {
  const sim = await startDeepgramSimulator({ apiKey: KEY, live: { transcripts: ['book a table for two'] }, speak: { ttsSpeed: 0 } });
  try {
    assert.is(sim.live.url, sim.url);
    assert.is(sim.speak.url, sim.url);
    const stt = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 200 });
    const tts = new DeepgramTts({ apiKey: KEY, baseUrl: sim.url, sampleRate: RATE });
    const [finals, samples] = await Promise.all([transcribe(stt), synthesize(tts, 'Table for two at eight.')]);
    assert.equal(finals, ['book a table for two']);
    assert.ok(Math.abs((samples / RATE) * 1000 - speechPatternMs('Table for two at eight.')) < 1, 'the whole utterance, no WAV header');
    assert.is(sim.live.stats.connections, 1);
    assert.is(sim.live.stats.lastQuery.sample_rate, String(RATE));
    assert.is(sim.speak.stats.completed, 1);
    assert.is(sim.speak.stats.lastRequest?.container, 'none');
  } finally {
    await sim.close();
  }
});

test('the shared key is enforced on both paths; other paths get 404; close() stops both', async () => {
  const sim = await startDeepgramSimulator({ apiKey: KEY });
  const url = sim.url;
  try {
    const tts = new DeepgramTts({ apiKey: 'wrong-key-0123456789', baseUrl: url, sampleRate: RATE });
    const err = await synthesize(tts, 'Hello.').then(() => undefined, (e: unknown) => e);
    assert.instance(err, ProviderError);
    assert.is(sim.speak.stats.authFailures, 1);
    const stt = new DeepgramStt({ apiKey: 'wrong-key-0123456789', baseUrl: url, maxReconnectAttempts: 0 });
    const stream = stt.stream({ sampleRate: RATE });
    const events = await collectUntil(stream.events(), (ev) => ev.some((e) => e.type === 'error'), 3000);
    await stream.close();
    assert.ok(events.some((e) => e.type === 'error'), 'the STT stream reports the refused key');
    assert.ok(sim.live.stats.authFailures >= 1);
    assert.is(sim.live.stats.connections, 0);
    const other = await fetch(`${url}/v1/models`);
    assert.is(other.status, 404);
    const plainListen = await fetch(`${url}/v1/listen`);
    assert.is(plainListen.status, 405, 'listen without an upgrade is refused as Deepgram does');
  } finally {
    await sim.close();
  }
  await sim.live.close(); // idempotent
  const refused = await fetch(`${url}/v1/speak`, { method: 'POST' }).then(() => false, () => true);
  assert.ok(refused, 'closed: nothing listens any more');
});

test('startAllSimulators: one Deepgram URL, the profile applied to both sides', async () => {
  const sims = await startAllSimulators('typical', { apiKey: KEY, ttsTtfbMs: 40 });
  try {
    assert.is(sims.deepgramLive.url, sims.deepgram.url);
    assert.is(sims.deepgramSpeak.url, sims.deepgram.url);
    assert.is.not(sims.deepgram.port, sims.openai.port);
    const tts = new DeepgramTts({ apiKey: KEY, baseUrl: sims.deepgram.url, sampleRate: RATE });
    const t0 = performance.now();
    const it = tts.synthesize('Hi.', { signal: new AbortController().signal })[Symbol.asyncIterator]();
    const first = await it.next();
    assert.ok(!first.done);
    assert.ok(performance.now() - t0 >= 35, 'the overridden TTS ttfb reaches the speak side');
    await it.return?.();
  } finally {
    await sims.close();
  }
});

test.run();
