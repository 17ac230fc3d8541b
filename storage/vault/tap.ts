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
 *
 * Audio redaction: with `holdMs` the tap keeps the newest stretch of the
 * interleaved stream in a fixed ring before handing it to the writer, so a
 * decision about audio just heard (a caller turn's redaction) usually reaches
 * it in memory. `silence(startMs, endMs)` (call clock) zeroes both channels
 * over that span: frames not yet emitted are zeroed when they are, held
 * frames at once, and audio already handed on through the writer's
 * silence() (which re-seals sealed chunks in place). Call-clock times become
 * recording positions through where the caller frames were actually placed
 * (`recordingMs`), so a frame moved to a later slot by jitter moves its span
 * with it.
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

/** Caller-frame shifts within this many ms count as the same placement. */
const ANCHOR_TOLERANCE_MS = 5;
/** Anchors kept per recording (a minute of frames even if every one moved). */
const MAX_ANCHORS = 3000;

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
  /**
   * Where caller frames landed: from each anchor's call-clock time on, a frame
   * sits `shiftMs` later in the recording than its time says (jitter rounding
   * moved it to the next slot, or a late burst). A new anchor only when the
   * shift changes by more than a few ms; bounded (the oldest go).
   */
  private readonly anchorTimeMs: number[] = [];
  private readonly anchorShiftMs: number[] = [];

  /** Call-clock time of the first slot, once a frame arrived. */
  get originMs(): number | null { return this.origin; }

  /** Where call-clock time `timeMs` lies in the recording (ms from its start), as the caller frames were placed. */
  recordingMs(timeMs: number): number | null {
    if (this.origin === null) return null;
    let i = this.anchorTimeMs.length - 1;
    while (i > 0 && this.anchorTimeMs[i]! > timeMs) i--;
    return timeMs - this.origin + (i >= 0 ? this.anchorShiftMs[i]! : 0);
  }

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
    if (leg === CALLER) this.anchor(timeMs, slot * this.frameMs - (timeMs - this.origin));
    while (slot - this.next > this.maxSkew) this.emitNext();
    const index = slot % this.ring;
    const target = this.slots[leg][index]!;
    target.set(pcm);
    if (pcm.length < this.frameSamples) target.fill(0, pcm.length);
    this.held[leg][index] = slot;
    if (slot > this.lastSlot[leg]!) this.lastSlot[leg] = slot;
    while (this.has(CALLER, this.next) && this.has(AGENT, this.next)) this.emitNext();
  }

  private anchor(timeMs: number, shiftMs: number): void {
    const n = this.anchorShiftMs.length;
    if (n > 0 && Math.abs(this.anchorShiftMs[n - 1]! - shiftMs) <= ANCHOR_TOLERANCE_MS) return;
    this.anchorTimeMs.push(timeMs);
    this.anchorShiftMs.push(shiftMs);
    if (n + 1 > MAX_ANCHORS) {
      this.anchorTimeMs.shift();
      this.anchorShiftMs.shift();
    }
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
  /** Audio held in memory before it goes to the writer, so redaction can reach it first (default 0). */
  holdMs?: number;
  /** Called once with the first failure (store error, wrong sample rate); the tap then stops writing. */
  onError?: (err: unknown) => void;
}

/** Frames at most kept for spans that lie ahead of the audio (a span reaching into the future). */
const MAX_AHEAD_SPANS = 64;

export class RecordingTap {
  private readonly interleaver: StereoInterleaver;
  private failure: unknown = null;
  private finished = false;
  /** The held window: a ring of interleaved frames, oldest at `ringHead`. */
  private readonly ring: Buffer[];
  private ringHead = 0;
  private ringCount = 0;
  /** Interleaved frames handed to the writer so far. */
  private framesWritten = 0;
  /** Spans reaching past the newest emitted frame: applied as those frames are emitted (recording ms). */
  private ahead: Array<{ startMs: number; endMs: number }> = [];
  /** Spans decided before the first frame (call clock ms). */
  private early: Array<{ startMs: number; endMs: number }> = [];
  private silenceRequests = 0;

  constructor(private readonly writer: RecordingWriter, private readonly opts: RecordingTapOptions = {}) {
    if (writer.header.channels !== 2) throw new RangeError('a RecordingTap needs a 2-channel recording');
    const sampleRate = opts.sampleRate ?? writer.header.sampleRate;
    if (sampleRate !== writer.header.sampleRate) throw new RangeError(`tap sample rate ${sampleRate} differs from the recording's ${writer.header.sampleRate}`);
    this.interleaver = new StereoInterleaver({
      sampleRate,
      maxSkewFrames: opts.maxSkewFrames ?? 10,
      onAudio: (frame) => this.onInterleaved(frame),
    });
    const holdFrames = Math.max(0, Math.round((opts.holdMs ?? 0) / this.interleaver.frameMs));
    this.ring = Array.from({ length: holdFrames }, () => Buffer.alloc(this.interleaver.frameSamples * 4));
  }

  /**
   * Replaces both channels with silence over [startMs, endMs) on the call
   * clock (the frames' timeMs). Never throws; a failed re-seal fails the tap.
   */
  silence(startMs: number, endMs: number): void {
    if (this.failure || this.finished || !(endMs > startMs)) return;
    this.silenceRequests++;
    const il = this.interleaver;
    if (il.originMs === null) {
      // Nothing recorded yet: kept on the call clock until the first frame fixes the origin.
      this.early.push({ startMs, endMs });
      return;
    }
    this.silenceRecording(il.recordingMs(startMs)!, il.recordingMs(endMs)!);
  }

  /** Silences [fromMs, toMs) of the recording's own timeline (ms from its first sample). */
  private silenceRecording(fromMs: number, toMs: number): void {
    const il = this.interleaver;
    const emittedEndMs = il.framesEmitted * il.frameMs;
    if (toMs > emittedEndMs) {
      if (this.ahead.length >= MAX_AHEAD_SPANS) this.ahead.shift();
      this.ahead.push({ startMs: fromMs, endMs: toMs });
    }
    if (fromMs >= emittedEndMs) return;
    const frameBytes = il.frameSamples * 4;
    const toByte = (ms: number): number => Math.max(0, Math.round((ms * il.sampleRate) / 1000)) * 4;
    const from = toByte(fromMs);
    const to = Math.min(toByte(toMs), il.framesEmitted * frameBytes);
    const writtenBytes = this.framesWritten * frameBytes;
    // Held frames: zeroed in memory.
    for (let k = 0; k < this.ringCount; k++) {
      const frameStart = writtenBytes + k * frameBytes;
      const a = Math.max(from, frameStart);
      const b = Math.min(to, frameStart + frameBytes);
      if (b > a) this.ring[(this.ringHead + k) % this.ring.length]!.fill(0, a - frameStart, b - frameStart);
    }
    // Already with the writer: zeroed there (re-sealed when sealed).
    if (from < writtenBytes) this.writer.silence(from, Math.min(to, writtenBytes)).catch((err: unknown) => this.fail(err));
  }

  get error(): unknown { return this.failure; }
  /** Recording and key ids from the header this tap writes under. */
  get recordingId(): string { return this.writer.header.recordingId; }
  get keyId(): string { return this.writer.header.keyId; }
  /** Call-clock time of the recording's first sample, once a frame arrived. */
  get originMs(): number | null { return this.interleaver.originMs; }
  /** Where a call-clock time lies in the recording (ms from its start), or null before the first frame. */
  recordingMs(timeMs: number): number | null { return this.interleaver.recordingMs(timeMs); }
  get stats(): { framesEmitted: number; lateFramesDropped: number; silenceRequests: number } {
    return { framesEmitted: this.interleaver.framesEmitted, lateFramesDropped: this.interleaver.lateFramesDropped, silenceRequests: this.silenceRequests };
  }

  /** Caller leg (left channel). */
  caller(frame: TapFrame): void { if (this.accept(frame)) this.interleaver.pushCaller(frame.pcm, frame.timeMs); }
  /** Agent leg (right channel). */
  agent(frame: TapFrame): void { if (this.accept(frame)) this.interleaver.pushAgent(frame.pcm, frame.timeMs); }

  /** Flushes held frames and seals the recording. */
  async finish(): Promise<RecordingSummary> {
    if (!this.failure) this.interleaver.flush();
    while (this.ringCount > 0) this.release();
    this.finished = true;
    return this.writer.finish();
  }

  /** One interleaved frame from the interleaver: spans ahead applied, then held (or written when not holding). */
  private onInterleaved(frame: Buffer): void {
    if (this.failure) return;
    if (this.early.length > 0) {
      const il = this.interleaver;
      for (const span of this.early.splice(0)) this.silenceRecording(il.recordingMs(span.startMs)!, il.recordingMs(span.endMs)!);
    }
    this.applyAhead(frame);
    if (this.ring.length === 0) { this.writeOut(frame); return; }
    if (this.ringCount === this.ring.length) this.release();
    frame.copy(this.ring[(this.ringHead + this.ringCount) % this.ring.length]!);
    this.ringCount++;
  }

  /** Zeroes the part of the frame just emitted that a span reaching ahead covers. */
  private applyAhead(frame: Buffer): void {
    if (this.ahead.length === 0) return;
    const il = this.interleaver;
    const frameStartMs = (il.framesEmitted - 1) * il.frameMs;
    const frameEndMs = frameStartMs + il.frameMs;
    for (const span of this.ahead) {
      const a = Math.max(span.startMs, frameStartMs);
      const b = Math.min(span.endMs, frameEndMs);
      if (b <= a) continue;
      const at = (ms: number): number => Math.round(((ms - frameStartMs) * il.sampleRate) / 1000) * 4;
      frame.fill(0, at(a), Math.min(frame.length, at(b)));
    }
    this.ahead = this.ahead.filter((span) => span.endMs > frameEndMs);
  }

  private release(): void {
    const frame = this.ring[this.ringHead]!;
    this.ringHead = (this.ringHead + 1) % this.ring.length;
    this.ringCount--;
    this.writeOut(frame);
  }

  private writeOut(frame: Buffer): void {
    this.framesWritten++;
    if (this.failure) return;
    this.writer.write(frame).catch((err: unknown) => this.fail(err));
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
