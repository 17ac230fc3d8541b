import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { JitterBuffer } from '../../../media/rtp/jitter-buffer.ts';

const frame = (v: number): Int16Array => new Int16Array(160).fill(v);
const valueOf = (f: Int16Array): number => f[0]!;

test('holds depth frames, then plays in order', () => {
  const jb = new JitterBuffer({ depthFrames: 3 });
  const out: number[] = [];
  for (let i = 0; i < 10; i++) {
    jb.push(100 + i, frame(1000 + i));
    out.push(valueOf(jb.pull()));
  }
  for (let i = 0; i < 3; i++) out.push(valueOf(jb.pull()));
  // the first ticks are silence while the buffer fills
  assert.equal(out.slice(0, 2), [0, 0]);
  const played = out.filter((v) => v >= 1000);
  assert.equal(played, [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009]);
  assert.is(jb.stats.played, 10);
  assert.is(jb.stats.lost, 0);
});

test('reorders across the 16-bit wrap and drops duplicates', () => {
  const jb = new JitterBuffer({ depthFrames: 2, maxFrames: 10 });
  const seqs = [65534, 0, 65535, 1, 1, 3, 2, 4];
  const results = seqs.map((s) => jb.push(s, frame(s === 65534 ? 1 : s === 65535 ? 2 : s + 3)));
  assert.is(results[4], 'duplicate');
  assert.is(jb.stats.duplicates, 1);
  const out: number[] = [];
  for (let i = 0; i < 7; i++) out.push(valueOf(jb.pull()));
  assert.equal(out.slice(0, 7), [1, 2, 3, 4, 5, 6, 7]);
});

test('a reordered first packet moves the start back', () => {
  const jb = new JitterBuffer({ depthFrames: 2 });
  jb.push(11, frame(11));
  jb.push(10, frame(10));
  assert.is(valueOf(jb.pull()), 10);
  assert.is(valueOf(jb.pull()), 11);
});

test('loss is concealed by a fading repeat, then silence; late packets are dropped', () => {
  const jb = new JitterBuffer({ depthFrames: 1, concealFrames: 2, concealGain: 0.5 });
  jb.push(1, frame(1000));
  assert.is(valueOf(jb.pull()), 1000);
  // 2, 3, 4 lost; 5 arrives
  jb.push(5, frame(5000));
  assert.is(valueOf(jb.pull()), 500);
  assert.is(jb.lastKind, 'concealed');
  assert.is(valueOf(jb.pull()), 250);
  assert.is(valueOf(jb.pull()), 0);
  assert.is(jb.lastKind, 'silence');
  assert.is(jb.push(3, frame(3000)), 'late');
  assert.is(valueOf(jb.pull()), 5000);
  assert.is(jb.lastKind, 'audio');
  assert.is(jb.stats.lost, 3);
  assert.is(jb.stats.late, 1);
});

test('a pause (buffer runs dry) does not skip the sequence numbers that resume it', () => {
  const jb = new JitterBuffer({ depthFrames: 2 });
  jb.push(1, frame(1)); jb.push(2, frame(2));
  assert.is(valueOf(jb.pull()), 1);
  assert.is(valueOf(jb.pull()), 2);
  for (let i = 0; i < 20; i++) jb.pull(); // the peer paused (silence suppression)
  jb.push(3, frame(3));
  jb.push(4, frame(4));
  const out: number[] = [];
  for (let i = 0; i < 4; i++) out.push(valueOf(jb.pull()));
  assert.ok(out.includes(3) && out.includes(4), String(out));
  assert.is(jb.stats.lost, 0);
  assert.is(jb.stats.late, 0);
  assert.ok(jb.stats.underruns > 0);
});

test('a growing buffer is trimmed back to its depth (bounded latency)', () => {
  const jb = new JitterBuffer({ depthFrames: 2, maxFrames: 5 });
  for (let s = 0; s < 6; s++) jb.push(s, frame(s + 1));
  assert.is(jb.size, 2);
  assert.is(jb.stats.overflowDrops, 4);
  assert.is(valueOf(jb.pull()), 5);
  assert.is(valueOf(jb.pull()), 6);
});

test('a wild sequence jump restarts the buffer', () => {
  const jb = new JitterBuffer({ depthFrames: 1 });
  jb.push(10, frame(10));
  assert.is(valueOf(jb.pull()), 10);
  jb.push(30000, frame(7));
  assert.is(jb.stats.resets, 1);
  assert.is(valueOf(jb.pull()), 7);
});

test.run();
