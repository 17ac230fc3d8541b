/**
 * The benchmark's WebRTC way in: a Node WebRTC peer (node-datachannel, as a
 * browser: one Opus track, non-trickle offer, loopback host candidates, no
 * STUN) and a client of the server's /v1/webrtc signalling socket, which
 * takes the offer with a call token and answers. The caller's 8 kHz frames
 * are resampled to 48 kHz and Opus-encoded, one RTP packet per pacer tick;
 * the agent's packets are Opus-decoded to meter their level. It runs in the
 * bench driver, a process apart from the server, so none of this is counted
 * as the server's CPU. A process that used it ends with
 * media/webrtc/native-exit.ts (libdatachannel's threads keep it alive).
 */
import { performance } from 'node:perf_hooks';
import nodeDataChannel from 'node-datachannel';
import WebSocket from 'ws';
import { OpusDecoder, OpusEncoder, OPUS_FRAME_SAMPLES, OPUS_RATE } from '../../media/audio/opus.ts';
import { Resampler } from '../../media/audio/resample.ts';
import { looksLikeRtcp, parseRtp, serializeRtp, type Pacer } from '../../media/rtp/index.ts';
import { WEBRTC_MAX_ATTEMPTS, type CallerLeg, type LegEvents } from './caller-leg.ts';
import { PacedFrames } from './paced-frames.ts';
import { frameDbfs } from './voice.ts';

export interface WebRtcLegOptions {
  pacer: Pacer;
  /** ws://host:port of the server's HTTP listener. */
  httpBase: string;
  /** Takes a fresh call token for the agent (src/webrtc/call-token.ts): each is used once, so a retry takes another. */
  token: () => string;
  bindAddress: string;
  connectTimeoutMs?: number;
}

const OPUS_PT = 111;

/**
 * The set-up failures a fresh attempt may cure, all the offerer's own race (WEBRTC_MAX_ATTEMPTS says what it
 * is): applying the answer throws ("without ICE transport"), or the caller's peer fails before its media is
 * up, or the server reports first that the media did not come up (`connect-failed`).
 */
const MEDIA_NOT_UP = /without ICE transport|own peer failed|connect-failed/;
const OWN_PEER_FAILED = 'the caller\'s own peer failed before its media came up';

interface Attempt { pc: nodeDataChannel.PeerConnection; track: nodeDataChannel.Track; ws: WebSocket }

export class WebRtcLeg implements CallerLeg {
  readonly transport = 'webrtc' as const;
  private attempt: Attempt | undefined;
  private readonly ssrc = (Math.floor(Math.random() * 2 ** 31) + 1) >>> 0;
  private seq = Math.floor(Math.random() * 0x10000);
  private timestamp = Math.floor(Math.random() * 2 ** 31);
  private readonly up = new Resampler(8000, OPUS_RATE);
  private readonly encoder = new OpusEncoder();
  private readonly decoder = new OpusDecoder();
  private readonly out = new PacedFrames((frame) => this.sendFrameNow(frame));
  private closed = false;
  private readonly failures: string[] = [];

  constructor(private readonly options: WebRtcLegOptions) {}

  async connect(events: LegEvents, signal?: AbortSignal): Promise<void> {
    for (let n = 1; ; n++) {
      try {
        await this.dial(events, signal);
        break;
      } catch (error) {
        this.closeAttempt();
        this.failures.push(String(error));
        if (n >= WEBRTC_MAX_ATTEMPTS || !MEDIA_NOT_UP.test(String(error))) throw error;
      }
    }
    this.out.start(this.options.pacer);
  }

  /** Why each set-up attempt that was given up failed, in order (the call's restarts, and its last error if it failed). */
  get setupFailures(): readonly string[] {
    return this.failures;
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
    const ws = this.attempt?.ws;
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'hangup' }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.out.stop();
    this.closeAttempt();
    this.encoder.close();
    this.decoder.close();
  }

  private closeAttempt(): void {
    const a = this.attempt;
    this.attempt = undefined;
    if (!a) return;
    a.ws.removeAllListeners('close');
    a.ws.on('error', () => undefined);
    if (a.ws.readyState === WebSocket.OPEN || a.ws.readyState === WebSocket.CONNECTING) a.ws.terminate();
    try { a.track.close(); } catch { /* already closed */ }
    try { a.pc.close(); } catch { /* already closed */ }
  }

  /** One try: a fresh peer's offer over a fresh signalling socket, the answer applied, media up and the call started. */
  private async dial(events: LegEvents, signal?: AbortSignal): Promise<void> {
    const o = this.options;
    const pc = new nodeDataChannel.PeerConnection('bench-caller', { iceServers: [], bindAddress: o.bindAddress });
    const audio = new nodeDataChannel.Audio('0', 'SendRecv');
    audio.addOpusCodec(OPUS_PT);
    audio.addSSRC(this.ssrc, 'bench', 'b', 'mic');
    const track = pc.addTrack(audio);
    const ws = new WebSocket(`${o.httpBase}/v1/webrtc`);
    this.attempt = { pc, track, ws };
    const opened = new Promise<void>((resolve) => track.onOpen(resolve));
    track.onMessage((msg) => {
      const at = performance.now();
      this.onPacket(msg, at, events);
    });
    const offer = await new Promise<string>((resolve) => {
      pc.onGatheringStateChange((state) => { if (state === 'complete') resolve(pc.localDescription()!.sdp); });
      pc.setLocalDescription();
    });
    const messages: Array<Record<string, unknown>> = [];
    let wake: (() => void) | undefined;
    let socketClosed = false;
    let peerFailed = false;
    pc.onStateChange((state) => { if (state === 'failed') { peerFailed = true; wake?.(); } });
    ws.on('message', (data) => {
      let m: Record<string, unknown>;
      try { m = JSON.parse(String(data)) as Record<string, unknown>; } catch { return; }
      messages.push(m);
      wake?.();
    });
    ws.on('error', () => undefined);
    // Only an established call's socket closing is the server hanging up: one closing during set-up fails this
    // attempt (which may start over), not the call.
    let established = false;
    ws.on('close', () => { socketClosed = true; wake?.(); if (established && this.attempt?.ws === ws) events.hungUp(); });
    const deadline = performance.now() + (o.connectTimeoutMs ?? 30_000);
    const until = async <T>(what: string, pick: () => T | undefined): Promise<T> => {
      for (;;) {
        const found = pick();
        if (found !== undefined) return found;
        if (signal?.aborted) throw new Error('aborted');
        if (socketClosed) throw new Error(`the signalling socket closed before ${what}${errorOf(messages)}`);
        const left = deadline - performance.now();
        if (left <= 0) throw new Error(`no ${what} within ${o.connectTimeoutMs ?? 30_000} ms`);
        await new Promise<void>((resolve) => { wake = resolve; setTimeout(resolve, Math.min(left, 250)); });
        wake = undefined;
      }
    };
    await until('socket open', () => (ws.readyState === WebSocket.OPEN ? true : undefined));
    ws.send(JSON.stringify({ type: 'offer', token: o.token(), sdp: offer }));
    const answer = await until('answer', () => messages.find((m) => m.type === 'answer'));
    pc.setRemoteDescription(String(answer.sdp), 'answer');
    let open = false;
    void opened.then(() => { open = true; wake?.(); });
    await until('media', () => {
      if (open) return true;
      if (peerFailed) throw new Error(OWN_PEER_FAILED);
      return undefined;
    });
    await until('call start', () => messages.find((m) => m.type === 'call'));
    established = true;
    if (socketClosed) events.hungUp();
  }

  private sendFrameNow(frame: Int16Array): void {
    const track = this.attempt?.track;
    if (!track) return;
    const pcm48 = this.up.process(frame);
    if (pcm48.length !== OPUS_FRAME_SAMPLES) return; // the resampler's first call may hold samples back
    const payload = this.encoder.encode(pcm48);
    this.seq = (this.seq + 1) & 0xffff;
    this.timestamp = (this.timestamp + OPUS_FRAME_SAMPLES) >>> 0;
    try {
      track.sendMessageBinary(serializeRtp({ marker: false, payloadType: OPUS_PT, sequenceNumber: this.seq, timestamp: this.timestamp, ssrc: this.ssrc, payload }));
    } catch {
      // the track closed under us (the call ended): the leg's close follows
    }
  }

  private onPacket(msg: Buffer, at: number, events: LegEvents): void {
    if (looksLikeRtcp(msg)) return;
    const parsed = parseRtp(msg);
    if (!parsed.ok || parsed.packet.payloadType !== OPUS_PT) return;
    const p = parsed.packet;
    let pcm: Int16Array;
    try {
      pcm = this.decoder.decode(p.payload);
    } catch {
      return;
    }
    events.agent({ at, dbfs: frameDbfs(pcm), rtp: { sequenceNumber: p.sequenceNumber, timestamp: p.timestamp, marker: p.marker, clockRate: OPUS_RATE } });
  }
}

function errorOf(messages: ReadonlyArray<Record<string, unknown>>): string {
  const e = messages.find((m) => m.type === 'error');
  return e ? ` (${String(e.code)}: ${String(e.message)})` : '';
}
