/**
 * One carrier WebSocket media stream (Twilio Media Streams or Telnyx Media
 * Streaming): caller audio out of it as 20 ms PCM16 frames, agent audio into
 * it paced at real time.
 *
 * The far end plays what we send from its own buffer, so we never send more
 * than `leadMs` ahead of real time, and put a `mark` after every `markEveryMs`
 * of audio: the provider echoes a mark once the audio before it has played,
 * which is how we know what the caller really heard. A barge-in drops our
 * queue and sends `clear` (the far end drops its buffer; marks echoed after a
 * clear say nothing about playing). Ends on `stop`, on the socket closing, on
 * a protocol error and on `idleTimeoutMs` without any message.
 */
import { EventEmitter } from 'node:events';
import { decodeG711, encodeG711, type G711Law } from '../audio/g711.ts';
import type { AudioFrame, DtmfFrame } from '../audio/frames.ts';
import { PcmFramer, PlayoutQueue } from '../audio/pcm-frames.ts';
import { parseStreamMessage, StreamProtocolError, StreamWriter, type StreamDialect } from './protocol.ts';

/** What this module needs of a WebSocket (the `ws` package's WebSocket fits). */
export interface StreamSocket {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  on(event: 'message', listener: (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  readonly bufferedAmount: number;
}

export interface StreamStart {
  streamId: string;
  callId: string;
  customParameters: Record<string, string>;
}

export interface MediaStreamOptions {
  dialect: StreamDialect;
  /** How far ahead of real time agent audio may be sent. Default 100 ms. */
  leadMs?: number;
  /** Audio between two marks. Default 100 ms. */
  markEveryMs?: number;
  /** No message for this long ends the stream. Default 10 000 ms. */
  idleTimeoutMs?: number;
  /** No `start` within this long after the socket opened ends the stream. Default 5000 ms. */
  startTimeoutMs?: number;
  /** performance.now() unless a test drives time. */
  now?: () => number;
}

export interface MediaStreamEvents {
  start: [StreamStart];
  audio: [AudioFrame];
  dtmf: [DtmfFrame];
  /** The first agent frame of a talkspurt left. */
  playout: [{ timeMs: number }];
  /** One 20 ms agent frame as it left (what a recorder keeps; never what was queued and then cleared). */
  sent: [AudioFrame];
  end: [reason: string];
}

export const STREAM_SAMPLE_RATE = 8000;
const FRAME_SAMPLES = 160;
const FRAME_MS = 20;

export class MediaStream extends EventEmitter<MediaStreamEvents> {
  private writer: StreamWriter | undefined;
  private law: G711Law = 'mulaw';
  private readonly leadMs: number;
  private readonly markEveryMs: number;
  private readonly idleTimeoutMs: number;
  private readonly now: () => number;
  /** Caller audio not yet a whole frame. */
  private readonly inbound = new PcmFramer(FRAME_SAMPLES);
  /** Agent audio waiting to be sent. */
  private readonly queue = new PlayoutQueue(FRAME_SAMPLES, STREAM_SAMPLE_RATE);
  /** Agent audio sent since the stream started / last acknowledged as played, in ms. */
  private sentMs = 0;
  private playedMs = 0;
  private readonly pendingMarks = new Map<string, number>();
  private markSeq = 0;
  private lastMarkAtMs = 0;
  /** performance.now() when the current talkspurt's audio reaches real time (its send budget). */
  private talkspurtStart: number | undefined;
  private talkspurtSentMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private idleTimer: NodeJS.Timeout | undefined;
  private endedReason: string | undefined;
  private readonly encoded = new Uint8Array(FRAME_SAMPLES);

  constructor(private readonly socket: StreamSocket, options: MediaStreamOptions) {
    super();
    this.leadMs = options.leadMs ?? 100;
    this.markEveryMs = options.markEveryMs ?? 100;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 10_000;
    this.now = options.now ?? (() => performance.now());
    const dialect = options.dialect;
    socket.on('message', (data, isBinary) => {
      if (this.endedReason !== undefined) return;
      this.armIdle();
      if (isBinary) return this.fail('binary frame');
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      try {
        const event = parseStreamMessage(dialect, text);
        if (event) this.handle(dialect, event);
      } catch (error) {
        this.fail(error instanceof StreamProtocolError ? error.message : 'bad message');
      }
    });
    socket.on('close', () => this.end('socket-closed'));
    socket.on('error', () => this.end('socket-error'));
    this.idleTimer = setTimeout(() => { if (!this.writer) this.fail('no start message'); }, options.startTimeoutMs ?? 5000);
    this.idleTimer.unref?.();
  }

  get ended(): boolean {
    return this.endedReason !== undefined;
  }

  /** Queue agent audio (8 kHz PCM16, any length); it leaves at real time plus the lead. */
  play(pcm: Int16Array): void {
    if (this.endedReason !== undefined || pcm.length === 0) return;
    this.queue.push(pcm);
    this.pump();
  }

  /** Agent audio queued here or sent and not yet acknowledged as played, in ms. */
  queuedMs(): number {
    return this.queue.queuedMs + Math.max(0, this.sentMs - this.playedMs);
  }

  /** Barge-in: drop our queue and the far end's buffer; returns the ms that will not be heard. */
  clearPlayback(): number {
    const dropped = this.queuedMs();
    this.queue.clear();
    this.pendingMarks.clear();
    this.playedMs = this.sentMs;
    this.talkspurtStart = undefined;
    if (this.writer && this.endedReason === undefined && dropped > 0) this.socket.send(this.writer.clear());
    return dropped;
  }

  /** Ends the stream from our side: the provider moves on to whatever follows the stream (the call ends). */
  close(reason: string): void {
    if (this.endedReason !== undefined) return;
    try { this.socket.close(1000, 'call ended'); } catch { /* already closing */ }
    this.end(reason);
  }

  private handle(dialect: StreamDialect, event: NonNullable<ReturnType<typeof parseStreamMessage>>): void {
    switch (event.kind) {
      case 'connected': return;
      case 'start':
        if (this.writer) return this.fail('second start message');
        if (event.sampleRate !== STREAM_SAMPLE_RATE) return this.fail(`unsupported sample rate ${event.sampleRate}`);
        this.law = event.encoding;
        this.writer = new StreamWriter(dialect, event.streamId);
        this.emit('start', { streamId: event.streamId, callId: event.callId, customParameters: event.customParameters });
        return;
      case 'media':
        if (!this.writer) return this.fail('media before start');
        if (event.track !== 'inbound' && event.track !== 'inbound_track') return;
        return this.takeCallerAudio(event.payload);
      case 'dtmf':
        this.emit('dtmf', { kind: 'dtmf', digit: event.digit, durationMs: 0, timeMs: this.now() });
        return;
      case 'mark': {
        const at = this.pendingMarks.get(event.name);
        if (at === undefined) return; // cleared, or not ours
        this.pendingMarks.delete(event.name);
        this.playedMs = Math.max(this.playedMs, at);
        return;
      }
      case 'stop':
        return this.end('remote-stop');
    }
  }

  private takeCallerAudio(payload: Buffer): void {
    const pcm = new Int16Array(payload.length);
    decodeG711(this.law, payload, pcm);
    this.inbound.push(pcm, (frame) => this.emit('audio', { kind: 'audio', pcm: frame, sampleRate: STREAM_SAMPLE_RATE, timeMs: this.now() }));
  }

  /** Sends what the budget allows now and schedules the next look. */
  private pump(): void {
    if (this.endedReason !== undefined || !this.writer) return;
    const now = this.now();
    if (this.talkspurtStart === undefined) {
      if (this.queue.queuedSamples === 0) return;
      this.talkspurtStart = now;
      this.talkspurtSentMs = 0;
      this.emit('playout', { timeMs: now });
    }
    const budgetMs = now - this.talkspurtStart + this.leadMs;
    while (this.queue.queuedSamples >= 1 && this.talkspurtSentMs < budgetMs) {
      this.sendFrame();
    }
    if (this.queue.queuedSamples === 0) {
      // Talkspurt over: the next play() starts a fresh budget, once what was sent has had time to play.
      const backlog = this.talkspurtSentMs - (now - this.talkspurtStart);
      if (backlog <= 0) this.talkspurtStart = undefined;
      else this.schedule(backlog);
      return;
    }
    this.schedule(FRAME_MS);
  }

  private schedule(ms: number): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.queue.queuedSamples === 0 && this.talkspurtStart !== undefined && this.now() - this.talkspurtStart >= this.talkspurtSentMs) {
        this.talkspurtStart = undefined;
      }
      this.pump();
    }, ms);
  }

  private sendFrame(): void {
    const frame = this.queue.next()!;
    encodeG711(this.law, frame, this.encoded);
    this.socket.send(this.writer!.media(this.encoded));
    if (this.listenerCount('sent') > 0) this.emit('sent', { kind: 'audio', pcm: frame, sampleRate: STREAM_SAMPLE_RATE, timeMs: this.now() });
    this.sentMs += FRAME_MS;
    this.talkspurtSentMs += FRAME_MS;
    if (this.sentMs - this.lastMarkAtMs >= this.markEveryMs || this.queue.queuedSamples === 0) {
      const name = `m${++this.markSeq}`;
      this.pendingMarks.set(name, this.sentMs);
      this.lastMarkAtMs = this.sentMs;
      this.socket.send(this.writer!.mark(name));
    }
  }

  private armIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => this.close('media-timeout'), this.idleTimeoutMs);
    this.idleTimer.unref?.();
  }

  private fail(why: string): void {
    if (this.endedReason !== undefined) return;
    try { this.socket.close(1008, why.slice(0, 120)); } catch { /* already closing */ }
    this.end('protocol-error');
  }

  private end(reason: string): void {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.queue.clear();
    this.emit('end', reason);
  }
}
