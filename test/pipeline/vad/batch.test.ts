/**
 * SileroModel's inference thread: runs made in one event-loop turn go out as
 * one batch and come back equal to one-at-a-time runs (state carried too), at
 * 8 and 16 kHz in the same batch; a failing inference rejects its group only;
 * a dead thread rejects its runs and the next run restarts it; release()
 * rejects; an idle thread does not keep the process alive.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWav, pcm16Samples } from '../../../media/audio/wav.ts';
import { SileroModel, SileroState, defaultModelPath, type SileroSampleRate } from '../../../pipeline/vad/index.ts';
import { waitFor } from '../../support/poll.ts';

const TOLERANCE = 1e-4;

function floats(file: string): Float32Array {
  const pcm = pcm16Samples(parseWav(readFileSync(new URL(`../../../fixtures/audio/${file}`, import.meta.url))));
  return Float32Array.from(pcm, (x) => x / 32768);
}

const speech = { 8000: floats('what-time-open-8k.wav'), 16000: floats('what-time-open-16k.wav') };
const noise = { 8000: floats('noise-8k.wav'), 16000: floats('noise-16k.wav') };
const silence = { 8000: floats('silence-8k.wav'), 16000: floats('silence-16k.wav') };

/** The 32 ms window `index` of `samples` (windows at 0.4 s and later are speech in what-time-open). */
function window(samples: Float32Array, rate: SileroSampleRate, index: number): Float32Array {
  const n = rate === 8000 ? 256 : 512;
  return samples.slice(index * n, (index + 1) * n);
}

function copyState(model: SileroModel, rate: SileroSampleRate, from: SileroState): SileroState {
  const state = model.newState(rate);
  state.h.set(from.h);
  state.c.set(from.c);
  return state;
}

function close(actual: number, expected: number, what: string): void {
  assert.ok(Math.abs(actual - expected) < TOLERANCE, `${what}: ${actual} vs ${expected}`);
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs((a[i] as number) - (b[i] as number)));
  return d;
}

interface Case { rate: SileroSampleRate; warm: Float32Array[]; first: Float32Array; next: Float32Array }

/** Each case: a state warmed on its own audio, then two windows. */
async function compare(model: SileroModel, cases: Case[]): Promise<{ batched: number[]; next: number[] }> {
  const states: SileroState[] = [];
  for (const c of cases) {
    const state = model.newState(c.rate);
    for (const w of c.warm) await model.run(w, c.rate, state);
    states.push(state);
  }
  const alone = states.map((s, i) => copyState(model, cases[i]!.rate, s));

  const before = model.stats.batches;
  const batched = await Promise.all(cases.map((c, i) => model.run(c.first, c.rate, states[i]!)));
  assert.is(model.stats.batches, before + 1, 'the runs of one turn go out as one batch');
  const next = await Promise.all(cases.map((c, i) => model.run(c.next, c.rate, states[i]!)));
  assert.is(model.stats.batches, before + 2);

  for (const [i, c] of cases.entries()) {
    const state = alone[i]!;
    close(batched[i]!, await model.run(c.first, c.rate, state), `case ${i} first window`);
    close(next[i]!, await model.run(c.next, c.rate, state), `case ${i} next window`);
    assert.ok(maxDiff(states[i]!.h, state.h) < TOLERANCE && maxDiff(states[i]!.c, state.c) < TOLERANCE, `case ${i} state`);
  }
  return { batched, next };
}

test('5 calls in one batch score as they do one at a time, and carry their state', async () => {
  const model = await SileroModel.load();
  const rate = 8000;
  const cases: Case[] = [
    { rate, warm: [22, 23, 24, 25].map((i) => window(speech[rate], rate, i)), first: window(speech[rate], rate, 26), next: window(speech[rate], rate, 27) },
    { rate, warm: [], first: window(speech[rate], rate, 25), next: window(speech[rate], rate, 26) },
    { rate, warm: [1, 2].map((i) => window(silence[rate], rate, i)), first: window(silence[rate], rate, 3), next: window(silence[rate], rate, 4) },
    { rate, warm: [30, 31, 32].map((i) => window(speech[rate], rate, i)), first: window(noise[rate], rate, 5), next: window(noise[rate], rate, 6) },
    { rate, warm: [5, 6].map((i) => window(noise[rate], rate, i)), first: window(speech[rate], rate, 40), next: window(speech[rate], rate, 41) },
  ];
  const { batched, next } = await compare(model, cases);
  // The cases really differ: warmed speech scores high, silence low.
  assert.ok(batched[0]! > 0.5 && next[0]! > 0.5, `speech: ${batched[0]}, ${next[0]}`);
  assert.ok(batched[2]! < 0.1 && next[2]! < 0.1, `silence: ${batched[2]}, ${next[2]}`);
  assert.is(new Set(batched).size, batched.length, 'five distinct probabilities');
});

test('8 kHz and 16 kHz windows in the same turn (two groups of one batch) both come back right', async () => {
  const model = await SileroModel.load();
  const cases: Case[] = [];
  for (const rate of [8000, 16000] as const) {
    cases.push(
      { rate, warm: [14, 15, 16].map((i) => window(speech[rate], rate, i)), first: window(speech[rate], rate, 17), next: window(speech[rate], rate, 18) },
      { rate, warm: [], first: window(silence[rate], rate, 3), next: window(silence[rate], rate, 4) },
      { rate, warm: [], first: window(speech[rate], rate, 50), next: window(noise[rate], rate, 7) },
    );
  }
  const { batched } = await compare(model, cases);
  assert.ok(batched[0]! > 0.5 && batched[3]! > 0.5, `speech at 8 and 16 kHz: ${batched[0]}, ${batched[3]}`);
});

test('a failing inference rejects the runs of its group; the other group of the batch still scores', async () => {
  const model = await SileroModel.load();
  const good = window(speech[8000], 8000, 20);
  const reference = await model.run(good, 8000, model.newState(8000));
  const broken = [model.newState(8000), model.newState(8000), model.newState(8000)];
  const primed = model.newState(8000);
  // 10 samples is too short for the model's STFT padding: ONNX Runtime fails the whole group.
  const runs = [
    ...broken.map((s) => model.run(new Float32Array(10), 8000, s)),
    model.run(good, 8000, model.newState(8000)),
  ];
  const settled = await Promise.allSettled(runs);
  for (const s of settled.slice(0, 3)) {
    assert.is(s.status, 'rejected');
    if (s.status === 'rejected') {
      assert.instance(s.reason, Error);
      assert.match((s.reason as Error).message, /Silero VAD inference failed: .*Pad/);
    }
  }
  const last = settled[3]!;
  assert.is(last.status, 'fulfilled');
  if (last.status === 'fulfilled') close(last.value, reference, 'the good window');
  for (const s of broken) assert.equal(Array.from(s.h), Array.from(primed.h), 'a failed run leaves the state as it was');
});

test('a dead inference thread rejects its pending runs; the next run starts a new one', async () => {
  const model = await SileroModel.open(defaultModelPath());
  try {
    const w = window(speech[8000], 8000, 20);
    const reference = await model.run(w, 8000, model.newState(8000));
    const died = model.crashThreadForTest();
    // Made before the death is seen: posted to the dying thread after its crash message, so never answered.
    const doomed = await Promise.allSettled([1, 2, 3].map(() => model.run(w, 8000, model.newState(8000))));
    await died;
    for (const s of doomed) {
      assert.is(s.status, 'rejected');
      if (s.status === 'rejected') assert.match((s.reason as Error).message, /Silero VAD worker (failed|exited)/);
    }
    // Restarted: same results as before, and batching still works.
    const again = await Promise.all([1, 2].map(() => model.run(w, 8000, model.newState(8000))));
    for (const p of again) close(p, reference, 'after restart');
    assert.is(model.stats.restarts, 1);

    // A crash while a batch is in flight: the runs settle (rejected, or answered just before the crash).
    const inFlight = [1, 2, 3].map(() => model.run(w, 8000, model.newState(8000)));
    await Promise.resolve();
    await Promise.resolve(); // the batch has been posted
    const settled = [false, false, false];
    inFlight.forEach((p, i) => void p.then(() => (settled[i] = true), () => (settled[i] = true)));
    // Once the model has seen the death, nothing the dead thread owed is left pending.
    await model.crashThreadForTest();
    await waitFor('the in-flight runs to settle', () => settled.every(Boolean));
    close(await model.run(w, 8000, model.newState(8000)), reference, 'after the second restart');
    assert.is(model.stats.restarts, 2);
  } finally {
    await model.release();
  }
});

test('waiting for an idle thread\'s death keeps the process alive until it is seen', async () => {
  // The race behind a failed full run: the in-flight batch above was answered before the crash, the
  // thread went idle (unref'd) and the process ended before the death arrived ("Exiting early").
  const model = await SileroModel.open(defaultModelPath());
  try {
    const w = window(speech[8000], 8000, 20);
    const reference = await model.run(w, 8000, model.newState(8000));
    await model.crashThreadForTest();
    close(await model.run(w, 8000, model.newState(8000)), reference, 'after the restart');
    assert.is(model.stats.restarts, 1);
  } finally {
    await model.release();
  }
});

test('release() rejects pending and later runs', async () => {
  const model = await SileroModel.open(defaultModelPath());
  const w = window(speech[8000], 8000, 20);
  await model.run(w, 8000, model.newState(8000));
  const pending = model.run(w, 8000, model.newState(8000)).then(() => undefined, (err: unknown) => err);
  await model.release();
  const err = await pending;
  assert.instance(err, Error, 'a run pending at release() resolved');
  assert.match((err as Error).message, /released/);
  try {
    await model.run(w, 8000, model.newState(8000));
    assert.unreachable('a run after release() resolved');
  } catch (err) {
    assert.match((err as Error).message, /released/);
  }
});

test('reset() is local: it restores the primed state without a round trip', async () => {
  const model = await SileroModel.load();
  const state = model.newState(8000);
  const primed = Array.from(state.h);
  await model.run(window(speech[8000], 8000, 20), 8000, state);
  assert.not.equal(Array.from(state.h), primed);
  state.reset();
  assert.equal(Array.from(state.h), primed);
});

test('the idle inference thread does not keep a process alive', async () => {
  const silero = fileURLToPath(new URL('../../../pipeline/vad/silero.ts', import.meta.url));
  const script = `
    const { SileroModel } = await import(${JSON.stringify(silero)});
    const model = await SileroModel.load();
    const p = await model.run(new Float32Array(256), 8000, model.newState(8000));
    console.log('scored', p < 0.5);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null | 'timeout'>((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve('timeout');
    }, 20_000);
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  assert.is(code, 0, `child: ${output}`);
  assert.match(output, /scored true/);
});

test.run();
