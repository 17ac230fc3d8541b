import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PcmFramer, PlayoutQueue } from '../../../media/audio/pcm-frames.ts';

const ramp = (from: number, n: number): Int16Array => new Int16Array(n).map((_, i) => from + i);

test('PcmFramer: pieces of any length come out as whole frames, in order, each its own buffer', () => {
  const framer = new PcmFramer(4);
  const frames: Int16Array[] = [];
  for (const piece of [ramp(0, 3), ramp(3, 6), ramp(9, 1), ramp(10, 0), ramp(10, 2)]) framer.push(piece, (f) => frames.push(f));
  assert.equal(frames.map((f) => Array.from(f)), [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  assert.is(new Set(frames.map((f) => f.buffer)).size, 3);
});

test('PlayoutQueue: frames across chunk edges, the last padded with silence; counts and clear', () => {
  const q = new PlayoutQueue(4, 200); // 4 samples = 20 ms at 200 Hz
  q.push(ramp(1, 3));
  q.push(ramp(4, 3));
  q.push(new Int16Array(0));
  assert.is(q.queuedSamples, 6);
  assert.is(q.queuedMs, 30);
  assert.equal(Array.from(q.next()!), [1, 2, 3, 4]);
  assert.equal(Array.from(q.next()!), [5, 6, 0, 0]);
  assert.is(q.next(), undefined);
  q.push(ramp(1, 10));
  assert.is(q.clear(), 50);
  assert.is(q.queuedSamples, 0);
  assert.is(q.next(), undefined);
});

test.run();
