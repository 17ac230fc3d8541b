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
  const jb = new JitterBuffer({ depthFrames: 2, maxFrames: 5, adaptive: false });
  for (let s = 0; s < 6; s++) jb.push(s, frame(s + 1));
  assert.is(jb.size, 2);
  assert.is(jb.stats.overflowDrops, 4);
  assert.is(valueOf(jb.pull()), 5);
  assert.is(valueOf(jb.pull()), 6);
});

test('a receiver that stalled takes the audio that arrived meanwhile late (pullSurplus), and only then is the ceiling judged', () => {
  // Playing at depth 2 when the receiver stalls: 8 more packets arrive with no pull between (ceiling 5, 8 of catch-up room).
  const jb = new JitterBuffer({ depthFrames: 2, maxFrames: 5, adaptive: false, catchUpFrames: 8 });
  jb.push(0, frame(1));
  jb.push(1, frame(2));
  assert.is(valueOf(jb.pull()), 1);
  for (let s = 2; s < 10; s++) jb.push(s, frame(s + 1));
  assert.is(jb.size, 9, 'held beyond the ceiling: the receiver owes ticks');
  assert.is(jb.stats.overflowDrops, 0);
  // Catching up takes what is beyond the depth, in order, and stops at the depth.
  const late: number[] = [];
  for (let f = jb.pullSurplus(); f; f = jb.pullSurplus()) late.push(valueOf(f));
  assert.equal(late, [2, 3, 4, 5, 6, 7, 8]);
  assert.is(jb.size, 2);
  assert.equal([valueOf(jb.pull()), valueOf(jb.pull())], [9, 10]);
  assert.is(jb.stats.played, 10);
  assert.is(jb.stats.catchUpPlayed, 7);
  assert.is(jb.stats.lost + jb.stats.overflowDrops, 0);
});

test('what a stalled receiver does not take late is trimmed at its next pull; a push beyond the catch-up room trims at once', () => {
  const jb = new JitterBuffer({ depthFrames: 2, maxFrames: 5, adaptive: false, catchUpFrames: 3 });
  jb.push(0, frame(1));
  jb.push(1, frame(2));
  jb.pull();
  for (let s = 2; s < 9; s++) jb.push(s, frame(s + 1));
  assert.is(jb.size, 8, 'ceiling 5 plus 3 of catch-up room');
  assert.is(jb.stats.overflowDrops, 0);
  // No catch-up: the pull judges the ceiling (latency stays bounded) and plays from the depth.
  assert.is(valueOf(jb.pull()), 8);
  assert.is(jb.stats.overflowDrops, 6);
  for (let s = 9; s < 19; s++) jb.push(s, frame(s + 1));
  assert.ok(jb.size <= 8, `a push never holds more than the ceiling and the room (${jb.size})`);
});

test('pullSurplus never conceals, skips or eats into the depth', () => {
  const jb = new JitterBuffer({ depthFrames: 2, adaptive: false, catchUpFrames: 10 });
  jb.push(0, frame(1));
  assert.is(jb.pullSurplus(), undefined, 'not playing yet');
  jb.push(1, frame(2));
  assert.is(valueOf(jb.pull()), 1);
  // Buffered: seq 1, 2, 4, 5, 6 (seq 3 has not arrived).
  for (const s of [2, 4, 5, 6]) jb.push(s, frame(s + 1));
  assert.equal([valueOf(jb.pullSurplus()!), valueOf(jb.pullSurplus()!)], [2, 3]);
  assert.is(jb.pullSurplus(), undefined, 'the next frame (seq 3) is missing: not skipped, not concealed');
  assert.is(jb.stats.lost + jb.stats.underruns, 0);
  jb.push(3, frame(4));
  assert.equal([valueOf(jb.pullSurplus()!), valueOf(jb.pullSurplus()!)], [4, 5]);
  assert.is(jb.size, 2);
  assert.is(jb.pullSurplus(), undefined, 'the depth stays');
  assert.equal([valueOf(jb.pull()), valueOf(jb.pull())], [6, 7]);
  assert.is(jb.stats.catchUpPlayed, 4);
});

test('a wild sequence jump restarts the buffer', () => {
  const jb = new JitterBuffer({ depthFrames: 1 });
  jb.push(10, frame(10));
  assert.is(valueOf(jb.pull()), 10);
  jb.push(30000, frame(7));
  assert.is(jb.stats.resets, 1);
  assert.is(valueOf(jb.pull()), 7);
});


// ---------------------------------------------------------------- synthetic arrival patterns (no clock)

interface Arrival { seq: number; arrivalMs: number; value: number }

/** Plays `ticks` pulls at tickPhaseMs + 20 k, delivering each packet before the first pull at or after its arrival. */
function simulate(jb: JitterBuffer, arrivals: Arrival[], ticks: number, tickPhaseMs = 10): { values: number[]; depths: number[] } {
  const sorted = [...arrivals].sort((a, b) => a.arrivalMs - b.arrivalMs);
  const values: number[] = [];
  const depths: number[] = [];
  let i = 0;
  for (let k = 0; k < ticks; k++) {
    const t = tickPhaseMs + 20 * k;
    while (i < sorted.length && sorted[i]!.arrivalMs <= t) {
      const a = sorted[i++]!;
      jb.push(a.seq & 0xffff, frame(a.value), { arrivalMs: a.arrivalMs, mediaMs: a.seq * 20 });
    }
    values.push(valueOf(jb.pull()));
    depths.push(jb.depthFrames);
  }
  return { values, depths };
}

/** Packets 0..n-1 sent every 20 ms from `fromSeq`, each delayed by delay(seq) ms; quiet (value below the shrink level) unless loud. */
function stream(fromSeq: number, n: number, delay: (seq: number) => number, loud = false): Arrival[] {
  const out: Arrival[] = [];
  for (let s = fromSeq; s < fromSeq + n; s++) out.push({ seq: s, arrivalMs: s * 20 + delay(s), value: (loud ? 10_000 : 10) + (s % 50) });
  return out;
}

test('after an underrun a continuous stream refills to its depth before playing again (not from one frame)', () => {
  const jb = new JitterBuffer({ depthFrames: 3, adaptive: false });
  for (let s = 0; s < 5; s++) { jb.push(s, frame(100 + s)); jb.pull(); }
  for (let i = 0; i < 10; i++) jb.pull(); // the stream stalls: the buffer runs dry for 10 ticks
  const out: number[] = [];
  for (let s = 5; s < 12; s++) { jb.push(s, frame(100 + s)); out.push(valueOf(jb.pull())); }
  // The first resumed packet waits until three frames are held, as at the start.
  assert.equal(out.slice(0, 2).map((v) => v >= 100), [false, false], String(out));
  assert.is(out[2], 105, String(out));
});

test('adaptive: starts at 2 frames, settles at 1 on a clean path, never below one frame', () => {
  const jb = new JitterBuffer();
  assert.is(jb.depthFrames, 2);
  const { values } = simulate(jb, stream(0, 300, () => 1), 310);
  assert.is(jb.depthFrames, 1);
  assert.is(jb.stats.peakDepthFrames, 2);
  assert.ok(jb.stats.shrinkDrops >= 1, 'a quiet frame was dropped to shrink');
  assert.is(jb.stats.lost, 0);
  assert.is(jb.stats.late, 0);
  // Still playing in order after the shrink.
  const played = values.filter((v) => v > 0);
  for (let i = 1; i < played.length; i++) assert.ok(played[i] !== played[i - 1], 'no frame played twice');
  const { depths } = simulate(jb, stream(300, 200, () => 0), 200, 6010);
  assert.ok(depths.every((d) => d >= 1));
});

test('adaptive: grows with jitter so late packets still play; a fixed shallow buffer loses them', () => {
  // From packet 20 on, every seventh packet is 50 ms late: it arrives after the two behind it.
  const delay = (s: number): number => (s >= 20 && s % 7 === 0 ? 50 : 2);
  const fixed = new JitterBuffer({ depthFrames: 2, adaptive: false });
  simulate(fixed, stream(0, 500, delay, true), 520);
  const adaptive = new JitterBuffer();
  simulate(adaptive, stream(0, 500, delay, true), 520);
  assert.ok(adaptive.depthFrames >= 4, `depth ${adaptive.depthFrames}`);
  assert.ok(fixed.stats.late + fixed.stats.lost > 100, `fixed late ${fixed.stats.late} lost ${fixed.stats.lost}`);
  // Only the packets of the first measurement window can miss their turn.
  assert.ok(adaptive.stats.late + adaptive.stats.lost <= 10, `adaptive late ${adaptive.stats.late} lost ${adaptive.stats.lost}`);
  assert.ok(adaptive.stats.growHolds > 0, 'playout held for a late packet');
});

test('adaptive: shrinks back when the path is clean again', () => {
  const jb = new JitterBuffer();
  const jittery = stream(0, 200, (s) => (s % 4 === 0 ? 70 : 0));
  const clean = stream(200, 400, () => 1);
  const { depths } = simulate(jb, [...jittery, ...clean], 620);
  const peak = Math.max(...depths);
  assert.ok(peak >= 4, `peak ${peak}`);
  assert.is(jb.depthFrames, 1);
  assert.is(jb.stats.peakDepthFrames, peak);
  assert.ok(jb.stats.shrinkDrops >= peak - 2, `shrink drops ${jb.stats.shrinkDrops}`);
  assert.ok(jb.stats.depthFrameTicks / jb.stats.depthTicks > 1, 'the mean depth is reported');
});

test('adaptive: loss adds a frame of headroom', () => {
  const jb = new JitterBuffer();
  const lossy = stream(0, 300, () => 1).filter((a) => a.seq % 20 !== 7); // 5% loss
  simulate(jb, lossy, 310);
  assert.is(jb.depthFrames, 2);
  assert.ok(jb.stats.lost >= 10);
  simulate(jb, stream(300, 300, () => 1), 300, 6010);
  assert.is(jb.depthFrames, 1, 'headroom goes once the loss leaves the window');
});

test('adaptive: the depth stays within its bounds', () => {
  const jb = new JitterBuffer({ maxDepthFrames: 5, minDepthFrames: 2 });
  simulate(jb, stream(0, 300, (s) => (s % 3 === 0 ? 400 : 0)), 330);
  assert.is(jb.depthFrames, 5);
  simulate(jb, stream(300, 300, () => 0), 300, 6010);
  assert.is(jb.depthFrames, 2);
});

test('without timing the pull count is the clock (steady arrivals settle small)', () => {
  const jb = new JitterBuffer({ depthFrames: 3 });
  for (let s = 0; s < 200; s++) { jb.push(s, frame(5)); jb.pull(); }
  assert.is(jb.depthFrames, 1);
});

test.run();
