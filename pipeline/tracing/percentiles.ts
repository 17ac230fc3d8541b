/**
 * Nearest-rank percentiles and summaries, the one statistic this project
 * reports (the call record's latency summary and the benchmark's reports).
 *
 * Method: the value at 1-based rank ceil(p/100 * n) of the sorted samples. It
 * always returns a value that was actually measured, never an interpolation
 * between two, so "p99 = 31 ms" means one real turn took 31 ms; with fewer
 * than 100 samples p99 equals the maximum. Written by hand: a dozen lines,
 * and the method must be documented exactly.
 */

export interface Summary {
  count: number;
  mean: number;
  min: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentile of already sorted values (ascending); NaN when empty. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1]!;
}

export function sortedCopy(samples: ArrayLike<number>): Float64Array {
  const copy = Float64Array.from(samples as ArrayLike<number>);
  copy.sort();
  return copy;
}

/** Summary of the samples, or undefined when there are none. */
export function summarize(samples: ArrayLike<number>): Summary | undefined {
  if (samples.length === 0) return undefined;
  const sorted = sortedCopy(samples);
  let sum = 0;
  for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
  return {
    count: sorted.length,
    mean: sum / sorted.length,
    min: sorted[0]!,
    p50: percentileSorted(sorted, 50),
    p95: percentileSorted(sorted, 95),
    p99: percentileSorted(sorted, 99),
    max: sorted[sorted.length - 1]!,
  };
}
