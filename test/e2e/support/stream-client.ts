/**
 * A carrier's side of a WebSocket media stream, as Twilio Media Streams and
 * Telnyx document it, for end-to-end tests: `connected`, `start` (custom
 * parameters, mu-law 8 kHz), `media` (base64 mu-law, 20 ms, with sequence
 * numbers and timestamps), `dtmf`, `stop` out; `media`, `mark`, `clear` in.
 * Received agent audio goes into a playout buffer that plays one 20 ms frame
 * per tick of real time, and each `mark` is echoed once the audio before it
 * has played, or at once when a `clear` empties the buffer (as Twilio does),
 * so the server learns what was heard exactly the way it would from a
 * carrier. `heard` holds the energy of every frame played.
 */
import WebSocket from 'ws';
import { decodeG711, encodeG711 } from '../../../media/audio/g711.ts';
import type { StreamDialect } from '../../../media/streams/protocol.ts';

export interface HeardFrame { at: number; rms: number }

type Queued = { kind: 'audio'; pcm: Int16Array } | { kind: 'mark'; name: string };

export class StreamClient {
  readonly heard: HeardFrame[] = [];
  readonly marksReceived: string[] = [];
  readonly marksEchoed: string[] = [];
  clears = 0;
  closed: { code: number; reason: string } | undefined;
  private readonly buffer: Queued[] = [];
  private seq = 0;
  private chunk = 0;
  private readonly started = performance.now();
  private readonly ticker: NodeJS.Timeout;
  private nextTick = performance.now();

  private constructor(private readonly ws: WebSocket, private readonly dialect: StreamDialect, readonly streamId: string) {
    ws.on('message', (data) => this.onMessage(String(data)));
    ws.on('close', (code, reason) => { this.closed = { code, reason: reason.toString() }; });
    this.ticker = setInterval(() => this.tick(), 5);
  }

  /** Opens the socket; rejects with the HTTP status when the upgrade is refused. */
  static async connect(url: string, dialect: StreamDialect, streamId: string): Promise<StreamClient> {
    const ws = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('unexpected-response', (_req, res) => { reject(new UpgradeRefused(res.statusCode ?? 0)); ws.terminate(); });
      ws.once('error', reject);
    });
    return new StreamClient(ws, dialect, streamId);
  }

  /** `connected` then `start`, as the carrier sends them. */
  start(callId: string, customParameters: Record<string, string>): void {
    if (this.dialect === 'twilio') {
      this.send({ event: 'connected', protocol: 'Call', version: '1.0.0' });
      this.send({
        event: 'start', sequenceNumber: String(++this.seq), streamSid: this.streamId,
        start: {
          streamSid: this.streamId, accountSid: 'AC00000000000000000000000000000000', callSid: callId, tracks: ['inbound'],
          customParameters, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
        },
      });
    } else {
      this.send({ event: 'connected', version: '1.0.0' });
      this.send({
        event: 'start', sequence_number: String(++this.seq), stream_id: this.streamId,
        start: { call_control_id: callId, custom_parameters: customParameters, media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 1 } },
      });
    }
  }

  /** The caller's audio (8 kHz PCM16), sent in 20 ms media messages at real time; resolves when the last has left. */
  async say(pcm: Int16Array, stop: () => boolean = () => false): Promise<void> {
    const frame = new Uint8Array(160);
    let due = performance.now();
    for (let i = 0; i + 160 <= pcm.length && !stop() && !this.closed; i += 160) {
      encodeG711('mulaw', pcm.subarray(i, i + 160), frame);
      const payload = Buffer.from(frame).toString('base64');
      const ts = String(Math.round(performance.now() - this.started));
      this.chunk++;
      this.send(this.dialect === 'twilio'
        ? { event: 'media', sequenceNumber: String(++this.seq), streamSid: this.streamId, media: { track: 'inbound', chunk: String(this.chunk), timestamp: ts, payload } }
        : { event: 'media', sequence_number: String(++this.seq), stream_id: this.streamId, media: { track: 'inbound', chunk: String(this.chunk), timestamp: ts, payload } });
      due += 20;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** Silence in real time until `done()` (or the socket closes, or `maxMs`). */
  async silenceUntil(done: () => boolean, maxMs: number): Promise<void> {
    const deadline = performance.now() + maxMs;
    const piece = new Int16Array(1600);
    while (!done() && !this.closed && performance.now() < deadline) await this.say(piece);
  }

  dtmf(digit: string): void {
    this.send(this.dialect === 'twilio'
      ? { event: 'dtmf', streamSid: this.streamId, sequenceNumber: String(++this.seq), dtmf: { track: 'inbound_track', digit } }
      : { event: 'dtmf', stream_id: this.streamId, sequence_number: String(++this.seq), dtmf: { digit } });
  }

  /** The caller hangs up: the carrier sends `stop` and closes the socket. */
  stop(): void {
    this.send(this.dialect === 'twilio'
      ? { event: 'stop', sequenceNumber: String(++this.seq), streamSid: this.streamId, stop: { accountSid: 'AC00000000000000000000000000000000', callSid: 'x' } }
      : { event: 'stop', sequence_number: String(++this.seq), stream_id: this.streamId, stop: { call_control_id: 'x' } });
    this.ws.close(1000);
  }

  /** The network goes away mid-call: no stop, no close handshake. */
  dropConnection(): void {
    this.ws.terminate();
  }

  /** Voiced frames heard after `since` (performance.now()). */
  voicedAfter(since: number, threshold = 300): number {
    return this.heard.filter((h) => h.at > since && h.rms > threshold).length;
  }

  lastVoicedAt(threshold = 300): number {
    return this.heard.filter((h) => h.rms > threshold).pop()?.at ?? 0;
  }

  /** Audio received and not yet played, in ms. */
  get bufferedMs(): number {
    return this.buffer.filter((q) => q.kind === 'audio').length * 20;
  }

  close(): void {
    clearInterval(this.ticker);
    if (!this.closed) this.ws.terminate();
  }

  private send(message: unknown): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  private onMessage(text: string): void {
    const m = JSON.parse(text) as { event: string; media?: { payload: string }; mark?: { name: string }; streamSid?: string };
    if (this.dialect === 'twilio' && m.streamSid !== this.streamId) throw new Error(`message for another stream: ${text.slice(0, 100)}`);
    if (m.event === 'media') {
      const bytes = Buffer.from(m.media!.payload, 'base64');
      const pcm = new Int16Array(bytes.length);
      decodeG711('mulaw', bytes, pcm);
      this.buffer.push({ kind: 'audio', pcm });
    } else if (m.event === 'mark') {
      this.marksReceived.push(m.mark!.name);
      this.buffer.push({ kind: 'mark', name: m.mark!.name });
    } else if (m.event === 'clear') {
      this.clears++;
      // The buffer is dropped; the marks still in it come back at once.
      for (const q of this.buffer.splice(0)) if (q.kind === 'mark') this.echoMark(q.name);
    }
    this.flushMarks();
  }

  /** One 20 ms frame per 20 ms of real time; marks reached are echoed. */
  private tick(): void {
    const now = performance.now();
    while (this.nextTick <= now) {
      this.nextTick += 20;
      this.flushMarks();
      const next = this.buffer.shift();
      if (!next) { this.nextTick = Math.max(this.nextTick, now); break; }
      if (next.kind === 'audio') this.heard.push({ at: now, rms: rms(next.pcm) });
      this.flushMarks();
    }
  }

  private flushMarks(): void {
    while (this.buffer[0]?.kind === 'mark') this.echoMark((this.buffer.shift() as { name: string }).name);
  }

  private echoMark(name: string): void {
    this.marksEchoed.push(name);
    this.send(this.dialect === 'twilio' ? { event: 'mark', sequenceNumber: String(++this.seq), streamSid: this.streamId, mark: { name } } : { event: 'mark', mark: { name } });
  }
}

export class UpgradeRefused extends Error {
  override name = 'UpgradeRefused';
  constructor(readonly status: number) {
    super(`the WebSocket upgrade was refused with ${status}`);
  }
}

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const s of pcm) sum += s * s;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}
