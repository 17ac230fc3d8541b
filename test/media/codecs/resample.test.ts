import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { resample, Resampler } from '../../../media/audio/resample.ts';

function sine(freq: number, rate: number, samples: number, amplitude = 10000): Int16Array {
  const out = new Int16Array(samples);
  for (let i = 0; i < samples; i++) out[i] = Math.round(amplitude * Math.sin((2 * Math.PI * freq * i) / rate));
  return out;
}

/** Amplitude of `freq` in `x` by correlation (single DFT bin), skipping the filter's start-up. */
function toneAmplitude(x: Int16Array, freq: number, rate: number, skip = 400): number {
  let re = 0;
  let im = 0;
  const n = x.length - skip * 2;
  for (let i = skip; i < skip + n; i++) {
    re += x[i]! * Math.cos((2 * Math.PI * freq * i) / rate);
    im += x[i]! * Math.sin((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(re, im)) / n;
}

function rms(x: Int16Array, skip = 400): number {
  let sum = 0;
  for (let i = skip; i < x.length - skip; i++) sum += x[i]! * x[i]!;
  return Math.sqrt(sum / (x.length - 2 * skip));
}

const pairs: Array<[number, number]> = [
  [8000, 16000], [16000, 8000], [8000, 24000], [24000, 8000], [8000, 48000], [48000, 8000],
  [16000, 24000], [24000, 16000], [44100, 8000], [8000, 44100],
];

for (const [from, to] of pairs) {
  test(`${from} -> ${to}: a 1 kHz sine keeps its frequency, amplitude and the length ratio`, () => {
    const input = sine(1000, from, from); // one second
    const out = resample(input, from, to);
    assert.ok(Math.abs(out.length - to) <= 2, `length ${out.length} for ${to}`);
    const amp = toneAmplitude(out, 1000, to, Math.ceil(to / 50));
    assert.ok(Math.abs(amp - 10000) < 150, `amplitude ${amp}`);
    // Nearly all the energy is at 1 kHz: no aliases, no images.
    const total = rms(out, Math.ceil(to / 50));
    assert.ok(Math.abs(total - amp / Math.SQRT2) < 60, `rms ${total} vs tone ${amp / Math.SQRT2}`);
  });
}

test('frame-by-frame resampling equals one-shot resampling (no seams at frame edges)', () => {
  for (const [from, to] of pairs) {
    const input = sine(440, from, from / 2);
    const whole = resample(input, from, to);
    const streaming = new Resampler(from, to);
    const frame = from / 50;
    const parts: number[] = [];
    for (let off = 0; off < input.length; off += frame) parts.push(...streaming.process(input.subarray(off, off + frame)));
    assert.is(parts.length, whole.length, `${from}->${to} length`);
    assert.equal(parts, Array.from(whole), `${from}->${to} samples`);
  }
});

test('integer ratios give exact frame sizes: 160 at 8k <-> 320 at 16k <-> 960 at 48k', () => {
  const up = new Resampler(8000, 16000);
  const down = new Resampler(48000, 8000);
  for (let i = 0; i < 10; i++) {
    assert.is(up.process(new Int16Array(160)).length, 320);
    assert.is(down.process(new Int16Array(960)).length, 160);
  }
  const buf = new Int16Array(up.maxOutputLength(160));
  assert.is(up.processInto(new Int16Array(160), buf), 320);
});

test('downsampling removes content above the new Nyquist frequency (anti-alias)', () => {
  const tone = sine(6000, 48000, 48000);
  const out = resample(tone, 48000, 8000);
  // 6 kHz would alias to 2 kHz at 8 kHz if not filtered.
  assert.ok(toneAmplitude(out, 2000, 8000) < 10, `alias ${toneAmplitude(out, 2000, 8000)}`);
  const tone16 = sine(5000, 16000, 16000);
  assert.ok(rms(resample(tone16, 16000, 8000)) < 10);
});

test('a constant stays constant and full scale does not wrap', () => {
  const dc = new Int16Array(1600).fill(12345);
  const out = resample(dc, 8000, 24000);
  for (let i = 200; i < out.length - 200; i++) assert.ok(Math.abs(out[i]! - 12345) <= 2, `sample ${i} = ${out[i]}`);
  const square = new Int16Array(1600);
  for (let i = 0; i < square.length; i++) square[i] = (i >> 5) & 1 ? 32767 : -32768;
  for (const v of resample(square, 8000, 48000)) assert.ok(v >= -32768 && v <= 32767);
  const same = new Resampler(8000, 8000).process(Int16Array.from([1, 2, 3]));
  assert.equal(Array.from(same), [1, 2, 3]);
  assert.throws(() => new Resampler(0, 8000), RangeError);
});

test.run();
