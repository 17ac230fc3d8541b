/**
 * Cutting PCM of any length into whole 20 ms frames, both ways: `PcmFramer`
 * gathers what a peer sends (WebSocket chunks, Opus packets) into frames for
 * the pipeline; `PlayoutQueue` holds agent audio (any length) and gives it back
 * one frame at a time for a pacer. The transports that are not RTP sessions
 * (media/streams, media/webrtc) share them.
 */

export class PcmFramer {
  private frame: Int16Array;
  private fill = 0;

  constructor(readonly frameSamples: number) {
    this.frame = new Int16Array(frameSamples);
  }

  /** Appends `pcm` and calls `onFrame` with each frame it completes (each frame is its own buffer). */
  push(pcm: Int16Array, onFrame: (frame: Int16Array) => void): void {
    let at = 0;
    while (at < pcm.length) {
      const take = Math.min(this.frameSamples - this.fill, pcm.length - at);
      this.frame.set(pcm.subarray(at, at + take), this.fill);
      this.fill += take;
      at += take;
      if (this.fill === this.frameSamples) {
        const done = this.frame;
        this.frame = new Int16Array(this.frameSamples);
        this.fill = 0;
        onFrame(done);
      }
    }
  }
}

export class PlayoutQueue {
  private readonly chunks: Int16Array[] = [];
  private head = 0;
  private samples = 0;

  constructor(readonly frameSamples: number, readonly sampleRate: number) {}

  push(pcm: Int16Array): void {
    if (pcm.length === 0) return;
    this.chunks.push(pcm);
    this.samples += pcm.length;
  }

  get queuedSamples(): number {
    return this.samples;
  }

  get queuedMs(): number {
    return (this.samples * 1000) / this.sampleRate;
  }

  /** Drops everything queued; returns how many ms that was. */
  clear(): number {
    const dropped = this.queuedMs;
    this.chunks.length = 0;
    this.head = 0;
    this.samples = 0;
    return dropped;
  }

  /** The next frame (the last one of a burst padded with silence), or undefined when empty. */
  next(): Int16Array | undefined {
    if (this.samples === 0) return undefined;
    const frame = new Int16Array(this.frameSamples);
    let filled = 0;
    while (filled < this.frameSamples && this.chunks.length > 0) {
      const chunk = this.chunks[0]!;
      const take = Math.min(this.frameSamples - filled, chunk.length - this.head);
      frame.set(chunk.subarray(this.head, this.head + take), filled);
      filled += take;
      this.head += take;
      if (this.head === chunk.length) {
        this.chunks.shift();
        this.head = 0;
      }
    }
    this.samples -= filled;
    return frame;
  }
}
