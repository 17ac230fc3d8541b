/**
 * An in-memory CallTransport for conversation tests. One pacer loop stands in
 * for RTP: every tick it hands the pipeline one 20 ms caller frame (scripted
 * audio, else silence) and sends 20 ms of queued agent audio, on a frame
 * clock that advances 20 ms per tick. Pace 'realtime' ticks every 20 ms of
 * wall time; 'fast' runs ticks that carry scripted caller audio about 20x
 * faster than real time, as do ticks that send agent audio, and it falls back
 * to real time when both sides are silent, so waits for providers stay
 * realistic. `now()` is the frame clock (wall time
 * plus how far fast ticks ran ahead), for the conversation's `clock` option.
 * A real-time tick that comes late (the test process was busy) catches up as
 * the RTP session's playout does (media/rtp/session.ts): the caller's audio
 * kept coming while the ticks were skipped, so the newest skipped slots, at
 * most MAX_CATCH_UP_FRAMES, get their frames at once, stamped with their own
 * times; only a longer stall leaves a gap in the frame clock. Without it a
 * stall inside a pause of the caller's words looked like a longer pause than
 * the audio holds.
 * It records what was played, clearPlayback() calls, DTMF, transfers and
 * hang-ups; press() plays the caller's keypad; close() stops the loop so the test process can exit.
 */
import { readFileSync } from 'node:fs';
import { parseWav, pcm16Samples } from '../../media/audio/wav.ts';
import type { AudioFrame, DtmfFrame } from '../../media/audio/frames.ts';
import type { CallTransport, EndReason, PlayoutStart } from '../../pipeline/transport.ts';

const fixtures = new URL('../../fixtures/audio/', import.meta.url);

/** PCM16 samples of a fixture WAV (e.g. 'yes-please-8k.wav'). */
export function fixturePcm(name: string): { pcm: Int16Array; sampleRate: number } {
  const wav = parseWav(readFileSync(new URL(name, fixtures)));
  return { pcm: pcm16Samples(wav), sampleRate: wav.sampleRate };
}

/** Skipped real-time slots filled after a stall: the RTP session's default `maxCatchUpFrames` (200 ms, a deep jitter buffer). */
export const MAX_CATCH_UP_FRAMES = 10;

export interface PlayedChunk { atMs: number; samples: number }
export interface ClearCall { atMs: number; droppedMs: number; lastFrameEndMs: number }

export class FakeTransport implements CallTransport {
  readonly played: PlayedChunk[] = [];
  readonly clears: ClearCall[] = [];
  readonly dtmfSent: string[] = [];
  readonly transfers: string[] = [];
  readonly hangups: string[] = [];
  /** Agent audio still queued when hangup() was called (0 = the last words were heard). */
  readonly hangupQueuedMs: number[] = [];
  readonly playoutStarts: number[] = [];
  /** Agent audio that actually left (ms), i.e. what the caller heard. */
  sentMs = 0;
  transferFails = false;
  /** False: playout starts are never announced (a transport that takes new audio for the rest of earlier audio). */
  announcePlayout = true;
  ended: string | undefined;

  private readonly frameListeners = new Set<(f: AudioFrame | DtmfFrame) => void>();
  private readonly playoutListeners = new Set<(e: PlayoutStart) => void>();
  private readonly endListeners = new Set<(reason: EndReason) => void>();
  private readonly wrapUpListeners = new Set<() => void>();
  private readonly script: Int16Array[] = [];
  private readonly queue: Int16Array[] = [];
  private queuedSamples = 0;
  private wasSending = false;
  private offsetMs = 0;
  private lastFrameEnd = 0;
  /** The previous tick was a fast one (its frame clock ran ahead): the next real-time tick has nothing to catch up. */
  private previousTickFast = false;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private readonly frameSamples: number;
  private waiters: Array<{ test: () => boolean; resolve: () => void }> = [];

  constructor(readonly sampleRate = 8000, public pace: 'realtime' | 'fast' = 'fast') {
    this.frameSamples = sampleRate / 50;
  }

  now(): number {
    return performance.now() + this.offsetMs;
  }

  /** Queue caller audio (any length at `sampleRate`), sent 20 ms per tick after what is already queued. */
  say(pcm: Int16Array): void {
    for (let i = 0; i < pcm.length; i += this.frameSamples) {
      const frame = new Int16Array(this.frameSamples);
      frame.set(pcm.subarray(i, Math.min(pcm.length, i + this.frameSamples)));
      this.script.push(frame);
    }
  }

  sayFixture(name: string): void {
    const { pcm, sampleRate } = fixturePcm(name);
    if (sampleRate !== this.sampleRate) throw new Error(`${name} is ${sampleRate} Hz; the transport runs at ${this.sampleRate}`);
    this.say(pcm);
  }

  /** The caller presses keys (RFC 4733 digits): one DTMF frame per key, delivered now, stamped with the frame clock. */
  press(keys: string): void {
    for (const digit of keys) {
      const frame: DtmfFrame = { kind: 'dtmf', digit, durationMs: 100, timeMs: this.now() };
      for (const l of [...this.frameListeners]) l(frame);
    }
    this.checkWaiters();
  }

  /** Caller audio still to be sent, in ms. */
  get scriptedMs(): number {
    return this.script.length * 20;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule();
  }

  /** The caller hangs up. */
  callerHangup(reason = 'caller_hangup'): void {
    this.end(reason);
  }

  close(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when `test()` holds (checked every tick), rejects after `timeoutMs` of wall time. */
  waitFor(test: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const waiter = { test, resolve: () => { clearTimeout(timer); resolve(); } };
      this.waiters.push(waiter);
    });
  }

  // ------------------------------------------------------------ CallTransport

  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void {
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  play(pcm: Int16Array): void {
    if (this.ended || pcm.length === 0) return;
    this.queue.push(pcm.slice());
    this.queuedSamples += pcm.length;
    this.played.push({ atMs: this.now(), samples: pcm.length });
  }

  clearPlayback(): number {
    const dropped = (this.queuedSamples * 1000) / this.sampleRate;
    this.queue.length = 0;
    this.queuedSamples = 0;
    this.clears.push({ atMs: this.now(), droppedMs: dropped, lastFrameEndMs: this.lastFrameEnd });
    return dropped;
  }

  queuedMs(): number {
    return (this.queuedSamples * 1000) / this.sampleRate;
  }

  onPlayoutStart(listener: (event: PlayoutStart) => void): () => void {
    this.playoutListeners.add(listener);
    return () => this.playoutListeners.delete(listener);
  }

  async sendDtmf(digits: string): Promise<void> {
    this.dtmfSent.push(digits);
  }

  async transfer(target: string): Promise<void> {
    if (this.transferFails) throw new Error('transfer refused');
    this.transfers.push(target);
    this.end('transferred');
  }

  async hangup(reason: string): Promise<void> {
    this.hangups.push(reason);
    this.hangupQueuedMs.push(this.queuedMs());
    this.end(reason);
  }

  onEnd(listener: (reason: EndReason) => void): () => void {
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  onWrapUp(listener: () => void): () => void {
    this.wrapUpListeners.add(listener);
    return () => this.wrapUpListeners.delete(listener);
  }

  /** The server asks the call to wrap up (it is shutting down). */
  wrapUp(): void {
    for (const l of this.wrapUpListeners) l();
  }

  // ------------------------------------------------------------ pacer

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = reason;
    this.close();
    // Passed through as the test wrote it (a real call normalises it with endReasonOf): conversation tests compare it.
    for (const l of [...this.endListeners]) l(reason as EndReason);
    this.checkWaiters();
  }

  private schedule(): void {
    if (!this.running) return;
    const fast = this.pace === 'fast' && (this.script.length > 0 || this.queuedSamples > 0);
    this.timer = setTimeout(() => this.tick(fast), fast ? 1 : 20);
  }

  private tick(fast: boolean): void {
    this.timer = undefined;
    if (!this.running) return;
    const wall = performance.now();
    const afterFastTick = this.previousTickFast;
    this.previousTickFast = fast;
    if (fast) {
      // The frame clock moves 20 ms per tick; fast ticks pull it ahead of the wall clock.
      const t = this.lastFrameEnd;
      this.offsetMs = Math.max(this.offsetMs, t + 20 - wall);
      this.step(t);
    } else {
      const due = wall + this.offsetMs;
      // Whole 20 ms slots that began since the last frame ended: this tick came late by that many.
      const missed = this.lastFrameEnd > 0 && !afterFastTick ? Math.floor((due - this.lastFrameEnd) / 20) : 0;
      for (let i = Math.min(missed, MAX_CATCH_UP_FRAMES); i > 0 && this.running; i--) this.step(due - i * 20);
      if (!this.running) return;
      const t = Math.max(this.lastFrameEnd, due);
      // A real-time tick can fire a little early (timers have 1 ms grain), so t may lead the wall clock:
      // now() must never fall behind the start of a frame already sent.
      this.offsetMs = Math.max(this.offsetMs, t - wall);
      this.step(t);
    }
    this.schedule();
  }

  /** One 20 ms slot starting at frame-clock time `t`: 20 ms of agent audio out, one caller frame in. */
  private step(t: number): void {
    let need = this.frameSamples;
    const sending = this.queuedSamples > 0;
    if (sending && !this.wasSending && this.announcePlayout) {
      this.playoutStarts.push(t);
      for (const l of [...this.playoutListeners]) l({ timeMs: t });
    }
    this.wasSending = sending;
    while (need > 0 && this.queue.length > 0) {
      const head = this.queue[0]!;
      const take = Math.min(need, head.length);
      if (take === head.length) this.queue.shift();
      else this.queue[0] = head.subarray(take);
      need -= take;
      this.queuedSamples -= take;
      this.sentMs += (take * 1000) / this.sampleRate;
    }
    const pcm = this.script.shift() ?? new Int16Array(this.frameSamples);
    this.lastFrameEnd = t + 20;
    const frame: AudioFrame = { kind: 'audio', pcm, sampleRate: this.sampleRate, timeMs: t };
    for (const l of [...this.frameListeners]) l(frame);
    this.checkWaiters();
  }

  private checkWaiters(): void {
    const ready = this.waiters.filter((w) => w.test());
    this.waiters = this.waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.resolve();
  }
}
