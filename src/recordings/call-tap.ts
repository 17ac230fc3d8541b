/**
 * The recorder as a call tap (src/calls CallTap): caller frames go to the
 * recording as they are played out; agent audio is recorded when it is
 * *sent*, not when it is queued. The pipeline queues agent audio faster than
 * real time and a barge-in drops what is still queued, so the tap keeps the
 * queued agent audio itself and, at every observation (each caller frame,
 * each agent push, and a 100 ms timer for calls whose caller sends nothing),
 * compares it with what is still waiting in the outgoing queue:
 *
 *   sent     = (held - still queued), at most the elapsed time since the
 *              last observation plus one frame: recorded, ending "now";
 *   the rest = dropped by a clear (barge-in): removed from the tail.
 *
 * With no queue to ask (`useOutgoingQueue` never called), the queue is
 * estimated from real time. At the end, what was sent is recorded, the
 * unsent remainder is dropped and the recording is sealed.
 * Never throws into the media path and never logs call content.
 */
import { performance } from 'node:perf_hooks';
import type { AudioFrame } from '../../media/audio/frames.ts';
import type { CallTap } from '../calls/index.ts';
import type { CallRecorder } from './recording-service.ts';

const OBSERVE_EVERY_MS = 100;

export interface RecordingCallTapOptions {
  /** Clock shared with the caller frames' timeMs (default performance.now()). */
  now?: () => number;
  /** Called once the recording is sealed (or failed to). */
  onDone?: () => void;
}

export class RecordingCallTap implements CallTap {
  private held: Int16Array[] = [];
  private heldSamples = 0;
  private rate = 8000;
  private lastObservedMs: number;
  /** Without the real queue: when the audio queued so far finishes playing. */
  private estimatedEndMs: number;
  private queued: (() => number) | undefined;
  private readonly carry: Int16Array[] = [];
  private carrySamples = 0;
  private carryStartMs = 0;
  private readonly timer: NodeJS.Timeout;
  private ended = false;
  private readonly now: () => number;

  constructor(readonly recorder: CallRecorder, private readonly options: RecordingCallTapOptions = {}) {
    this.now = options.now ?? (() => performance.now());
    this.lastObservedMs = this.now();
    this.estimatedEndMs = this.lastObservedMs;
    this.timer = setInterval(() => this.safely(() => this.observe(this.now())), OBSERVE_EVERY_MS);
    this.timer.unref();
  }

  /** The outgoing queue of the call (RtpSession.queuedMs): makes the agent leg exact, barge-in included. */
  useOutgoingQueue(queuedMs: () => number): void {
    this.queued = queuedMs;
  }

  onCallerFrame(frame: AudioFrame): void {
    if (this.ended) return;
    this.safely(() => this.observe(this.now()));
    this.recorder.caller(frame);
  }

  onAgentAudio(pcm: Int16Array, sampleRate: number): void {
    if (this.ended || pcm.length === 0) return;
    this.safely(() => {
      const now = this.now();
      this.observe(now);
      this.rate = sampleRate;
      this.held.push(pcm.slice());
      this.heldSamples += pcm.length;
      this.estimatedEndMs = Math.max(this.estimatedEndMs, now) + (pcm.length * 1000) / sampleRate;
    });
  }

  onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.timer);
    this.safely(() => {
      this.observe(this.now());
      this.flushCarry();
    });
    this.held = [];
    this.heldSamples = 0;
    this.recorder.finish().catch(() => null).finally(() => this.options.onDone?.());
  }

  /** Samples still waiting in the outgoing queue. */
  private queuedSamples(now: number): number {
    const ms = this.queued ? this.queued() : Math.max(0, this.estimatedEndMs - now);
    return Math.round((ms * this.rate) / 1000);
  }

  private observe(now: number): void {
    const elapsedMs = Math.max(0, now - this.lastObservedMs);
    this.lastObservedMs = now;
    if (this.heldSamples === 0) return;
    const gone = this.heldSamples - Math.min(this.heldSamples, this.queuedSamples(now));
    if (gone <= 0) return;
    const frame = this.rate / 50;
    const sent = Math.min(gone, Math.round((elapsedMs * this.rate) / 1000) + frame);
    const taken = this.take(sent);
    if (taken.length > 0) this.record(taken, now - (taken.length * 1000) / this.rate);
    const cleared = gone - sent;
    if (cleared > 0) this.dropTail(cleared);
  }

  /** Removes `n` samples from the front of the held audio. */
  private take(n: number): Int16Array {
    const out = new Int16Array(n);
    let o = 0;
    while (o < n && this.held.length > 0) {
      const head = this.held[0]!;
      const k = Math.min(head.length, n - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.held.shift();
      else this.held[0] = head.subarray(k);
    }
    this.heldSamples -= o;
    return o === n ? out : out.subarray(0, o);
  }

  private dropTail(n: number): void {
    let left = n;
    while (left > 0 && this.held.length > 0) {
      const last = this.held[this.held.length - 1]!;
      if (last.length <= left) {
        this.held.pop();
        left -= last.length;
      } else {
        this.held[this.held.length - 1] = last.subarray(0, last.length - left);
        left = 0;
      }
    }
    this.heldSamples -= n - left;
    this.estimatedEndMs = this.lastObservedMs + (this.heldSamples * 1000) / this.rate;
  }

  /** Cuts sent agent audio (starting at `startMs`) into 20 ms frames for the recorder. */
  private record(pcm: Int16Array, startMs: number): void {
    const frame = this.rate / 50;
    const frameMs = 20;
    if (this.carrySamples === 0 || Math.abs(this.carryStartMs + (this.carrySamples * 1000) / this.rate - startMs) > frameMs) {
      this.flushCarry();
      this.carryStartMs = startMs;
    }
    this.carry.push(pcm);
    this.carrySamples += pcm.length;
    while (this.carrySamples >= frame) {
      const out = this.takeCarry(frame);
      this.recorder.agent({ kind: 'audio', pcm: out, sampleRate: this.rate, timeMs: this.carryStartMs });
      this.carryStartMs += frameMs;
    }
  }

  private flushCarry(): void {
    if (this.carrySamples === 0) return;
    const frame = this.rate / 50;
    const out = new Int16Array(frame);
    out.set(this.takeCarry(this.carrySamples));
    this.recorder.agent({ kind: 'audio', pcm: out, sampleRate: this.rate, timeMs: this.carryStartMs });
    this.carryStartMs += 20;
  }

  private takeCarry(n: number): Int16Array {
    const out = new Int16Array(n);
    let o = 0;
    while (o < n) {
      const head = this.carry[0]!;
      const k = Math.min(head.length, n - o);
      out.set(head.subarray(0, k), o);
      o += k;
      if (k === head.length) this.carry.shift();
      else this.carry[0] = head.subarray(k);
    }
    this.carrySamples -= n;
    return out;
  }

  private safely(work: () => void): void {
    try {
      work();
    } catch {
      // a recording problem must never break the call; the recorder reports its own failures
    }
  }
}
