/**
 * VoiceActivityDetector on the espeak-ng / silence / noise fixtures: speech
 * edges against the energy-measured times in fixtures/audio/speech-times.json,
 * no speech in silence or noise, 8 and 16 kHz, options, ordering and close().
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWav, pcm16Samples } from '../../../media/audio/wav.ts';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import {
  SileroModel,
  VoiceActivityDetector,
  type SpeechEndEvent,
  type SpeechStartEvent,
  type VadOptions,
  type VadProbability,
} from '../../../pipeline/vad/index.ts';

const fixtures = new URL('../../../fixtures/audio/', import.meta.url);
interface Edge { startS: number; endS: number }
const times = JSON.parse(readFileSync(new URL('speech-times.json', fixtures), 'utf8')) as Record<
  string,
  { text: string; durationS: number; at40dB: Edge; at50dB: Edge }
>;

function frames(file: string, offsetMs = 0): AudioFrame[] {
  const wav = parseWav(readFileSync(new URL(file, fixtures)));
  const pcm = pcm16Samples(wav);
  const n = wav.sampleRate / 50;
  const out: AudioFrame[] = [];
  for (let i = 0; i + n <= pcm.length; i += n) {
    out.push({ kind: 'audio', pcm: pcm.slice(i, i + n), sampleRate: wav.sampleRate, timeMs: offsetMs + (i / n) * 20 });
  }
  return out;
}

interface Run {
  starts: SpeechStartEvent[];
  ends: SpeechEndEvent[];
  probabilities: VadProbability[];
  detector: VoiceActivityDetector;
}

async function run(file: string, options: VadOptions = {}, offsetMs = 0): Promise<Run> {
  const input = frames(file, offsetMs);
  const first = input[0];
  if (!first) throw new Error(`no audio in ${file}`);
  const detector = await VoiceActivityDetector.create({ sampleRate: first.sampleRate, ...options });
  const result: Run = { starts: [], ends: [], probabilities: [], detector };
  detector.on('speech_start', (e) => result.starts.push(e));
  detector.on('speech_end', (e) => result.ends.push(e));
  detector.on('probability', (p) => result.probabilities.push(p));
  for (const frame of input) detector.push(frame);
  await detector.idle();
  detector.close();
  return result;
}

const WINDOW_MS = 32;
const speechFiles = ['hello-book-table', 'what-time-open', 'yes-please', 'mm-hmm'];

for (const rate of [8, 16]) {
  for (const name of speechFiles) {
    const file = `${name}-${rate}k.wav`;
    test(`${file}: one utterance, onset and end within one window of the measured band`, async () => {
      const measured = times[file];
      assert.ok(measured, `no measured times for ${file}`);
      const { starts, ends } = await run(file);
      assert.is(starts.length, 1, `speech_start events: ${JSON.stringify(starts)}`);
      assert.is(ends.length, 1, `speech_end events: ${JSON.stringify(ends)}`);
      const start = starts[0]!;
      const end = ends[0]!;
      // The band between the -50 dBFS and -40 dBFS measurements is where the edge is.
      const onsetLo = Math.min(measured.at50dB.startS, measured.at40dB.startS) * 1000 - WINDOW_MS;
      const onsetHi = Math.max(measured.at50dB.startS, measured.at40dB.startS) * 1000 + WINDOW_MS;
      assert.ok(start.atMs >= onsetLo && start.atMs <= onsetHi, `onset ${start.atMs} ms outside [${onsetLo}, ${onsetHi}]`);
      const endLo = Math.min(measured.at50dB.endS, measured.at40dB.endS) * 1000 - WINDOW_MS;
      const endHi = Math.max(measured.at50dB.endS, measured.at40dB.endS) * 1000 + WINDOW_MS;
      assert.ok(end.endOfSpeechMs >= endLo && end.endOfSpeechMs <= endHi, `end of speech ${end.endOfSpeechMs} ms outside [${endLo}, ${endHi}]`);
      // speech_end comes after the 200 ms hangover (rounded up to whole windows).
      assert.ok(end.atMs - end.endOfSpeechMs >= 200 && end.atMs - end.endOfSpeechMs < 200 + WINDOW_MS);
      // speech_start is confirmed after minSpeechMs (100 ms by default).
      assert.ok(start.detectedAtMs - start.atMs >= 100 && start.detectedAtMs - start.atMs < 100 + WINDOW_MS);
    });
  }

  test(`silence-${rate}k.wav: no speech, and the energy gate skips every window`, async () => {
    const { starts, ends, detector, probabilities } = await run(`silence-${rate}k.wav`);
    assert.is(starts.length + ends.length, 0);
    assert.is(detector.inferredWindows, 0);
    assert.is(detector.gatedWindows, probabilities.length);
    assert.ok(probabilities.length >= 60, 'two seconds is 62 windows of 32 ms');
  });

  test(`silence-${rate}k.wav with the gate off: the model runs and hears no speech`, async () => {
    const { starts, detector, probabilities } = await run(`silence-${rate}k.wav`, { energyGateDbfs: -Infinity });
    assert.is(starts.length, 0);
    assert.is(detector.inferredWindows, probabilities.length);
    assert.ok(Math.max(...probabilities.map((p) => p.probability)) < 0.2);
  });

  test(`noise-${rate}k.wav: pink noise at -40 dBFS is not speech`, async () => {
    const { starts, detector, probabilities } = await run(`noise-${rate}k.wav`);
    assert.is(starts.length, 0);
    assert.ok(detector.inferredWindows > 50, 'noise is above the gate, so the model scores it');
    assert.ok(Math.max(...probabilities.map((p) => p.probability)) < 0.3);
  });
}

test('windows are 32 ms and scored in order, in the frames clock', async () => {
  const { probabilities, starts } = await run('what-time-open-8k.wav', {}, 10_000);
  assert.ok(probabilities.length > 70);
  for (let i = 1; i < probabilities.length; i++) {
    const prev = probabilities[i - 1]!;
    const cur = probabilities[i]!;
    assert.ok(Math.abs(cur.startMs - prev.endMs) < 1e-6, `window ${i} does not follow window ${i - 1}`);
    assert.ok(Math.abs(cur.endMs - cur.startMs - 32) < 1e-6);
  }
  assert.ok(probabilities[0]!.startMs >= 10_000 && probabilities[0]!.startMs < 10_001);
  assert.ok(starts[0]!.atMs > 10_300 && starts[0]!.atMs < 10_500);
});

test('a longer minSilenceMs delays speech_end by the difference, not the end of speech', async () => {
  const short = await run('what-time-open-8k.wav', { minSilenceMs: 200 });
  const long = await run('what-time-open-8k.wav', { minSilenceMs: 500 });
  const a = short.ends[0]!;
  const b = long.ends[0]!;
  assert.is(b.endOfSpeechMs, a.endOfSpeechMs);
  const delay = b.atMs - a.atMs;
  assert.ok(delay >= 300 - WINDOW_MS && delay <= 300 + WINDOW_MS, `speech_end delayed by ${delay} ms`);
});

test('minSilenceMs short enough splits "Hello, I ..." at the comma; the default does not', async () => {
  const merged = await run('hello-book-table-8k.wav');
  const split = await run('hello-book-table-8k.wav', { minSilenceMs: 60, energyGateDbfs: -60 });
  assert.is(merged.starts.length, 1);
  assert.ok(split.starts.length >= 2, `expected a split, got ${split.starts.length} utterance(s)`);
});

test('minSpeechMs filters a short backchannel but keeps a sentence', async () => {
  const options = { minSpeechMs: 800 };
  const backchannel = await run('mm-hmm-8k.wav', options);
  const sentence = await run('hello-book-table-8k.wav', options);
  assert.is(backchannel.starts.length, 0, 'mm-hmm lasts about 560 ms');
  assert.is(sentence.starts.length, 1);
  assert.ok(sentence.starts[0]!.detectedAtMs - sentence.starts[0]!.atMs >= 800);
});

test('a threshold above every probability hears nothing', async () => {
  const { starts } = await run('yes-please-8k.wav', { threshold: 0.9999, negativeThreshold: 0.9 });
  assert.is(starts.length, 0);
});

test('64 ms windows (512 samples at 8 kHz) also find the utterance', async () => {
  const { starts, ends, probabilities } = await run('yes-please-8k.wav', { windowSamples: 512 });
  assert.is(starts.length, 1);
  assert.is(ends.length, 1);
  assert.ok(Math.abs(probabilities[0]!.endMs - probabilities[0]!.startMs - 64) < 1e-6);
});

test('calls sharing the model keep their own state: concurrent runs equal separate runs', async () => {
  const alone = await run('what-time-open-16k.wav', { energyGateDbfs: -Infinity });
  const [a, b] = await Promise.all([
    run('what-time-open-16k.wav', { energyGateDbfs: -Infinity }),
    run('hello-book-table-16k.wav', { energyGateDbfs: -Infinity }),
  ]);
  assert.equal(a.starts, alone.starts);
  assert.equal(a.ends, alone.ends);
  // Run concurrently, the two calls' windows share batched inferences; a batch of two may differ from a
  // batch of one in the last bits of float32 (matrix kernels sum in a different order), no more.
  assert.is(a.probabilities.length, alone.probabilities.length);
  a.probabilities.forEach((p, i) => {
    const q = alone.probabilities[i]!;
    assert.is(p.startMs, q.startMs);
    assert.ok(Math.abs(p.probability - q.probability) < 1e-4, `window ${i}: ${p.probability} vs ${q.probability}`);
  });
  assert.is(b.starts.length, 1);
});

test('close() drops queued windows and ignores the one in flight', async () => {
  const input = frames('hello-book-table-8k.wav');
  const detector = await VoiceActivityDetector.create({ sampleRate: 8000, energyGateDbfs: -Infinity });
  let eventsAfterClose = 0;
  let closed = false;
  detector.on('probability', () => {
    if (closed) eventsAfterClose++;
  });
  for (const frame of input) detector.push(frame);
  detector.close();
  closed = true;
  await detector.idle();
  // Give an in-flight inference time to come back.
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.is(eventsAfterClose, 0);
  assert.ok(detector.inferredWindows < 5, `inferred ${detector.inferredWindows} windows after close`);
  detector.push(input[0]!); // ignored, no throw
  await detector.idle();
  assert.ok(detector.inferredWindows < 5);
});

test('a backlog beyond maxQueuedWindows drops the oldest windows', async () => {
  const detector = await VoiceActivityDetector.create({ sampleRate: 8000, energyGateDbfs: -Infinity, maxQueuedWindows: 4 });
  for (const frame of frames('yes-please-8k.wav')) detector.push(frame);
  await detector.idle();
  assert.ok(detector.droppedWindows > 30, `dropped ${detector.droppedWindows}`);
  detector.close();
});

test('rejects sample rates and windows Silero does not take', async () => {
  const model = await SileroModel.load();
  assert.throws(() => new VoiceActivityDetector(model, 44_100), /8000 or 16000/);
  assert.throws(() => new VoiceActivityDetector(model, 8000, { windowSamples: 300 }), /256, 512, 768/);
  assert.throws(() => new VoiceActivityDetector(model, 8000, { threshold: 0.3, negativeThreshold: 0.6 }), /threshold/);
  const detector = new VoiceActivityDetector(model, 8000);
  assert.throws(
    () => detector.push({ kind: 'audio', pcm: new Int16Array(320), sampleRate: 16_000, timeMs: 0 }),
    /expects 8000 Hz/,
  );
});

test.run();
