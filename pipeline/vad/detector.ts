/**
 * A per-call voice activity detector: takes the caller's 20 ms AudioFrames,
 * cuts them into the Silero model's windows (32 ms by default), scores each
 * window asynchronously on the shared model (in its inference thread, batched
 * with the other calls' windows of the same turn), and turns the probabilities into
 * `speech_start` / `speech_end` events with hysteresis (threshold, negative
 * threshold), a minimum speech length and a silence hangover.
 *
 * Times are in the frames' clock (AudioFrame.timeMs, monotonic ms):
 * - `speech_start.atMs`: start of the first window at or above `threshold`
 *   (the onset), emitted once windows at or above `negativeThreshold` add up
 *   to `minSpeechMs` (`detectedAtMs` is the end of the window that confirmed
 *   it); a blip that falls silent for `minSilenceMs` before that is dropped;
 * - `speech_end.atMs`: end of the window that completed `minSilenceMs` of
 *   silence; `endOfSpeechMs`: end of the last window at or above `threshold`,
 *   i.e. when the caller actually stopped (DESIGN.md "end of speech").
 *
 * Energy gate: a window whose RMS is below `energyGateDbfs` (default -60 dBFS,
 * about 33 LSB RMS in PCM16; digital silence, a quiet line's noise floor)
 * is not sent to the model; it scores probability 0. After 3 gated windows in
 * a row the call's model state goes back to the primed "silence" state, as if
 * the model had listened to the silence, so stale speech context does not
 * carry over into the next utterance.
 *
 * Work for one call runs strictly in order (the model state flows from one
 * window to the next); `close()` drops whatever is still queued and ignores
 * an inference that was in flight.
 */
import { EventEmitter } from 'node:events';
import type { AudioFrame } from '../../media/audio/frames.ts';
import {
  SILERO_WINDOWS,
  SileroModel,
  SileroState,
  defaultWindowSamples,
  isSileroSampleRate,
  type SileroSampleRate,
} from './silero.ts';

export interface VadOptions {
  /** Probability at or above which a window counts as speech. Default 0.5. */
  threshold?: number;
  /** Probability below which a window counts as silence while speaking. Default threshold - 0.15. */
  negativeThreshold?: number;
  /** Speech must last this long before speech_start is emitted. Default 100 ms. */
  minSpeechMs?: number;
  /** Silence hangover: speech_end after this much silence. Default 200 ms. */
  minSilenceMs?: number;
  /** Windows quieter than this RMS level (dBFS) skip inference. Default -60; -Infinity disables the gate. */
  energyGateDbfs?: number;
  /** Model window in samples (see SILERO_WINDOWS). Default 32 ms: 256 at 8 kHz, 512 at 16 kHz. */
  windowSamples?: number;
  /** Windows allowed to wait for inference; beyond this the oldest are dropped. Default 100 (3.2 s). */
  maxQueuedWindows?: number;
}

export const DEFAULT_VAD_OPTIONS = {
  threshold: 0.5,
  minSpeechMs: 100,
  minSilenceMs: 200,
  energyGateDbfs: -60,
  maxQueuedWindows: 100,
} as const;

export interface SpeechStartEvent { atMs: number; detectedAtMs: number }
export interface SpeechEndEvent { atMs: number; endOfSpeechMs: number }
export interface VadProbability { startMs: number; endMs: number; probability: number; gated: boolean }

export interface VadEvents {
  speech_start: [SpeechStartEvent];
  speech_end: [SpeechEndEvent];
  probability: [VadProbability];
  error: [Error];
}

interface QueuedWindow { samples: Float32Array; startMs: number; endMs: number; gated: boolean }

const GATED_WINDOWS_BEFORE_RESET = 3;

type Phase = 'silence' | 'pending' | 'speaking';

export class VoiceActivityDetector extends EventEmitter<VadEvents> {
  /** Loads (or reuses) the shared model and makes a detector for one call. */
  static async create(opts: VadOptions & { sampleRate: number; model?: SileroModel }): Promise<VoiceActivityDetector> {
    const model = opts.model ?? (await SileroModel.load());
    return new VoiceActivityDetector(model, opts.sampleRate, opts);
  }

  readonly sampleRate: SileroSampleRate;
  readonly windowSamples: number;
  readonly windowMs: number;
  readonly threshold: number;
  readonly negativeThreshold: number;
  readonly minSpeechMs: number;
  readonly minSilenceMs: number;
  readonly energyGateDbfs: number;
  /** Windows dropped because inference fell behind by more than maxQueuedWindows. */
  droppedWindows = 0;
  /** Windows scored by the model / skipped by the energy gate. */
  inferredWindows = 0;
  gatedWindows = 0;
  /** Windows whose inference failed (scored as not speech; an 'error' event is emitted when listened to). */
  failedWindows = 0;

  private readonly state: SileroState;
  private readonly gateMeanSquare: number;
  private readonly maxQueued: number;
  private pending: Float32Array;
  /** Window arrays whose samples have been used (run() copies them), ready to fill again. */
  private readonly spare: Float32Array[] = [];
  private pendingFill = 0;
  private pendingSumSquares = 0;
  private readonly queue: QueuedWindow[] = [];
  private running = false;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  private phase: Phase = 'silence';
  private onsetMs = 0;
  private lastSpeechEndMs = 0;
  private silenceSeen = false;
  private pendingSpeechMs = 0;
  private gatedRun = 0;

  constructor(private readonly model: SileroModel, sampleRate: number, options: VadOptions = {}) {
    super();
    if (!isSileroSampleRate(sampleRate)) {
      throw new RangeError(`Silero VAD runs at 8000 or 16000 Hz, not ${sampleRate}; resample first`);
    }
    this.sampleRate = sampleRate;
    this.windowSamples = options.windowSamples ?? defaultWindowSamples(sampleRate);
    if (!SILERO_WINDOWS[sampleRate].includes(this.windowSamples)) {
      throw new RangeError(`window of ${this.windowSamples} samples at ${sampleRate} Hz; use one of ${SILERO_WINDOWS[sampleRate].join(', ')}`);
    }
    this.windowMs = (this.windowSamples * 1000) / sampleRate;
    this.threshold = options.threshold ?? DEFAULT_VAD_OPTIONS.threshold;
    this.negativeThreshold = options.negativeThreshold ?? Math.max(0.01, this.threshold - 0.15);
    if (!(this.threshold > 0 && this.threshold < 1) || !(this.negativeThreshold <= this.threshold)) {
      throw new RangeError('VAD thresholds must satisfy 0 < negativeThreshold <= threshold < 1');
    }
    this.minSpeechMs = options.minSpeechMs ?? DEFAULT_VAD_OPTIONS.minSpeechMs;
    this.minSilenceMs = options.minSilenceMs ?? DEFAULT_VAD_OPTIONS.minSilenceMs;
    this.energyGateDbfs = options.energyGateDbfs ?? DEFAULT_VAD_OPTIONS.energyGateDbfs;
    this.gateMeanSquare = 10 ** (this.energyGateDbfs / 10);
    this.maxQueued = Math.max(1, options.maxQueuedWindows ?? DEFAULT_VAD_OPTIONS.maxQueuedWindows);
    this.pending = new Float32Array(this.windowSamples);
    this.state = model.newState(sampleRate);
  }

  /** True between speech_start and speech_end. */
  get speaking(): boolean {
    return this.phase === 'speaking';
  }

  /** Feed one frame of caller audio. Cheap and synchronous; inference happens later. */
  push(frame: AudioFrame): void {
    if (this.closed) return;
    if (frame.sampleRate !== this.sampleRate) {
      throw new RangeError(`VAD expects ${this.sampleRate} Hz frames, got ${frame.sampleRate} Hz`);
    }
    const pcm = frame.pcm;
    const msPerSample = 1000 / this.sampleRate;
    for (let i = 0; i < pcm.length; i++) {
      const x = (pcm[i] as number) / 32768;
      this.pending[this.pendingFill++] = x;
      this.pendingSumSquares += x * x;
      if (this.pendingFill === this.windowSamples) {
        // The window ends after sample i of this frame; the frame's own time keeps us in sync.
        const endMs = frame.timeMs + (i + 1) * msPerSample;
        this.enqueue(endMs - this.windowMs, endMs);
      }
    }
  }

  /** Resolves once every window pushed so far has been scored (or dropped by close()). */
  idle(): Promise<void> {
    if (this.closed || (!this.running && this.queue.length === 0)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops the detector: queued windows are dropped, an in-flight result is ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    this.wakeIdle();
  }

  private enqueue(startMs: number, endMs: number): void {
    const gated = this.pendingSumSquares / this.windowSamples < this.gateMeanSquare;
    // Each queued window needs its own array; arrays come back once their window has been sent (model.run() copies it).
    const samples = this.pending;
    this.pending = this.spare.pop() ?? new Float32Array(this.windowSamples);
    this.pendingFill = 0;
    this.pendingSumSquares = 0;
    if (this.queue.length >= this.maxQueued) {
      const dropped = this.queue.shift();
      if (dropped) this.recycle(dropped.samples);
      this.droppedWindows++;
    }
    this.queue.push({ samples, startMs, endMs, gated });
    if (!this.running) void this.drain();
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      for (let w = this.queue.shift(); w && !this.closed; w = this.queue.shift()) {
        let probability = 0;
        if (w.gated) {
          this.gatedWindows++;
          if (++this.gatedRun === GATED_WINDOWS_BEFORE_RESET) this.state.reset();
        } else {
          this.gatedRun = 0;
          try {
            const scored = this.model.run(w.samples, this.sampleRate, this.state);
            this.recycle(w.samples);
            probability = await scored;
            this.inferredWindows++;
          } catch (err) {
            if (this.closed) break;
            this.fail(err);
          }
          if (this.closed) break; // closed while this window was in flight: drop its result
        }
        if (w.gated) this.recycle(w.samples);
        this.emit('probability', { startMs: w.startMs, endMs: w.endMs, probability, gated: w.gated });
        this.decide(probability, w.startMs, w.endMs);
      }
    } finally {
      this.running = false;
      this.wakeIdle();
    }
  }

  private decide(p: number, startMs: number, endMs: number): void {
    if (this.phase === 'silence') {
      if (p < this.threshold) return;
      this.phase = 'pending';
      this.onsetMs = startMs;
      this.pendingSpeechMs = 0;
    }
    if (p >= this.threshold) {
      this.lastSpeechEndMs = endMs;
      this.silenceSeen = false;
    } else if (p < this.negativeThreshold) {
      this.silenceSeen = true;
    }
    if (this.phase === 'pending') {
      if (p >= this.negativeThreshold) this.pendingSpeechMs += endMs - startMs;
      if (this.pendingSpeechMs >= this.minSpeechMs) {
        this.phase = 'speaking';
        this.emit('speech_start', { atMs: this.onsetMs, detectedAtMs: endMs });
        return;
      }
    }
    if (this.silenceSeen && endMs - this.lastSpeechEndMs >= this.minSilenceMs) {
      // From 'pending' this quietly drops a blip shorter than minSpeechMs (a click, a breath).
      if (this.phase === 'speaking') this.emit('speech_end', { atMs: endMs, endOfSpeechMs: this.lastSpeechEndMs });
      this.phase = 'silence';
    }
  }

  private recycle(samples: Float32Array): void {
    if (this.spare.length < 4) this.spare.push(samples);
  }

  private fail(err: unknown): void {
    this.failedWindows++;
    const error = err instanceof Error ? err : new Error(String(err));
    // An 'error' event without a listener would throw out of the drain loop; only emit when heard.
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private wakeIdle(): void {
    if (this.running && !this.closed) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const wake of waiters) wake();
  }
}
