/**
 * An adaptive jitter buffer for one incoming RTP stream, keyed on the 16-bit
 * sequence number (wraparound aware). Packets are pushed as they arrive (out of
 * order, duplicated, late); the playout side pulls one packet's decoded frame
 * per tick. It holds its target depth of audio before it starts playing,
 * reorders, drops duplicates and packets that arrive after their turn, and
 * conceals a lost packet by repeating the last frame with falling gain, then
 * silence.
 *
 * Adaptive depth (default on): it starts small (`depthFrames`, 2 = 40 ms) and
 * follows the path. Each packet's relative delay is its arrival time minus its
 * media time (RTP timestamp); over the last WINDOW packets the spread between
 * the fastest packet and the 95th percentile is the jitter the buffer must
 * absorb, so the target is 1 + ceil(spread / frame) frames, one more while
 * recent loss is over LOSS_HEADROOM (a path that loses packets also delays
 * some), clamped to [minDepthFrames (never below 1), maxDepthFrames]. The
 * depth moves where it costs least: it grows when a frame is missing (playout
 * holds instead of skipping the frame as lost, so a late packet still plays)
 * or when the buffer runs dry and refills, and shrinks by dropping one quiet
 * frame once the buffer holds more than the target. A spike leaves the window
 * after WINDOW packets, so the depth falls back when the path is clean again.
 * `adaptive: false` keeps `depthFrames` fixed.
 *
 * When the buffer runs dry (the peer paused, e.g. silence suppression or hold,
 * or a packet is late) it does not skip ahead: it plays concealment/silence and
 * rebuilds its depth from the next packet, so a talkspurt that resumes with the
 * next sequence number is not thrown away. Only ticks with something buffered
 * count towards the "stop waiting" bound, so a continuous stream that resumes
 * after a gap refills to its depth instead of playing from a single frame.
 * When the sender runs fast and the buffer grows past its ceiling, the oldest
 * frames are dropped to keep latency bounded. The ceiling is checked when
 * playout pulls; a push may go `catchUpFrames` beyond it. When the receiver
 * itself stalled (its event loop was blocked, so no pull ran while packets
 * arrived), what arrived is not surplus: the receiver takes it late with
 * `pullSurplus` for the ticks it missed, before the ceiling is judged.
 *
 * Timing comes from the caller (`push(seq, frame, { arrivalMs, mediaMs })`),
 * never from a clock here, so tests drive it with synthetic arrival patterns.
 */
import { seqDiff } from './packet.ts';

export interface JitterBufferOptions {
  /** Frames held before playout starts (each normally 20 ms); the adaptive buffer's starting depth. Default 2 (40 ms). */
  depthFrames?: number;
  /** Follow measured jitter and loss (see the header). Default true. */
  adaptive?: boolean;
  /** Adaptive bounds in frames. Default 1 and 10 (200 ms). */
  minDepthFrames?: number;
  maxDepthFrames?: number;
  /** Above this many buffered frames the oldest are dropped. Default (largest depth) * 2 + 2. */
  maxFrames?: number;
  /** Consecutive lost frames concealed by repetition before falling to silence. Default 3. */
  concealFrames?: number;
  /**
   * Frames a push may hold beyond `maxFrames` until the next pull: what a receiver that stalled takes late
   * (`pullSurplus`) for the ticks it missed. Default 0 (the ceiling holds at every push).
   */
  catchUpFrames?: number;
  /** Gain applied per repetition of the last frame. Default 0.5. */
  concealGain?: number;
  /** Samples of silence returned when there is nothing to play at all. Default 160. */
  frameSamples?: number;
  /** Duration of one frame, ms. Default 20. */
  frameMs?: number;
}

/** When a packet arrived and the media time it carries (RTP timestamp in ms), both on any consistent clock. */
export interface PacketTiming {
  arrivalMs: number;
  mediaMs: number;
}

export type PulledKind = 'audio' | 'concealed' | 'silence';

export interface JitterBufferStats {
  pushed: number;
  played: number;
  duplicates: number;
  late: number;
  /** Frames skipped because their packet never arrived (concealed). */
  lost: number;
  /** Ticks with nothing to play because the stream paused or has not started. */
  underruns: number;
  /** Frames dropped to cap latency (sender faster than us, or a burst). */
  overflowDrops: number;
  /** Times the buffer restarted on a wild sequence jump. */
  resets: number;
  /** Target depth now, in frames. */
  depthFrames: number;
  /** Largest target depth so far, in frames. */
  peakDepthFrames: number;
  /** Sum of the target depth over every pull since the stream started (mean depth = depthFrameTicks / depthTicks). */
  depthFrameTicks: number;
  depthTicks: number;
  /** Frames dropped to shrink the depth (quiet ones). */
  shrinkDrops: number;
  /** Ticks held (concealed without skipping) to grow the depth. */
  growHolds: number;
  /** Frames played late for ticks the receiver missed (its own stall; `pullSurplus`), also counted in `played`. */
  catchUpPlayed: number;
}

const CAPACITY = 256; // slots; a power of two above any sane maxFrames
/** Packets over which jitter and loss are measured (2 s of 20 ms frames). */
export const WINDOW = 100;
/** The target is recomputed every this many packets. */
const RECOMPUTE_EVERY = 10;
/** Recent loss over this fraction adds one frame of headroom. */
const LOSS_HEADROOM = 0.02;
/** A frame whose mean absolute sample is under this (about -50 dBFS) may be dropped to shrink the depth. */
const QUIET_MEAN_ABS = 100;

export class JitterBuffer {
  readonly adaptive: boolean;
  readonly minDepthFrames: number;
  readonly maxDepthFrames: number;
  readonly maxFrames: number;
  /** The bound a push enforces: `maxFrames` plus what a stalled receiver may still take late. */
  private readonly pushCeiling: number;
  private readonly concealFrames: number;
  private readonly concealGain: number;
  private readonly frameSamples: number;
  private readonly frameMs: number;
  private readonly slots: Array<Int16Array | undefined> = new Array<Int16Array | undefined>(CAPACITY);
  private readonly slotSeq = new Int32Array(CAPACITY).fill(-1);
  private count = 0;
  private started = false;
  private playing = false;
  /** Once a position has been played or skipped, the start can no longer move back. */
  private committed = false;
  private nextSeq = 0;
  private bufferingTicks = 0;
  private missingRun = 0;
  private lastFrame: Int16Array | undefined;
  /** The depth the buffer aims for (frames). */
  private target: number;
  /** The depth playout currently runs at: set when playout (re)starts, +1 per hold, -1 per shrink drop. */
  private playDepth: number;
  // Jitter measurement: relative delays (arrival - media time) of the last WINDOW packets, and the loss among the last WINDOW positions.
  private readonly delays = new Float64Array(WINDOW);
  private readonly sorted = new Float64Array(WINDOW);
  private delayCount = 0;
  private delayNext = 0;
  private extSeq = 0;
  private lastSeq = 0;
  private sinceRecompute = 0;
  private readonly lossRing = new Uint8Array(WINDOW);
  private lossNext = 0;
  private lossInWindow = 0;
  private pulls = 0;
  /** Kind of the frame returned by the last pull(). */
  lastKind: PulledKind = 'silence';
  readonly stats: JitterBufferStats;

  constructor(options: JitterBufferOptions = {}) {
    this.adaptive = options.adaptive ?? true;
    const initial = Math.max(1, options.depthFrames ?? 2);
    this.minDepthFrames = this.adaptive ? Math.max(1, options.minDepthFrames ?? 1) : initial;
    this.maxDepthFrames = this.adaptive ? Math.max(this.minDepthFrames, options.maxDepthFrames ?? 10) : initial;
    this.target = Math.min(this.maxDepthFrames, Math.max(this.minDepthFrames, initial));
    this.playDepth = this.target;
    this.maxFrames = Math.min(CAPACITY - 1, Math.max(this.maxDepthFrames + 1, options.maxFrames ?? this.maxDepthFrames * 2 + 2));
    this.pushCeiling = Math.min(CAPACITY - 1, this.maxFrames + Math.max(0, Math.floor(options.catchUpFrames ?? 0)));
    this.concealFrames = options.concealFrames ?? 3;
    this.concealGain = options.concealGain ?? 0.5;
    this.frameSamples = options.frameSamples ?? 160;
    this.frameMs = options.frameMs ?? 20;
    this.stats = {
      pushed: 0, played: 0, duplicates: 0, late: 0, lost: 0, underruns: 0, overflowDrops: 0, resets: 0,
      depthFrames: this.target, peakDepthFrames: this.target, depthFrameTicks: 0, depthTicks: 0, shrinkDrops: 0, growHolds: 0, catchUpPlayed: 0,
    };
  }

  /** Frames currently held. */
  get size(): number {
    return this.count;
  }

  /** The target depth in frames (fixed, or what the adaptation chose). */
  get depthFrames(): number {
    return this.target;
  }

  /**
   * Adds a decoded frame. Returns what happened to it. `timing` feeds the jitter measurement; without it the
   * packet is taken to arrive at the current pull and to carry media time seq * frameMs.
   */
  push(seq: number, frame: Int16Array, timing?: PacketTiming): 'stored' | 'duplicate' | 'late' {
    seq &= 0xffff;
    this.stats.pushed++;
    if (!this.started) {
      this.started = true;
      this.nextSeq = seq;
      this.bufferingTicks = 0;
    }
    let d = seqDiff(seq, this.nextSeq);
    if (d >= CAPACITY || -d > CAPACITY * 4) {
      this.restart(seq);
      d = 0;
    }
    if (this.adaptive) this.measure(seq, timing);
    if (d < 0) {
      // Before playout starts, an earlier packet (reordered start) moves the start back.
      if (!this.committed && this.count + -d < this.maxFrames) {
        this.nextSeq = seq;
      } else {
        this.stats.late++;
        return 'late';
      }
    }
    const slot = seq & (CAPACITY - 1);
    if (this.slotSeq[slot] === seq) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    if (this.slots[slot] === undefined) this.count++;
    this.slots[slot] = frame;
    this.slotSeq[slot] = seq;
    if (this.count > this.pushCeiling) this.trimToDepth();
    return 'stored';
  }

  /** Called once per playout tick: the next frame in order, a concealment frame, or silence. */
  pull(): Int16Array {
    this.pulls++;
    if (!this.started) return this.silence('silence', true);
    this.stats.depthTicks++;
    this.stats.depthFrameTicks += this.target;
    // What a stalled receiver did not take late (pullSurplus) is surplus now: keep latency bounded.
    if (this.count > this.maxFrames) this.trimToDepth();
    if (!this.playing) {
      // Only ticks with audio waiting count: a stream resuming after a gap refills to its depth.
      if (this.count > 0) this.bufferingTicks++;
      if (this.count > 0 && (this.count >= this.target || this.bufferingTicks > this.target)) {
        this.playing = true;
        this.committed = true;
        this.playDepth = this.target;
      } else return this.conceal(true);
    }
    let slot = this.nextSeq & (CAPACITY - 1);
    let frame = this.present(slot);
    if (frame !== undefined && this.playDepth > this.target && this.count > this.target && isQuiet(frame)) {
      // Shrink: one quiet frame fewer of delay.
      this.take(slot);
      this.nextSeq = (this.nextSeq + 1) & 0xffff;
      this.playDepth--;
      this.stats.shrinkDrops++;
      slot = this.nextSeq & (CAPACITY - 1);
      frame = this.present(slot);
    }
    if (frame !== undefined) return this.play(slot, frame);
    if (this.count === 0) {
      // Ran dry: wait for the stream to resume rather than skip sequence numbers.
      this.playing = false;
      this.bufferingTicks = 0;
      return this.conceal(true);
    }
    if (this.adaptive && this.playDepth < this.target) {
      // Grow: hold this position one tick (its packet may be late) rather than skip it.
      this.playDepth++;
      this.stats.growHolds++;
      return this.conceal(false);
    }
    this.stats.lost++;
    this.noteLoss(true);
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    return this.conceal(false);
  }

  /**
   * Playout for a tick the receiver missed (its event loop stalled while packets kept arriving): the next
   * frame, but only while playout runs, that frame is here, and more than the target depth is buffered.
   * Otherwise nothing: catching up never conceals, skips, or eats into the depth that absorbs jitter.
   */
  pullSurplus(): Int16Array | undefined {
    if (!this.playing || this.count <= this.target) return undefined;
    const slot = this.nextSeq & (CAPACITY - 1);
    const frame = this.present(slot);
    if (frame === undefined) return undefined;
    this.pulls++;
    this.stats.depthTicks++;
    this.stats.depthFrameTicks += this.target;
    this.stats.catchUpPlayed++;
    return this.play(slot, frame);
  }

  /** Drops everything (e.g. the remote changed SSRC or media was re-negotiated). */
  reset(): void {
    this.clearSlots();
    this.started = false;
    this.playing = false;
    this.committed = false;
    this.missingRun = 0;
    this.lastFrame = undefined;
    this.delayCount = 0;
    this.delayNext = 0;
    this.sinceRecompute = 0;
  }

  private play(slot: number, frame: Int16Array): Int16Array {
    this.take(slot);
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    this.missingRun = 0;
    this.lastFrame = frame;
    this.lastKind = 'audio';
    this.stats.played++;
    this.noteLoss(false);
    return frame;
  }

  private present(slot: number): Int16Array | undefined {
    const frame = this.slots[slot];
    return frame !== undefined && this.slotSeq[slot] === this.nextSeq ? frame : undefined;
  }

  /** Records one packet's relative delay and, every RECOMPUTE_EVERY packets, recomputes the target. */
  private measure(seq: number, timing: PacketTiming | undefined): void {
    // Without timing: arrival is the pull count, media time the (unwrapped) sequence number, both in frames.
    this.extSeq = this.delayCount === 0 ? seq : this.extSeq + seqDiff(seq, this.lastSeq);
    this.lastSeq = seq;
    const delay = timing ? timing.arrivalMs - timing.mediaMs : (this.pulls - this.extSeq) * this.frameMs;
    this.delays[this.delayNext] = delay;
    this.delayNext = (this.delayNext + 1) % WINDOW;
    if (this.delayCount < WINDOW) this.delayCount++;
    if (++this.sinceRecompute < RECOMPUTE_EVERY) return;
    this.sinceRecompute = 0;
    this.retarget();
  }

  private retarget(): void {
    const n = this.delayCount;
    const s = this.sorted.subarray(0, n);
    s.set(this.delays.subarray(0, n));
    s.sort();
    const spread = s[Math.floor(0.95 * (n - 1))]! - s[0]!;
    let frames = 1 + Math.ceil(Math.max(0, spread - 0.5) / this.frameMs);
    if (this.lossInWindow > LOSS_HEADROOM * WINDOW) frames++;
    this.target = Math.min(this.maxDepthFrames, Math.max(this.minDepthFrames, frames));
    this.stats.depthFrames = this.target;
    if (this.target > this.stats.peakDepthFrames) this.stats.peakDepthFrames = this.target;
  }

  private noteLoss(lost: boolean): void {
    const bit = lost ? 1 : 0;
    this.lossInWindow += bit - this.lossRing[this.lossNext]!;
    this.lossRing[this.lossNext] = bit;
    this.lossNext = (this.lossNext + 1) % WINDOW;
  }

  private restart(seq: number): void {
    this.stats.resets++;
    this.clearSlots();
    this.nextSeq = seq;
    this.playing = false;
    this.committed = false;
    this.bufferingTicks = 0;
    this.delayCount = 0;
    this.delayNext = 0;
    this.sinceRecompute = 0;
  }

  private clearSlots(): void {
    this.slots.fill(undefined);
    this.slotSeq.fill(-1);
    this.count = 0;
  }

  private take(slot: number): void {
    this.slots[slot] = undefined;
    this.slotSeq[slot] = -1;
    this.count--;
  }

  /** Skips the oldest positions until only the target depth remains buffered. */
  private trimToDepth(): void {
    this.committed = true;
    while (this.count > this.target) {
      const slot = this.nextSeq & (CAPACITY - 1);
      if (this.slots[slot] !== undefined && this.slotSeq[slot] === this.nextSeq) {
        this.take(slot);
        this.stats.overflowDrops++;
      }
      this.nextSeq = (this.nextSeq + 1) & 0xffff;
    }
    this.playDepth = this.target;
  }

  private conceal(underrun: boolean): Int16Array {
    if (underrun) this.stats.underruns++;
    this.missingRun++;
    const last = this.lastFrame;
    if (last === undefined || this.missingRun > this.concealFrames) return this.silence('silence', false);
    const gain = Math.pow(this.concealGain, this.missingRun);
    const out = new Int16Array(last.length);
    for (let i = 0; i < last.length; i++) out[i] = Math.round(last[i]! * gain);
    this.lastKind = 'concealed';
    return out;
  }

  private silence(kind: PulledKind, countUnderrun: boolean): Int16Array {
    if (countUnderrun) this.stats.underruns++;
    this.lastKind = kind;
    return new Int16Array(this.lastFrame?.length ?? this.frameSamples);
  }
}

/** Mean and peak target depth in ms over a stream's life (from its stats), e.g. for a call record or a benchmark. */
export function jitterBufferDepthMs(stats: JitterBufferStats, frameMs = 20): { meanMs: number; peakMs: number } {
  const mean = stats.depthTicks > 0 ? stats.depthFrameTicks / stats.depthTicks : stats.depthFrames;
  return { meanMs: mean * frameMs, peakMs: stats.peakDepthFrames * frameMs };
}

function isQuiet(frame: Int16Array): boolean {
  let sum = 0;
  for (let i = 0; i < frame.length; i++) {
    const x = frame[i]!;
    sum += x < 0 ? -x : x;
  }
  return sum < QUIET_MEAN_ABS * frame.length;
}
