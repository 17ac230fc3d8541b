/**
 * Statistics: nearest-rank percentiles on known samples, histogram, CDF,
 * least-squares slope and the bounded raw-sample reservoir.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { cdf, histogram, leastSquaresSlope, percentileSorted, SampleSet, summarize } from '../../../tools/bench/stats.ts';

test('1..100 shuffled: p50 50, p95 95, p99 99, max 100, mean 50.5', () => {
  const values = Array.from({ length: 100 }, (_, i) => i + 1);
  for (let i = values.length - 1; i > 0; i--) {
    const j = (i * 7919) % (i + 1);
    [values[i], values[j]] = [values[j]!, values[i]!];
  }
  const s = summarize(values)!;
  assert.equal(s, { count: 100, mean: 50.5, min: 1, p50: 50, p95: 95, p99: 99, max: 100 });
});

test('nearest rank returns measured values; with fewer than 100 samples p99 is the maximum', () => {
  const s = summarize([10, 20, 30, 40, 50, 60, 70, 80, 90, 1000])!;
  assert.is(s.p50, 50);
  assert.is(s.p95, 1000);
  assert.is(s.p99, 1000);
  assert.is(s.mean, 145);
  assert.is(percentileSorted([5], 50), 5);
  assert.is(percentileSorted([1, 2, 3, 4], 25), 1);
  assert.is(percentileSorted([1, 2, 3, 4], 26), 2);
});

test('no samples: no summary', () => {
  assert.is(summarize([]), undefined);
  assert.ok(Number.isNaN(percentileSorted([], 50)));
});

test('histogram bins cover every sample; cdf ends at 1', () => {
  const values = [1, 1, 2, 3, 5, 8, 13, 21, 34, 55];
  const bins = histogram(values, 5);
  assert.is(bins.length, 5);
  assert.is(bins.reduce((n, b) => n + b.count, 0), values.length);
  assert.is(bins[0]!.from, 1);
  assert.is(bins[4]!.to, 55);
  assert.is(bins[0]!.count, 6); // [1, 11.8): 1 1 2 3 5 8
  assert.equal(histogram([4, 4, 4]), [{ from: 4, to: 4, count: 3 }]);
  const points = cdf(values);
  assert.is(points.length, 10);
  assert.equal(points[points.length - 1], { value: 55, fraction: 1 });
  assert.equal(points[4], { value: 5, fraction: 0.5 });
  assert.ok(cdf(Array.from({ length: 1000 }, (_, i) => i), 100).length <= 101);
});

test('least-squares slope of a noisy line', () => {
  assert.is(leastSquaresSlope([{ x: 0, y: 1 }, { x: 1, y: 3 }, { x: 2, y: 5 }]), 2);
  const slope = leastSquaresSlope([{ x: 0, y: 10 }, { x: 1, y: 10.4 }, { x: 2, y: 10.6 }, { x: 3, y: 11.4 }])!;
  assert.ok(Math.abs(slope - 0.44) < 1e-9, String(slope));
  assert.is(leastSquaresSlope([{ x: 1, y: 1 }]), undefined);
  assert.is(leastSquaresSlope([{ x: 1, y: 1 }, { x: 1, y: 2 }]), undefined);
});

test('SampleSet keeps all values for statistics but a bounded, repeatable raw subset', () => {
  const a = new SampleSet(100);
  const b = new SampleSet(100);
  for (let i = 0; i < 10_000; i++) { a.add(i); b.add(i); }
  a.add(Number.NaN);
  assert.is(a.count, 10_000);
  assert.is(a.all.length, 10_000);
  assert.is(a.kept.length, 100);
  assert.ok(a.truncated);
  assert.equal(a.kept, b.kept);
  assert.ok(Math.max(...a.kept) > 5000, 'the reservoir reaches into later samples');
  const small = new SampleSet(100);
  small.addAll([3, 1, 2]);
  assert.equal(small.kept, [3, 1, 2]);
  assert.not.ok(small.truncated);
});

test.run();
