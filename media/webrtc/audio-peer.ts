/**
 * The server's side of one browser call: ICE, DTLS-SRTP and one Opus audio
 * track, answered to the browser's offer.
 *
 * Engine: node-datachannel (libdatachannel). It installs as prebuilt platform
 * packages from the npm registry (no compiler, no Debian packages, no
 * environment variable: the install rule holds) and does ICE, DTLS and SRTP
 * in C++, so JavaScript only sees plain RTP. mediasoup is an SFU (more than a
 * 1:1 call needs) whose worker cannot be installed here without build
 * packages; werift is pure TypeScript (SRTP and DTLS on the event loop, the
 * same loop that runs the conversations). No STUN or TURN server is
 * configured: the server's host candidates (`bindAddress`, the public
 * address) are what a browser reaches, and nothing is looked up outside.
 * Measured (`smartalex bench-webrtc`, tools/bench/webrtc.ts: callers in another
 * process, every frame echoed so Opus runs both ways): about 3 to 3.6 % of one
 * core per call on a shared 2-core EPYC VM (4 and 10 calls, load ~13), the
 * whole server side included (ICE, DTLS-SRTP, Opus in WebAssembly, resampling).
 *
 * Audio: the browser's Opus (48 kHz) is decoded and resampled to 16 kHz 20 ms
 * frames for the conversation (wideband: better recognition); agent audio at
 * 16 kHz is resampled to 48 kHz, Opus-encoded and paced out on the process's
 * shared 20 ms clock (media/rtp/pacer.ts). Packets are taken in arrival
 * order (no reordering: a late packet is decoded late rather than dropped).
 * libdatachannel's native threads keep a process alive after its last peer
 * has closed: a process that is done must exit explicitly (`serve` does;
 * media/webrtc/native-exit.ts says why without `cleanup()`).
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import nodeDataChannel from 'node-datachannel';
import { parse as parseSdp } from 'sdp-transform';
import { OpusDecoder, OpusEncoder, OPUS_FRAME_SAMPLES, OPUS_RATE } from '../audio/opus.ts';
import { Resampler } from '../audio/resample.ts';
import type { AudioFrame } from '../audio/frames.ts';
import { PcmFramer, PlayoutQueue } from '../audio/pcm-frames.ts';
import { looksLikeRtcp, parseRtp, writeRtpHeader, RTP_HEADER_BYTES } from '../rtp/packet.ts';
import { sharedPacer, type Pacer } from '../rtp/pacer.ts';

export const WEBRTC_SAMPLE_RATE = 16_000;
const FRAME_SAMPLES = 320;

export class WebRtcOfferError extends Error {
  override name = 'WebRtcOfferError';
}

export interface AudioPeerOptions {
  /** Local address for ICE host candidates (the server's reachable address). */
  bindAddress: string;
  portRangeBegin?: number;
  portRangeEnd?: number;
  /** Give up on gathering the answer's candidates after this long. Default 5000 ms. */
  gatherTimeoutMs?: number;
  /** No connection within this long after answering ends the peer. Default 15 000 ms. */
  connectTimeoutMs?: number;
  pacer?: Pacer;
}

export interface AudioPeerEvents {
  /** DTLS is up and the track is open: audio can flow. */
  open: [];
  audio: [AudioFrame];
  playout: [{ timeMs: number }];
  /** Agent audio frames as they left (16 kHz), for the recorder. */
  sent: [Int16Array];
  end: [reason: string];
}

interface OfferedAudio { mid: string; payloadType: number }

/** The first Opus audio section of a browser offer; anything else is refused with a reason. */
export function offeredOpus(offer: string): OfferedAudio {
  if (offer.length > 64 * 1024) throw new WebRtcOfferError('offer too large');
  let session: ReturnType<typeof parseSdp>;
  try {
    session = parseSdp(offer);
  } catch {
    throw new WebRtcOfferError('offer is not SDP');
  }
  const audio = session.media.find((m) => m.type === 'audio' && m.port !== 0);
  if (!audio) throw new WebRtcOfferError('the offer has no audio');
  if (!/SAVPF/.test(audio.protocol)) throw new WebRtcOfferError('the offer is not DTLS-SRTP');
  const opus = audio.rtp.find((r) => r.codec.toLowerCase() === 'opus' && r.rate === OPUS_RATE);
  if (!opus) throw new WebRtcOfferError('the offer has no Opus');
  return { mid: String(audio.mid ?? '0'), payloadType: opus.payload };
}

/**
 * A native callback's body: an exception must not escape into libdatachannel (it would abort the process);
 * a listener's bug is thrown again on the next turn of the event loop, as Node would surface it.
 */
function guarded<A extends unknown[]>(body: (...args: A) => void): (...args: A) => void {
  return (...args) => {
    try {
      body(...args);
    } catch (error) {
      setImmediate(() => { throw error; });
    }
  };
}

export class WebRtcAudioPeer extends EventEmitter<AudioPeerEvents> {
  private readonly pc: nodeDataChannel.PeerConnection;
  private readonly track: nodeDataChannel.Track;
  private readonly payloadType: number;
  /** PCM rate of the frames both ways (wideband). */
  readonly sampleRate = WEBRTC_SAMPLE_RATE;
  private readonly ssrc = randomInt(1, 2 ** 32 - 1);
  private sequence = randomInt(0, 65_535);
  private timestamp = randomInt(0, 2 ** 32 - 1);
  private readonly decoder = new OpusDecoder();
  private readonly encoder = new OpusEncoder();
  private readonly down = new Resampler(OPUS_RATE, WEBRTC_SAMPLE_RATE);
  private readonly up = new Resampler(WEBRTC_SAMPLE_RATE, OPUS_RATE);
  private readonly inbound = new PcmFramer(FRAME_SAMPLES);
  private readonly queue = new PlayoutQueue(FRAME_SAMPLES, WEBRTC_SAMPLE_RATE);
  /** Agent audio went out on the previous tick (the next frame continues the talkspurt: no marker bit). */
  private talking = false;
  /**
   * The current playout was announced ('playout'). Cleared with `talking` and also when a frame leaves the
   * queue empty: audio queued after that is a new playout (a pipeline that saw the queue empty waits for its
   * start), even when it follows on the next tick without a pause.
   */
  private announced = false;
  private carry = new Int16Array(0);
  private readonly pacer: Pacer;
  private readonly offTick: () => void;
  private endedReason: string | undefined;
  private opened = false;
  private readonly connectTimer: NodeJS.Timeout;
  /** Corrupt or foreign packets dropped. */
  dropped = 0;

  private constructor(offer: OfferedAudio, options: AudioPeerOptions) {
    super();
    this.payloadType = offer.payloadType;
    this.pc = new nodeDataChannel.PeerConnection('smartalex', {
      iceServers: [],
      bindAddress: options.bindAddress,
      ...(options.portRangeBegin ? { portRangeBegin: options.portRangeBegin } : {}),
      ...(options.portRangeEnd ? { portRangeEnd: options.portRangeEnd } : {}),
    });
    const audio = new nodeDataChannel.Audio(offer.mid, 'SendRecv');
    audio.addOpusCodec(offer.payloadType);
    audio.addSSRC(this.ssrc, 'smartalex', 'smartalex', 'agent');
    this.track = this.pc.addTrack(audio);
    this.track.onOpen(guarded(() => {
      this.opened = true;
      clearTimeout(this.connectTimer);
      this.emit('open');
    }));
    // Exceptions must not escape a native callback (node-datachannel would abort the process).
    this.track.onMessage((message) => {
      try {
        this.receive(message);
      } catch (error) {
        // receive() handles bad packets itself; what reaches here is a listener's bug: surface it as Node would.
        setImmediate(() => { throw error; });
      }
    });
    this.track.onClosed(guarded(() => this.end('remote-hangup')));
    this.pc.onStateChange(guarded((state: string) => {
      if (state === 'failed') this.end('ice-failed');
      else if (state === 'disconnected' || state === 'closed') this.end('remote-hangup');
    }));
    this.pacer = options.pacer ?? sharedPacer();
    this.offTick = this.pacer.add(() => this.tick());
    this.connectTimer = setTimeout(() => { if (!this.opened) this.close('connect-timeout'); }, options.connectTimeoutMs ?? 15_000);
    this.connectTimer.unref?.();
  }

  /** Answers a browser's offer (non-trickle: the answer carries all our candidates). */
  static async answer(offer: string, options: AudioPeerOptions): Promise<{ peer: WebRtcAudioPeer; answer: string }> {
    const peer = new WebRtcAudioPeer(offeredOpus(offer), options);
    try {
      const answer = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new WebRtcOfferError('could not gather candidates in time')), options.gatherTimeoutMs ?? 5000);
        peer.pc.onGatheringStateChange(guarded((state: string) => {
          if (state !== 'complete') return;
          clearTimeout(timer);
          const local = peer.pc.localDescription();
          if (local) resolve(local.sdp);
          else reject(new WebRtcOfferError('no local description'));
        }));
        try {
          peer.pc.setRemoteDescription(offer, 'offer');
        } catch (error) {
          clearTimeout(timer);
          reject(new WebRtcOfferError(`the offer was refused: ${error instanceof Error ? error.message : String(error)}`.slice(0, 200)));
        }
      });
      return { peer, answer };
    } catch (error) {
      peer.close('setup-failed');
      throw error;
    }
  }

  get ended(): boolean {
    return this.endedReason !== undefined;
  }

  /** Queue agent audio (16 kHz PCM16, any length). */
  play(pcm: Int16Array): void {
    if (this.endedReason !== undefined) return;
    this.queue.push(pcm);
  }

  queuedMs(): number {
    return this.queue.queuedMs;
  }

  clearPlayback(): number {
    this.announced = false; // what is queued next is a new playout
    return this.queue.clear();
  }

  close(reason: string): void {
    if (this.endedReason !== undefined) return;
    this.end(reason);
  }

  private receive(message: Buffer): void {
    if (this.endedReason !== undefined || looksLikeRtcp(message)) return;
    const parsed = parseRtp(message);
    if (!parsed.ok || parsed.packet.payloadType !== this.payloadType) {
      this.dropped++;
      return;
    }
    let pcm48: Int16Array;
    try {
      pcm48 = this.decoder.decode(parsed.packet.payload);
    } catch {
      this.dropped++;
      return;
    }
    this.inbound.push(this.down.process(pcm48), (frame) => this.emit('audio', { kind: 'audio', pcm: frame, sampleRate: WEBRTC_SAMPLE_RATE, timeMs: performance.now() }));
  }

  /** One 20 ms step of the shared clock: send the next agent frame, if any. */
  private tick(): void {
    if (this.endedReason !== undefined || !this.opened) return;
    const frame = this.queue.next();
    if (!frame) {
      this.talking = false;
      this.announced = false;
      this.timestamp = (this.timestamp + OPUS_FRAME_SAMPLES) >>> 0; // the clock runs on through silence
      return;
    }
    const marker = !this.talking;
    this.talking = true;
    if (!this.announced) {
      this.announced = true;
      this.emit('playout', { timeMs: performance.now() });
    }
    if (this.queue.queuedSamples === 0) this.announced = false;
    const payload = this.encoder.encode(this.upsampled(frame));
    this.sequence = (this.sequence + 1) & 0xffff;
    this.timestamp = (this.timestamp + OPUS_FRAME_SAMPLES) >>> 0;
    // A fresh buffer per packet: the native send may still hold the previous one.
    const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
    writeRtpHeader(packet, 0, { marker, payloadType: this.payloadType, sequenceNumber: this.sequence, timestamp: this.timestamp, ssrc: this.ssrc });
    packet.set(payload, RTP_HEADER_BYTES);
    try {
      this.track.sendMessageBinary(packet);
      this.emit('sent', frame);
    } catch {
      this.end('media-failure');
    }
  }

  /**
   * One 48 kHz Opus frame for one 16 kHz frame. The resampler's output per call can be a few samples
   * off the nominal 960 (its filter delay at the start of a talkspurt); the remainder carries over.
   */
  private upsampled(frame: Int16Array): Int16Array {
    const up = this.up.process(frame);
    const joined = new Int16Array(this.carry.length + up.length);
    joined.set(this.carry);
    joined.set(up, this.carry.length);
    const out = new Int16Array(OPUS_FRAME_SAMPLES);
    out.set(joined.subarray(0, OPUS_FRAME_SAMPLES));
    this.carry = joined.slice(Math.min(OPUS_FRAME_SAMPLES, joined.length));
    return out;
  }

  private end(reason: string): void {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    clearTimeout(this.connectTimer);
    this.offTick();
    this.queue.clear();
    try { this.pc.close(); } catch { /* already closed */ }
    this.decoder.close();
    this.encoder.close();
    this.emit('end', reason);
  }
}

