/**
 * Benchmark statistics: histogram bins and an empirical CDF for the HTML
 * report, a least-squares slope for the soak, and SampleSet. Percentiles and
 * summaries are the project's one nearest-rank method
 * (pipeline/tracing/percentiles.ts), re-exported here.
 */
import { percentileSorted, sortedCopy, summarize, type Summary } from '../../pipeline/tracing/percentiles.ts';

export { percentileSorted, sortedCopy, summarize, type Summary };

export interface HistogramBin {
  /** Inclusive lower edge. */
  from: number;
  /** Exclusive upper edge (the last bin includes it). */
  to: number;
  count: number;
}

/** Equal-width bins over [min, max]; one bin when all samples are equal. */
export function histogram(samples: ArrayLike<number>, binCount = 30): HistogramBin[] {
  if (samples.length === 0) return [];
  const sorted = sortedCopy(samples);
  const lo = sorted[0]!;
  const hi = sorted[sorted.length - 1]!;
  if (hi === lo) return [{ from: lo, to: hi, count: sorted.length }];
  const bins = Math.max(1, Math.floor(binCount));
  const width = (hi - lo) / bins;
  const out: HistogramBin[] = Array.from({ length: bins }, (_, i) => ({ from: lo + i * width, to: i === bins - 1 ? hi : lo + (i + 1) * width, count: 0 }));
  for (let i = 0; i < sorted.length; i++) {
    const index = Math.min(bins - 1, Math.floor((sorted[i]! - lo) / width));
    out[index]!.count++;
  }
  return out;
}

export interface CdfPoint {
  value: number;
  /** Fraction of samples at or below value, 0..1. */
  fraction: number;
}

/** Empirical CDF, thinned to at most `maxPoints` steps (the last point is always kept). */
export function cdf(samples: ArrayLike<number>, maxPoints = 200): CdfPoint[] {
  const sorted = sortedCopy(samples);
  const n = sorted.length;
  if (n === 0) return [];
  const step = Math.max(1, Math.ceil(n / maxPoints));
  const out: CdfPoint[] = [];
  for (let i = step - 1; i < n; i += step) out.push({ value: sorted[i]!, fraction: (i + 1) / n });
  if (out[out.length - 1]!.fraction !== 1) out.push({ value: sorted[n - 1]!, fraction: 1 });
  return out;
}

/** Least-squares slope of y over x (units of y per unit of x); undefined with fewer than two distinct x. */
export function leastSquaresSlope(points: ReadonlyArray<{ x: number; y: number }>): number | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  let sx = 0, sy = 0;
  for (const p of points) { sx += p.x; sy += p.y; }
  const mx = sx / n, my = sy / n;
  let num = 0, den = 0;
  for (const p of points) { num += (p.x - mx) * (p.y - my); den += (p.x - mx) ** 2; }
  return den === 0 ? undefined : num / den;
}

/**
 * A growing sample set that keeps every value for the statistics but at most
 * `keep` of them (a uniform reservoir, deterministic seed) for the report's
 * raw samples, so a million jitter samples do not make a 20 MB JSON file.
 */
export class SampleSet {
  private values: number[] = [];
  private readonly reservoir: number[] = [];
  private seen = 0;
  private seed = 0x9e3779b9;

  constructor(readonly keep = 10_000) {}

  add(value: number): void {
    if (!Number.isFinite(value)) return;
    this.values.push(value);
    this.seen++;
    if (this.reservoir.length < this.keep) this.reservoir.push(value);
    else {
      const j = Math.floor(this.random() * this.seen);
      if (j < this.keep) this.reservoir[j] = value;
    }
  }

  addAll(values: Iterable<number>): void {
    for (const v of values) this.add(v);
  }

  get count(): number {
    return this.seen;
  }

  get all(): readonly number[] {
    return this.values;
  }

  /** The kept raw samples (all of them when count <= keep). */
  get kept(): readonly number[] {
    return this.reservoir;
  }

  get truncated(): boolean {
    return this.seen > this.keep;
  }

  private random(): number {
    // xorshift32: repeatable, so the same run gives the same report.
    let x = this.seed;
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    this.seed = x;
    return x / 0x100000000;
  }
}
