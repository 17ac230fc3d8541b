/**
 * Maps a position in the audio pushed to the STT stream (ms since its first
 * sample, where the provider's word timings live) back to the call clock
 * (the frames' timeMs, the recorder's clock). Every pushed frame is an
 * anchor; consecutive frames that continue the previous one exactly (within
 * a few ms of jitter) add nothing, so a steady call keeps one anchor and a
 * call with gaps keeps one per gap, bounded by `maxAnchors` (the oldest go;
 * positions before the oldest kept anchor extrapolate from it). The default
 * bound covers a minute even when every frame is an anchor (a transport whose
 * frame times wander): word timings arrive seconds after their audio, never
 * a minute. At most 2 x 3000 numbers (48 KB) per call.
 */
const JITTER_MS = 5;

export class StreamClock {
  /** Stream position (ms) and call-clock time (ms) of each anchor, ascending. */
  private readonly streamMs: number[] = [];
  private readonly clockMs: number[] = [];
  private pushedMs = 0;

  constructor(private readonly maxAnchors = 3000) {}

  /** Records that `samples` samples at `sampleRate`, captured at `timeMs`, were pushed to the stream. */
  push(samples: number, sampleRate: number, timeMs: number): void {
    const n = this.streamMs.length;
    const expected = n === 0 ? Number.NaN : this.clockMs[n - 1]! + (this.pushedMs - this.streamMs[n - 1]!);
    if (!(Math.abs(expected - timeMs) <= JITTER_MS)) {
      this.streamMs.push(this.pushedMs);
      this.clockMs.push(timeMs);
      if (this.streamMs.length > this.maxAnchors) {
        this.streamMs.shift();
        this.clockMs.shift();
      }
    }
    this.pushedMs += (samples * 1000) / sampleRate;
  }

  /** The call-clock time of stream position `ms`, or undefined before any audio was pushed. */
  toClock(ms: number): number | undefined {
    const n = this.streamMs.length;
    if (n === 0) return undefined;
    let i = n - 1;
    while (i > 0 && this.streamMs[i]! > ms) i--;
    return this.clockMs[i]! + (ms - this.streamMs[i]!);
  }
}
