/**
 * Streaming PCM16 resampler for any pair of integer sample rates (8k, 16k,
 * 24k, 48k, 44.1k...). A polyphase FIR: the rates reduce to L/M, the input is
 * notionally upsampled by L, low-pass filtered by a Kaiser-windowed sinc whose
 * cutoff sits below the lower Nyquist frequency (anti-alias and anti-image in
 * one), then decimated by M; only the taps that touch real samples are
 * computed. The tail of each chunk is kept, so feeding 20 ms frames one by one
 * gives exactly the same samples as feeding the whole signal at once: no
 * clicks at frame boundaries. Hand-written because the npm resamplers are
 * either WebAssembly builds of libsamplerate/speex (heavy for 20 ms frames) or
 * linear interpolators with no low-pass.
 */

export interface ResamplerOptions {
  /** Zero crossings of the sinc on each side, counted at the lower rate. More is sharper and costlier. Default 16. */
  zeroCrossings?: number;
  /** Cutoff as a fraction of the lower rate's Nyquist frequency. Default 0.9. */
  cutoff?: number;
  /** Kaiser window beta; 8 gives roughly 80 dB stopband. */
  kaiserBeta?: number;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** Zeroth-order modified Bessel function of the first kind (series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const half = x / 2;
  for (let k = 1; k < 50; k++) {
    term *= (half / k) * (half / k);
    sum += term;
    if (term < sum * 1e-12) break;
  }
  return sum;
}

export class Resampler {
  readonly inRate: number;
  readonly outRate: number;
  /** Upsampling factor L and decimation factor M, with outRate/inRate = L/M. */
  private readonly up: number;
  private readonly down: number;
  /** Taps per phase. */
  private readonly taps: number;
  /** Phase-major coefficients: coef[phase * taps + k] multiplies x[i - k]. */
  private readonly coef: Float32Array;
  /** The last `taps - 1` input samples, then room for a chunk. */
  private work: Float32Array;
  /** Position of the next output in upsampled units, past the history start. */
  private carry = 0;
  private readonly passthrough: boolean;

  constructor(inRate: number, outRate: number, options: ResamplerOptions = {}) {
    if (!Number.isInteger(inRate) || !Number.isInteger(outRate) || inRate <= 0 || outRate <= 0) {
      throw new RangeError(`resampler rates must be positive integers, got ${inRate} -> ${outRate}`);
    }
    this.inRate = inRate;
    this.outRate = outRate;
    const g = gcd(inRate, outRate);
    this.up = outRate / g;
    this.down = inRate / g;
    this.passthrough = inRate === outRate;
    const zeroCrossings = options.zeroCrossings ?? 16;
    const cutoffFraction = options.cutoff ?? 0.9;
    const beta = options.kaiserBeta ?? 8;
    const lowRate = Math.min(inRate, outRate);
    // Filter runs at the upsampled rate inRate * L.
    const highRate = inRate * this.up;
    this.taps = this.passthrough ? 1 : Math.max(2, Math.ceil((2 * zeroCrossings * inRate) / lowRate));
    const length = this.taps * this.up;
    const fc = (cutoffFraction * lowRate) / 2 / highRate; // cycles per upsampled sample
    const centre = (length - 1) / 2;
    const i0Beta = besselI0(beta);
    const proto = new Float64Array(length);
    for (let j = 0; j < length; j++) {
      const t = j - centre;
      const sinc = t === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * t) / (Math.PI * t);
      const r = (2 * j) / (length - 1) - 1;
      const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
      proto[j] = sinc * window * this.up;
    }
    // Normalise each phase to unity DC gain so a constant stays constant.
    this.coef = new Float32Array(length);
    for (let p = 0; p < this.up; p++) {
      let sum = 0;
      for (let k = 0; k < this.taps; k++) sum += proto[p + k * this.up]!;
      for (let k = 0; k < this.taps; k++) this.coef[p * this.taps + k] = sum === 0 ? 0 : proto[p + k * this.up]! / sum;
    }
    this.work = new Float32Array(this.taps - 1 + 960);
  }

  /** Delay the filter adds, in output samples. */
  get delaySamples(): number {
    return this.passthrough ? 0 : Math.round(((this.taps * this.up - 1) / 2) / this.down);
  }

  /** Upper bound of output samples for `inputLength` input samples. */
  maxOutputLength(inputLength: number): number {
    return Math.ceil(((inputLength + 1) * this.up) / this.down) + 1;
  }

  /** Resamples a chunk into a new Int16Array (its length varies with the ratio). */
  process(input: Int16Array): Int16Array {
    const out = new Int16Array(this.maxOutputLength(input.length));
    const n = this.processInto(input, out);
    return n === out.length ? out : out.slice(0, n);
  }

  /** Resamples a chunk into `out` (at least maxOutputLength long); returns the sample count written. */
  processInto(input: Int16Array, out: Int16Array): number {
    if (this.passthrough) {
      out.set(input);
      return input.length;
    }
    const history = this.taps - 1;
    const total = history + input.length;
    if (this.work.length < total) {
      const grown = new Float32Array(total);
      grown.set(this.work.subarray(0, history));
      this.work = grown;
    }
    const work = this.work;
    for (let i = 0; i < input.length; i++) work[history + i] = input[i]!;
    const up = this.up;
    const down = this.down;
    const taps = this.taps;
    const coef = this.coef;
    const end = total * up;
    let t = history * up + this.carry;
    let written = 0;
    while (t < end) {
      const i = (t / up) | 0;
      const base = (t - i * up) * taps;
      let acc = 0;
      for (let k = 0; k < taps; k++) acc += coef[base + k]! * work[i - k]!;
      const rounded = Math.round(acc);
      out[written++] = rounded > 32767 ? 32767 : rounded < -32768 ? -32768 : rounded;
      t += down;
    }
    this.carry = t - end;
    work.copyWithin(0, input.length, total);
    return written;
  }

  /** Forgets the history (start of a new, unrelated stream). */
  reset(): void {
    this.work.fill(0);
    this.carry = 0;
  }
}

/** One-shot resampling of a whole signal (tests, offline tools). */
export function resample(input: Int16Array, inRate: number, outRate: number, options?: ResamplerOptions): Int16Array {
  return new Resampler(inRate, outRate, options).process(input);
}
