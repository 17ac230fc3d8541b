/**
 * The caller's outgoing audio on a transport without an RtpSession of its own
 * (WebRTC, media streams): 20 ms frames queued and handed out one per tick of
 * the benchmark's pacer, so every way in sends at the same real-time pace and
 * BenchCall reads `queuedMs` the same way on each.
 */
import { FRAME_SAMPLES, type Pacer } from '../../media/rtp/index.ts';

export class PacedFrames {
  private readonly frames: Int16Array[] = [];
  private head = 0;
  private removeTick: (() => void) | undefined;
  packetsOut = 0;

  /** `send` gets each frame (160 samples, 8 kHz) at its tick. */
  constructor(private readonly send: (frame: Int16Array) => void) {}

  /** Starts sending on `pacer` (before BenchCall's own tick is added, so a tick's send precedes its reading). */
  start(pacer: Pacer): void {
    this.removeTick ??= pacer.add(() => this.tick());
  }

  push(pcm: Int16Array): void {
    for (let i = 0; i + FRAME_SAMPLES <= pcm.length; i += FRAME_SAMPLES) this.frames.push(pcm.subarray(i, i + FRAME_SAMPLES));
  }

  get queuedMs(): number {
    return (this.frames.length - this.head) * 20;
  }

  stop(): void {
    this.removeTick?.();
    this.removeTick = undefined;
    this.frames.length = 0;
    this.head = 0;
  }

  private tick(): void {
    if (this.head >= this.frames.length) return;
    const frame = this.frames[this.head++]!;
    if (this.head === this.frames.length) { this.frames.length = 0; this.head = 0; }
    this.packetsOut++;
    this.send(frame);
  }
}
