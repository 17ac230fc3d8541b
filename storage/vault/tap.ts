/**
 * The recorder's side tap: both legs of a call into one 2-channel PCM16
 * stream (left = caller, right = agent) for the vault.
 *
 * `StereoInterleaver` places each 20 ms frame in a time slot from its capture
 * time, waits up to `maxSkewFrames` for the other leg, and emits interleaved
 * frames in slot order with silence for a missing leg (and for gaps). Frames
 * that arrive after their slot was emitted are dropped and counted. It keeps
 * fixed ring buffers and one reused output buffer, so the per-frame cost is a
 * copy, no allocation.
 * `RecordingTap` feeds that stream into a RecordingWriter and never throws into
 * the media path: failures are kept and reported once via `onError`.
 */
import { endianness } from 'node:os';
import type { RecordingSummary, RecordingWriter } from './writer.ts';

export interface TapFrame {
  /** Mono PCM16 samples, normally one 20 ms frame. */
  pcm: Int16Array;
  /** Capture time of the first sample, ms, on the same monotonic clock for both legs. */
  timeMs: number;
  sampleRate?: number;
}

export interface StereoInterleaverOptions {
  sampleRate?: number;
  frameMs?: number;
  /** How many frames one leg may run ahead before the other leg's missing frames count as silence (default 10 = 200 ms). */
  maxSkewFrames?: number;
  /** Receives each interleaved frame. The buffer is reused: copy it if you keep it (RecordingWriter.write copies). */
  onAudio: (interleaved: Buffer) => void;
}

const CALLER = 0;
const AGENT = 1;
type Leg = typeof CALLER | typeof AGENT;

export class StereoInterleaver {
  readonly sampleRate: number;
  readonly frameMs: number;
  readonly frameSamples: number;
  framesEmitted = 0;
  lateFramesDropped = 0;
  private readonly maxSkew: number;
  private readonly ring: number;
  private readonly slots: [Int16Array[], Int16Array[]];
  private readonly held: [Float64Array, Float64Array];
  private readonly lastSlot = [-1, -1];
  private readonly silence: Int16Array;
  private readonly out: Buffer;
  /** A PCM16 view of `out` on little-endian hosts: per-sample writes without Buffer's bounds checks. */
  private readonly out16: Int16Array | undefined;
  private readonly onAudio: (interleaved: Buffer) => void;
  private origin: number | null = null;
  private next = 0;

  constructor(opts: StereoInterleaverOptions) {
    this.sampleRate = opts.sampleRate ?? 8000;
    this.frameMs = opts.frameMs ?? 20;
    this.frameSamples = Math.round((this.sampleRate * this.frameMs) / 1000);
    this.maxSkew = Math.max(0, opts.maxSkewFrames ?? 10);
    this.ring = this.maxSkew + 2;
    const makeLeg = (): Int16Array[] => Array.from({ length: this.ring }, () => new Int16Array(this.frameSamples));
    this.slots = [makeLeg(), makeLeg()];
    this.held = [new Float64Array(this.ring).fill(-1), new Float64Array(this.ring).fill(-1)];
    this.silence = new Int16Array(this.frameSamples);
    this.out = Buffer.alloc(this.frameSamples * 4);
    this.out16 = endianness() === 'LE' ? new Int16Array(this.out.buffer, this.out.byteOffset, this.frameSamples * 2) : undefined;
    this.onAudio = opts.onAudio;
  }

  pushCaller(pcm: Int16Array, timeMs: number): void { this.push(CALLER, pcm, timeMs); }
  pushAgent(pcm: Int16Array, timeMs: number): void { this.push(AGENT, pcm, timeMs); }

  /** Emits everything held, with silence where a leg has nothing (end of call). */
  flush(): void {
    const last = Math.max(this.lastSlot[CALLER]!, this.lastSlot[AGENT]!);
    while (this.next <= last) this.emitNext();
  }

  private push(leg: Leg, pcm: Int16Array, timeMs: number): void {
    // Frames longer than one slot fill consecutive slots; a short one is padded with silence.
    if (pcm.length === 0) return;
    for (let at = 0, k = 0; at < pcm.length; at += this.frameSamples, k++) {
      this.place(leg, pcm.subarray(at, Math.min(pcm.length, at + this.frameSamples)), timeMs + k * this.frameMs);
    }
  }

  private place(leg: Leg, pcm: Int16Array, timeMs: number): void {
    this.origin ??= timeMs;
    let slot = Math.round((timeMs - this.origin) / this.frameMs);
    // Jitter can round two consecutive frames of one leg into the same slot: the later one takes the next.
    if (slot === this.lastSlot[leg]) slot++;
    if (slot < this.next) { this.lateFramesDropped++; return; }
    while (slot - this.next > this.maxSkew) this.emitNext();
    const index = slot % this.ring;
    const target = this.slots[leg][index]!;
    target.set(pcm);
    if (pcm.length < this.frameSamples) target.fill(0, pcm.length);
    this.held[leg][index] = slot;
    if (slot > this.lastSlot[leg]!) this.lastSlot[leg] = slot;
    while (this.has(CALLER, this.next) && this.has(AGENT, this.next)) this.emitNext();
  }

  private has(leg: Leg, slot: number): boolean {
    return this.held[leg][slot % this.ring] === slot;
  }

  private emitNext(): void {
    const slot = this.next;
    const index = slot % this.ring;
    const caller = this.has(CALLER, slot) ? this.slots[CALLER][index]! : this.silence;
    const agent = this.has(AGENT, slot) ? this.slots[AGENT][index]! : this.silence;
    const out = this.out16;
    if (out) {
      for (let i = 0, o = 0; i < this.frameSamples; i++, o += 2) {
        out[o] = caller[i]!;
        out[o + 1] = agent[i]!;
      }
    } else {
      for (let i = 0, o = 0; i < this.frameSamples; i++, o += 4) {
        this.out.writeInt16LE(caller[i]!, o);
        this.out.writeInt16LE(agent[i]!, o + 2);
      }
    }
    this.held[CALLER][index] = -1;
    this.held[AGENT][index] = -1;
    this.next++;
    this.framesEmitted++;
    this.onAudio(this.out);
  }
}

export interface RecordingTapOptions {
  sampleRate?: number;
  maxSkewFrames?: number;
  /** Called once with the first failure (store error, wrong sample rate); the tap then stops writing. */
  onError?: (err: unknown) => void;
}

export class RecordingTap {
  private readonly interleaver: StereoInterleaver;
  private failure: unknown = null;
  private finished = false;

  constructor(private readonly writer: RecordingWriter, private readonly opts: RecordingTapOptions = {}) {
    if (writer.header.channels !== 2) throw new RangeError('a RecordingTap needs a 2-channel recording');
    const sampleRate = opts.sampleRate ?? writer.header.sampleRate;
    if (sampleRate !== writer.header.sampleRate) throw new RangeError(`tap sample rate ${sampleRate} differs from the recording's ${writer.header.sampleRate}`);
    this.interleaver = new StereoInterleaver({
      sampleRate,
      maxSkewFrames: opts.maxSkewFrames ?? 10,
      onAudio: (frame) => {
        if (this.failure) return;
        this.writer.write(frame).catch((err: unknown) => this.fail(err));
      },
    });
  }

  get error(): unknown { return this.failure; }
  /** Recording and key ids from the header this tap writes under. */
  get recordingId(): string { return this.writer.header.recordingId; }
  get keyId(): string { return this.writer.header.keyId; }
  get stats(): { framesEmitted: number; lateFramesDropped: number } {
    return { framesEmitted: this.interleaver.framesEmitted, lateFramesDropped: this.interleaver.lateFramesDropped };
  }

  /** Caller leg (left channel). */
  caller(frame: TapFrame): void { if (this.accept(frame)) this.interleaver.pushCaller(frame.pcm, frame.timeMs); }
  /** Agent leg (right channel). */
  agent(frame: TapFrame): void { if (this.accept(frame)) this.interleaver.pushAgent(frame.pcm, frame.timeMs); }

  /** Flushes held frames and seals the recording. */
  async finish(): Promise<RecordingSummary> {
    if (!this.failure) this.interleaver.flush();
    this.finished = true;
    return this.writer.finish();
  }

  private accept(frame: TapFrame): boolean {
    if (this.failure || this.finished) return false;
    if (frame.sampleRate !== undefined && frame.sampleRate !== this.interleaver.sampleRate) {
      this.fail(new RangeError(`tap got a ${frame.sampleRate} Hz frame for a ${this.interleaver.sampleRate} Hz recording`));
      return false;
    }
    return true;
  }

  private fail(err: unknown): void {
    if (this.failure) return;
    this.failure = err;
    this.opts.onError?.(err);
  }
}
