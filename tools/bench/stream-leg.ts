/**
 * The benchmark's media-stream way in: a Twilio Media Streams client as
 * Twilio documents it. It opens the stream socket, sends `connected` and
 * `start` (mu-law 8 kHz, the stream token in the custom parameters, as the
 * TwiML `<Parameter>` carries it), then the caller's audio as base64 mu-law
 * `media` messages, one 20 ms frame per pacer tick, and `stop` to hang up.
 * The server paces its audio at real time, so a `media` message's arrival is
 * its play time, and each `mark` is echoed when it arrives (the audio before
 * it has been heard).
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { encodeG711 } from '../../media/audio/g711.ts';
import type { Pacer } from '../../media/rtp/index.ts';
import type { CallerLeg, LegEvents } from './caller-leg.ts';
import { PacedFrames } from './paced-frames.ts';
import { g711FrameDbfs } from './voice.ts';

export interface StreamLegOptions {
  pacer: Pacer;
  /** ws://host:port of the server's HTTP listener. */
  httpBase: string;
  /** A stream token for this call (src/streams/stream-token.ts) and the carrier call id it names. */
  token: string;
  callSid: string;
  openTimeoutMs?: number;
}

const ACCOUNT_SID = 'AC00000000000000000000000000000000';

export class StreamLeg implements CallerLeg {
  readonly transport = 'ws' as const;
  private ws: WebSocket | undefined;
  private seq = 0;
  private chunk = 0;
  private readonly startedAt = performance.now();
  private readonly streamSid = `MZ${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
  private readonly out = new PacedFrames((frame) => this.sendMedia(frame));
  private readonly mulaw = new Uint8Array(160);

  constructor(private readonly options: StreamLegOptions) {}

  async connect(events: LegEvents, signal?: AbortSignal): Promise<void> {
    const o = this.options;
    const ws = new WebSocket(`${o.httpBase}/v1/streams/twilio`);
    this.ws = ws;
    ws.on('message', (data) => {
      const at = performance.now();
      this.onMessage(String(data), at, events);
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the media stream socket did not open')), o.openTimeoutMs ?? 10_000);
      const abort = (): void => reject(new Error('aborted'));
      signal?.addEventListener('abort', abort, { once: true });
      ws.once('open', () => { clearTimeout(timer); signal?.removeEventListener('abort', abort); resolve(); });
      ws.once('unexpected-response', (_req, res) => { clearTimeout(timer); reject(new Error(`media stream upgrade refused (HTTP ${res.statusCode ?? 0})`)); });
      ws.once('error', (error) => { clearTimeout(timer); reject(error); });
    });
    ws.on('error', () => undefined);
    ws.once('close', () => events.hungUp());
    this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
    this.send({
      event: 'start', sequenceNumber: String(++this.seq), streamSid: this.streamSid,
      start: {
        streamSid: this.streamSid, accountSid: ACCOUNT_SID, callSid: o.callSid, tracks: ['inbound'],
        customParameters: { token: o.token }, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
      },
    });
    this.out.start(o.pacer);
  }

  sendFrame(pcm: Int16Array): void {
    this.out.push(pcm);
  }

  get queuedMs(): number {
    return this.out.queuedMs;
  }

  get packetsOut(): number {
    return this.out.packetsOut;
  }

  async hangup(): Promise<void> {
    this.send({ event: 'stop', sequenceNumber: String(++this.seq), streamSid: this.streamSid, stop: { accountSid: ACCOUNT_SID, callSid: this.options.callSid } });
    this.ws?.close(1000);
  }

  async close(): Promise<void> {
    this.out.stop();
    const ws = this.ws;
    if (!ws || ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      ws.once('close', () => resolve());
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      setTimeout(resolve, 1000).unref();
    });
  }

  private sendMedia(frame: Int16Array): void {
    encodeG711('mulaw', frame, this.mulaw);
    this.chunk++;
    this.send({
      event: 'media', sequenceNumber: String(++this.seq), streamSid: this.streamSid,
      media: { track: 'inbound', chunk: String(this.chunk), timestamp: String(Math.round(performance.now() - this.startedAt)), payload: Buffer.from(this.mulaw).toString('base64') },
    });
  }

  private onMessage(text: string, at: number, events: LegEvents): void {
    let m: { event?: string; media?: { payload?: string }; mark?: { name?: string } };
    try {
      m = JSON.parse(text) as typeof m;
    } catch {
      return;
    }
    if (m.event === 'media' && typeof m.media?.payload === 'string') {
      const bytes = Buffer.from(m.media.payload, 'base64');
      events.agent({ at, dbfs: g711FrameDbfs('mulaw', bytes), mulaw: bytes });
    } else if (m.event === 'mark' && typeof m.mark?.name === 'string') {
      this.send({ event: 'mark', sequenceNumber: String(++this.seq), streamSid: this.streamSid, mark: { name: m.mark.name } });
    }
  }

  private send(message: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}
