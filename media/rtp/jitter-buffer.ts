/**
 * A fixed-depth jitter buffer for one incoming RTP stream, keyed on the 16-bit
 * sequence number (wraparound aware). Packets are pushed as they arrive (out of
 * order, duplicated, late); the playout side pulls one packet's decoded frame
 * per tick. It holds `depthFrames` of audio before it starts playing, reorders,
 * drops duplicates and packets that arrive after their turn, and conceals a
 * lost packet by repeating the last frame with falling gain, then silence.
 *
 * When the buffer runs dry (the peer paused, e.g. silence suppression or hold)
 * it does not skip ahead: it plays concealment/silence and rebuilds its depth
 * from the next packet, so a talkspurt that resumes with the next sequence
 * number is not thrown away. When the sender runs fast and the buffer grows
 * past its ceiling, the oldest frames are dropped to keep latency bounded.
 */
import { seqDiff } from './packet.ts';

export interface JitterBufferOptions {
  /** Frames held before playout starts (each normally 20 ms). Default 3 (60 ms). */
  depthFrames?: number;
  /** Above this many buffered frames the oldest are dropped. Default depth * 2 + 2. */
  maxFrames?: number;
  /** Consecutive lost frames concealed by repetition before falling to silence. Default 3. */
  concealFrames?: number;
  /** Gain applied per repetition of the last frame. Default 0.5. */
  concealGain?: number;
  /** Samples of silence returned when there is nothing to play at all. Default 160. */
  frameSamples?: number;
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
}

const CAPACITY = 256; // slots; a power of two above any sane maxFrames

export class JitterBuffer {
  readonly depthFrames: number;
  readonly maxFrames: number;
  private readonly concealFrames: number;
  private readonly concealGain: number;
  private readonly frameSamples: number;
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
  /** Kind of the frame returned by the last pull(). */
  lastKind: PulledKind = 'silence';
  readonly stats: JitterBufferStats = { pushed: 0, played: 0, duplicates: 0, late: 0, lost: 0, underruns: 0, overflowDrops: 0, resets: 0 };

  constructor(options: JitterBufferOptions = {}) {
    this.depthFrames = Math.max(1, options.depthFrames ?? 3);
    this.maxFrames = Math.min(CAPACITY - 1, Math.max(this.depthFrames + 1, options.maxFrames ?? this.depthFrames * 2 + 2));
    this.concealFrames = options.concealFrames ?? 3;
    this.concealGain = options.concealGain ?? 0.5;
    this.frameSamples = options.frameSamples ?? 160;
  }

  /** Frames currently held. */
  get size(): number {
    return this.count;
  }

  /** Adds a decoded frame. Returns what happened to it. */
  push(seq: number, frame: Int16Array): 'stored' | 'duplicate' | 'late' {
    seq &= 0xffff;
    this.stats.pushed++;
    if (!this.started) {
      this.started = true;
      this.nextSeq = seq;
      this.bufferingTicks = 0;
    }
    let d = seqDiff(seq, this.nextSeq);
    if (d < 0) {
      // Before playout starts, an earlier packet (reordered start) moves the start back.
      if (!this.committed && this.count + -d < this.maxFrames) {
        this.nextSeq = seq;
        d = 0;
      } else if (-d > CAPACITY * 4) {
        this.restart(seq);
        d = 0;
      } else {
        this.stats.late++;
        return 'late';
      }
    } else if (d >= CAPACITY) {
      this.restart(seq);
      d = 0;
    }
    const slot = seq & (CAPACITY - 1);
    if (this.slotSeq[slot] === seq) {
      this.stats.duplicates++;
      return 'duplicate';
    }
    if (this.slots[slot] === undefined) this.count++;
    this.slots[slot] = frame;
    this.slotSeq[slot] = seq;
    if (this.count > this.maxFrames) this.trimToDepth();
    return 'stored';
  }

  /** Called once per playout tick: the next frame in order, a concealment frame, or silence. */
  pull(): Int16Array {
    if (!this.started) return this.silence('silence', true);
    if (!this.playing) {
      this.bufferingTicks++;
      if (this.count > 0 && (this.count >= this.depthFrames || this.bufferingTicks > this.depthFrames)) {
        this.playing = true;
        this.committed = true;
      }
      else return this.conceal(true);
    }
    const slot = this.nextSeq & (CAPACITY - 1);
    const frame = this.slots[slot];
    if (frame !== undefined && this.slotSeq[slot] === this.nextSeq) {
      this.take(slot);
      this.nextSeq = (this.nextSeq + 1) & 0xffff;
      this.missingRun = 0;
      this.lastFrame = frame;
      this.lastKind = 'audio';
      this.stats.played++;
      return frame;
    }
    if (this.count === 0) {
      // Ran dry: wait for the stream to resume rather than skip sequence numbers.
      this.playing = false;
      this.bufferingTicks = 0;
      return this.conceal(true);
    }
    this.stats.lost++;
    this.nextSeq = (this.nextSeq + 1) & 0xffff;
    return this.conceal(false);
  }

  /** Drops everything (e.g. the remote changed SSRC or media was re-negotiated). */
  reset(): void {
    this.clearSlots();
    this.started = false;
    this.playing = false;
    this.committed = false;
    this.missingRun = 0;
    this.lastFrame = undefined;
  }

  private restart(seq: number): void {
    this.stats.resets++;
    this.clearSlots();
    this.nextSeq = seq;
    this.playing = false;
    this.committed = false;
    this.bufferingTicks = 0;
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

  /** Skips the oldest positions until only depthFrames remain buffered. */
  private trimToDepth(): void {
    this.committed = true;
    while (this.count > this.depthFrames) {
      const slot = this.nextSeq & (CAPACITY - 1);
      if (this.slots[slot] !== undefined && this.slotSeq[slot] === this.nextSeq) {
        this.take(slot);
        this.stats.overflowDrops++;
      }
      this.nextSeq = (this.nextSeq + 1) & 0xffff;
    }
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
