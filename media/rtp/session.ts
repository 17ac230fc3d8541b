/**
 * One call's RTP stream: a UDP socket pair (RTP on an even port, RTCP on the
 * next), G.711 or G.722 in and out, the jitter buffer, DTMF both ways and
 * RTCP reports.
 *
 * Sample rates: the session's PCM rate (`sampleRate`: 8 kHz for G.711,
 * 16 kHz for G.722 unless the opener says otherwise) is what the audio events
 * carry and sendFrame takes. It is fixed once audio has flowed; before that,
 * `setCodec(..., { adoptRate: true })` makes it the codec's (an outbound call
 * opens its session for the offer, and the answer picks the codec). The RTP clock is 8000 Hz for
 * all three codecs (RFC 3551: G.722 is "G722/8000"), so timestamps advance
 * 160 per 20 ms tick whatever the codec. A re-INVITE may switch to a codec of
 * another rate (G.722 to PCMU): the session then resamples between its PCM
 * rate and the codec's, so the conversation above never sees the change.
 * Decoding happens as packets arrive (before the jitter buffer): a reordered
 * G.722 packet decodes with the ADPCM state of arrival order, which the codec
 * recovers from within a few milliseconds.
 *
 * Receive: packets are checked (parse, payload type, source), decoded and put
 * in the jitter buffer; on every tick of the shared 20 ms pacer one 20 ms
 * AudioFrame (PCM16 at the session's rate) is pulled and emitted. Symmetric RTP: until the
 * peer's first valid packet we send to the SDP address; from then on we send
 * to (and only accept from) the address and port that packet came from.
 *
 * Source rule (against "RTP bleed", a host spraying the port range to take a
 * call over): only a packet whose source ADDRESS is the SDP connection
 * address or the SIP signalling source (`signallingAddress`) may latch; the
 * port may differ (a NAT'd peer). Anything else is dropped and counted
 * (`dropped['foreign-source']`), never decoded, never latched. A session that
 * knows neither address (a test peer learning its peer from the first packet)
 * latches to the first valid packet. The latch survives `setRemote` (a
 * re-INVITE) unless the SDP address changes, or a peer that sent from its own
 * SDP port announces another port.
 *
 * Send: `sendFrame` queues agent audio (any length, cut into 20 ms frames);
 * each pacer tick sends one packet with continuous sequence numbers and a
 * timestamp that follows the clock. `clearOutgoing` drops the queue on
 * barge-in. DTMF digits take the place of audio while they play.
 * Continuous RTP (`continuous`, default on): while the agent is silent the
 * stream does not stop (SBCs and NATs take a silent stream for a dead one):
 * each tick sends a silence frame in the negotiated codec or, when comfort
 * noise was negotiated (RFC 3389), one SID packet as the silence starts and a
 * refresh every SID_REFRESH_TICKS. The marker bit follows RFC 3551 4.1: it is
 * set on the first packet after a stretch in which packets were not sent
 * contiguously (the start, hold, CN, DTMF, a stall gap), so with silence
 * frames only the first packet carries it. The 'talkspurt' event (playout
 * start for the latency tracer) still fires on the first AGENT audio frame
 * after silence, and on the first frame of audio queued after the queue ran
 * dry: a reply that follows the previous one without a pause has a start too.
 * Filler is generated here, not queued: 'sent', which reports each agent
 * frame as its packet leaves (what the recorder takes), never
 * carries it.
 *
 * Event-loop stalls: when the pacer skipped ticks (the process was blocked),
 * the queued audio those ticks would have carried is sent at once, in a burst,
 * with the sequence numbers and timestamps those ticks would have had, so the
 * stream stays continuous and no agent audio is lost or shifted; the
 * receiver's jitter buffer absorbs packets that are a little late. Only the
 * newest `maxCatchUpFrames` missed ticks are filled (default 10, 200 ms, about
 * the deepest jitter buffer a receiver runs: audio later than that would be
 * discarded as too late); older ones stay a gap in the timestamps and the next
 * packet carries the marker bit, so the receiver resynchronises its playout on
 * a clean pause. Silent ticks in the burst carry their filler (silence or a
 * due SID), so a stream stays continuous through a stall within the bound.
 * Playout catches up the same way: the caller's packets kept arriving while
 * the ticks were skipped, and the audio beyond the jitter buffer's depth is
 * delivered at once for the newest missed ticks (within the same bound),
 * stamped with those ticks' times, before this tick's frame. Without it the
 * stalled ticks' audio would pile up until the buffer's ceiling dropped it,
 * and the pipeline and the recording would lose the caller's words. Only
 * audio that is here is taken: a catch-up never conceals or skips.
 *
 * SRTP (`srtp`, SDES-keyed, media/rtp/srtp.ts): every packet that leaves is
 * protected as it is sent (RTP, RTCP, DTMF, silence); every packet that
 * arrives is checked against the source rule first, then authenticated and
 * decrypted, and a packet that fails (forged, replayed, wrong key) is dropped
 * and counted before anything else reads it: `dropped.srtp` for RTP,
 * `dropped.srtcp` for RTCP (apart, because some phones send an unprotected RTCP
 * keep-alive when a stream starts: a refused control packet is not lost audio).
 *
 * Threads: a session lives in the thread that opened it and is paced by that
 * thread's shared pacer. The server runs its sessions in the media thread
 * (media-thread.ts: ThreadedRtpSession is the main-thread proxy); both
 * implement RtpStream (stream.ts). `statsInto` and `queuedSamples` exist for
 * that proxy's per-tick state report.
 */
import { EventEmitter } from 'node:events';
import { randomInt } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RemoteInfo } from 'node:dgram';
import type { AudioFrame, DtmfFrame } from '../audio/frames.ts';
import { voiceCodec } from '../audio/voice-codec.ts';
import type { VoiceCodec, VoiceDecoder, VoiceEncoder } from '../audio/voice-codec.ts';
import { Resampler } from '../audio/resample.ts';
import { looksLikeRtcp, parseRtp, RTP_HEADER_BYTES, writeRtpHeader } from './packet.ts';
import { JitterBuffer } from './jitter-buffer.ts';
import { DtmfReceiver, dtmfPacketSequence } from './dtmf.ts';
import type { DtmfPacketPlan } from './dtmf.ts';
import { sharedPacer } from './pacer.ts';
import type { Pacer } from './pacer.ts';
import { ephemeralPorts } from './port-allocator.ts';
import type { PortAllocator, SocketPair } from './port-allocator.ts';
import {
  buildCompound, buildReceiverReport, buildSenderReport, ntpFromUnixMs, parseRtcp, ReceptionStats,
} from './rtcp.ts';
import type { RtpCodecChoice, RtpRemote, RtpStream, RtpStreamEvents, SetCodecOptions } from './stream.ts';
import { DROP_REASONS, RTP_STATS_LENGTH, rtpStatsFromArray, writeRtpStats, type DropReason, type RtpSessionStats } from './rtp-stats.ts';
import { SRTP_SUITES, SrtpContext } from './srtp.ts';
import type { SrtpSuite } from './srtp.ts';

export type { RtpCodecChoice, RtpRemote } from './stream.ts';
export type { DropReason, RtpSessionStats } from './rtp-stats.ts';
export { RTP_STATS_LENGTH, rtpStatsFromArray } from './rtp-stats.ts';
/** The events of an RTP leg (the same for the in-thread session and the media-thread proxy). */
export type RtpSessionEvents = RtpStreamEvents;

/** The RTP clock rate of every codec here (and the PCM rate of G.711). */
export const SAMPLE_RATE = 8000;
/** RTP timestamp units per 20 ms tick (and samples in a 20 ms G.711 frame). */
export const FRAME_SAMPLES = 160;
const COMFORT_NOISE_PT = 13;
/** With comfort noise, a SID refresh every this many ticks of silence (100 ms). */
export const SID_REFRESH_TICKS = 5;
/** SID noise level in -dBov (RFC 3389 3.1): the agent's silence is digital silence. */
const SID_LEVEL = 127;
const DTMF_GAP_TICKS = 3;
const DTMF_END_TIMEOUT_MS = 1000;

export interface RtpSessionOptions {
  /** Local address to bind, e.g. '0.0.0.0' or '127.0.0.1'. */
  bindAddress: string;
  /** Where ports come from; default: ephemeral even/odd pairs. */
  ports?: PortAllocator;
  codec: RtpCodecChoice;
  /** PCM rate of the audio events and of sendFrame, for the session's life. Default: the codec's (8000, or 16000 for G.722). */
  sampleRate?: number;
  /** Negotiated telephone-event payload type (both directions); omit if none. */
  telephoneEventPayloadType?: number;
  /** Negotiated comfort noise payload type (RFC 3389, normally 13): silence is sent as SID packets. Omit if none. */
  comfortNoisePayloadType?: number;
  /**
   * SRTP (RFC 3711) with SDES keys: each direction's master key and salt, concatenated and base64-encoded
   * as in an a=crypto inline key (strings, so the options cross to the media thread). Omit for plain RTP.
   */
  srtp?: RtpSrtpKeys;
  /** The SDP address of the peer; may also be set later with setRemote. */
  remote?: RtpRemote;
  /** Source address of the peer's SIP signalling: media from it may latch too (see the source rule in the header). */
  signallingAddress?: string;
  /** Keep sending while there is no agent audio (silence frames, or CN SIDs). Default true. */
  continuous?: boolean;
  /** Jitter buffer starting depth in 20 ms frames; it then adapts to the path (jitter-buffer.ts). Default 2 (40 ms). */
  jitterDepthFrames?: number;
  /** Adapt the jitter buffer's depth to measured jitter and loss. Default true; false keeps jitterDepthFrames. */
  adaptiveJitter?: boolean;
  /** Emit 'inactive' after this long without a packet while receiving. Default 30000; 0 turns it off. */
  inactivityTimeoutMs?: number;
  /** Mean RTCP interval. Default 5000. */
  rtcpIntervalMs?: number;
  cname?: string;
  /** Latch onto the peer's actual source address (symmetric RTP). Default true. */
  symmetric?: boolean;
  /** Upper bound of queued outgoing audio, in ms; the oldest is dropped beyond it. Default 300000. */
  maxQueuedMs?: number;
  /** After a stall, send (and play out) at most this many missed 20 ms frames late in a burst (see the header). Default 10; 0 leaves every missed tick a gap. */
  maxCatchUpFrames?: number;
  /** Initial direction; default both true. */
  send?: boolean;
  receive?: boolean;
  pacer?: Pacer;
  /** Fixed SSRC (tests); default random. */
  ssrc?: number;
}

export interface RtpSrtpKeys {
  suite: SrtpSuite;
  /** Our master key || salt (base64): protects what we send. */
  sendKey: string;
  /** The peer's master key || salt (base64): unprotects what we receive. */
  receiveKey: string;
}

/** The PCM rate a session opened with these options runs at; throws a RangeError for a codec it cannot carry. */
export function sessionSampleRate(options: { codec: RtpCodecChoice; sampleRate?: number }): number {
  const rate = options.sampleRate ?? voiceCodec(options.codec.name).sampleRate;
  if (rate !== 8000 && rate !== 16000) throw new RangeError(`RTP sessions run at 8000 or 16000 Hz, not ${rate}`);
  return rate;
}

/** An IP address as compared by the source rule: lower case, IPv4-mapped IPv6 as IPv4, no brackets. */
export function canonicalAddress(address: string): string {
  const a = address.trim().toLowerCase().replace(/^\[|\]$/g, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped ? mapped[1]! : a;
}

function isUnspecified(address: string): boolean {
  return address === '0.0.0.0' || address === '::' || address === '';
}

/** The addresses a peer's media may come from (see the source rule in the header); empty: unknown. */
function expectedSources(remote: RtpRemote | undefined, signallingAddress: string | undefined): Set<string> {
  const out = new Set<string>();
  for (const a of [remote?.address, signallingAddress]) {
    if (a === undefined) continue;
    const c = canonicalAddress(a);
    if (!isUnspecified(c)) out.add(c);
  }
  return out;
}

/** True for a digit sendDtmf accepts. */
export function isDtmfDigit(digit: string): boolean {
  return /^[0-9*#A-Da-d]$/.test(digit);
}

const SID_PAYLOAD = Uint8Array.of(SID_LEVEL);

/** A codec in use both ways: its encoder and decoder, and resamplers when its rate is not the session's. */
interface CodecState {
  codec: VoiceCodec;
  encoder: VoiceEncoder;
  decoder: VoiceDecoder;
  /** Samples of one 20 ms frame at the codec's rate. */
  frameSamples: number;
  /** One 20 ms frame of silence at the codec's rate (encoded through the encoder, which keeps G.722's state in step). */
  silence: Int16Array;
  toCodec: Resampler | undefined;
  fromCodec: Resampler | undefined;
}

function codecState(name: string, sessionRate: number): CodecState {
  const codec = voiceCodec(name);
  const frameSamples = codec.sampleRate / 50;
  return {
    codec, encoder: codec.createEncoder(), decoder: codec.createDecoder(), frameSamples, silence: new Int16Array(frameSamples),
    toCodec: codec.sampleRate === sessionRate ? undefined : new Resampler(sessionRate, codec.sampleRate),
    fromCodec: codec.sampleRate === sessionRate ? undefined : new Resampler(codec.sampleRate, sessionRate),
  };
}

export class RtpSession extends EventEmitter<RtpStreamEvents> implements RtpStream {
  readonly localAddress: string;
  readonly localPort: number;
  readonly ssrc: number;
  private readonly pair: SocketPair;
  private readonly ports: PortAllocator;
  private readonly pacer: Pacer;
  private readonly removeTick: () => void;
  /** PCM rate of the audio events and sendFrame (see the header), and samples in one 20 ms frame at it. */
  private rate: number;
  private frameLength: number;
  private codec: CodecState;
  private payloadType: number;
  private tePayloadType: number | undefined;
  private cnPayloadType: number | undefined;
  private readonly signallingAddress: string | undefined;
  /** SRTP contexts (see the header): ours protects what leaves, the peer's unprotects what arrives. */
  private readonly srtpOut: SrtpContext | undefined;
  private readonly srtpIn: SrtpContext | undefined;
  /** Where the peer's media may come from (source rule); empty: anywhere. */
  private expected: Set<string>;
  private readonly continuous: boolean;
  private readonly symmetric: boolean;
  private readonly inactivityTimeoutMs: number;
  private readonly rtcpIntervalMs: number;
  private readonly cname: string;
  private readonly maxQueuedFrames: number;
  private readonly maxCatchUpFrames: number;

  private remote: RtpRemote | undefined;
  private latched: { address: string; port: number } | undefined;
  private rtcpLatched: { address: string; port: number } | undefined;
  private remoteSsrc: number | undefined;
  private sending: boolean;
  private receiving: boolean;
  private closed = false;

  // Receive state
  private jitter: JitterBuffer;
  private readonly jitterOptions: { depthFrames: number; adaptive: boolean; catchUpFrames: number };
  private reception: ReceptionStats | undefined;
  private firstTimestamp = 0;
  /** Reused for every packet (the jitter buffer reads it at once). */
  private readonly packetTiming = { arrivalMs: 0, mediaMs: 0 };
  private readonly dtmfIn = new DtmfReceiver(SAMPLE_RATE);
  private lastDtmfAt = 0;
  private playout: Int16Array;
  private playoutLength = 0;
  private inactiveFired = false;
  /** Monotonic time (performance.now) of the last packet received, or of the start. */
  lastPacketAt: number;

  // Send state
  private seq: number;
  private timestamp: number;
  private lastTick: number | undefined;
  /**
   * Agent audio went out on the previous tick with more queued behind it (the next audio frame continues the
   * playout). Cleared when a tick sends no agent audio and when a frame leaves the queue empty: audio queued
   * after that is a new playout, announced by 'talkspurt', even when it follows without a silent tick.
   */
  private talkspurt = false;
  /** A packet went out on every tick since the last marker (RFC 3551 4.1: no marker needed on the next one). */
  private contiguous = false;
  /** Ticks of silence since the last SID (comfort noise mode); -1: no SID sent in this silence yet. */
  private sidTicks = -1;
  private queue: Int16Array[] = [];
  private queueHead = 0;
  private partial: Int16Array;
  private partialLength = 0;
  private pendingDigits: Array<{ digit: string; durationMs: number }> = [];
  private dtmfPlan: { packets: DtmfPacketPlan[]; index: number; timestamp: number } | undefined;
  private dtmfGap = 0;
  private sentSinceReport = false;
  private nextRtcpAt: number;

  /** The plain counters of `stats` (lost, jitterMs and queuedFrames are filled in when a row is written). */
  private readonly counters = {
    lost: 0, jitterMs: 0, queuedFrames: 0,
    packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0, payloadBytesOut: 0, comfortNoise: 0, ssrcChanges: 0,
    dtmfIn: 0, dtmfOut: 0, rtcpIn: 0, rtcpOut: 0, queueOverflow: 0, catchUpPackets: 0, gapTicks: 0,
    silenceOut: 0, comfortNoiseOut: 0,
  };
  private readonly dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;

  /** Binds a socket pair and joins the pacer. */
  static async open(options: RtpSessionOptions): Promise<RtpSession> {
    const rate = sessionSampleRate(options);
    const codec = codecState(options.codec.name, rate);
    const ports = options.ports ?? ephemeralPorts();
    const pair = await ports.allocate(options.bindAddress);
    return new RtpSession(options, rate, codec, ports, pair);
  }

  private constructor(options: RtpSessionOptions, sampleRate: number, codec: CodecState, ports: PortAllocator, pair: SocketPair) {
    super();
    this.rate = sampleRate;
    this.frameLength = sampleRate / 50;
    this.codec = codec;
    this.playout = new Int16Array(this.frameSamples * 8);
    this.partial = new Int16Array(this.frameSamples);
    this.ports = ports;
    this.pair = pair;
    this.localAddress = pair.address;
    this.localPort = pair.port;
    this.payloadType = options.codec.payloadType;
    this.tePayloadType = options.telephoneEventPayloadType;
    this.cnPayloadType = options.comfortNoisePayloadType;
    this.remote = options.remote;
    this.signallingAddress = options.signallingAddress;
    if (options.srtp) {
      this.srtpOut = srtpContext(options.srtp.suite, options.srtp.sendKey);
      this.srtpIn = srtpContext(options.srtp.suite, options.srtp.receiveKey);
    }
    this.expected = expectedSources(this.remote, this.signallingAddress);
    this.continuous = options.continuous ?? true;
    this.symmetric = options.symmetric ?? true;
    this.inactivityTimeoutMs = options.inactivityTimeoutMs ?? 30_000;
    this.rtcpIntervalMs = options.rtcpIntervalMs ?? 5000;
    this.ssrc = (options.ssrc ?? randomInt(1, 0xffffffff)) >>> 0;
    this.cname = options.cname ?? `smartalex-${this.ssrc.toString(16)}`;
    this.maxQueuedFrames = Math.max(1, Math.ceil((options.maxQueuedMs ?? 300_000) / 20));
    this.maxCatchUpFrames = Math.max(0, Math.floor(options.maxCatchUpFrames ?? 10));
    this.sending = options.send ?? true;
    this.receiving = options.receive ?? true;
    this.seq = randomInt(0, 0x10000);
    this.timestamp = randomInt(0, 0x100000000);
    this.jitterOptions = { depthFrames: options.jitterDepthFrames ?? 2, adaptive: options.adaptiveJitter ?? true, catchUpFrames: this.maxCatchUpFrames };
    this.jitter = new JitterBuffer({ ...this.jitterOptions, frameSamples: this.frameSamples });
    this.lastPacketAt = performance.now();
    this.nextRtcpAt = this.lastPacketAt + this.rtcpIntervalMs * (0.5 + Math.random());
    // A packet that breaks the parser (or a listener) must not take the process, or the media thread, down.
    pair.rtp.on('message', (msg, rinfo) => {
      try {
        this.onRtp(msg, rinfo);
      } catch (err) {
        this.reportError(err);
      }
    });
    pair.rtcp.on('message', (msg, rinfo) => {
      try {
        this.onRtcp(msg, rinfo);
      } catch (err) {
        this.reportError(err);
      }
    });
    const onSocketError = (err: Error): void => this.reportError(err);
    pair.rtp.on('error', onSocketError);
    pair.rtcp.on('error', onSocketError);
    this.pacer = options.pacer ?? sharedPacer();
    this.removeTick = this.pacer.add((tick, dueMs) => this.onTick(tick, dueMs));
  }

  get sampleRate(): number {
    return this.rate;
  }

  get frameSamples(): number {
    return this.frameLength;
  }

  /** The address we send to: the latched source, else the SDP address. */
  get destination(): { address: string; port: number } | undefined {
    return this.latched ?? (this.remote ? { address: this.remote.address, port: this.remote.port } : undefined);
  }

  get isLatched(): boolean {
    return this.latched !== undefined;
  }

  /**
   * New remote SDP endpoint (e.g. after a re-INVITE). The latch is kept unless the address changed,
   * or the peer sent from its own SDP port and now announces another one; latching then starts over,
   * under the source rule.
   */
  setRemote(remote: RtpRemote): void {
    const previous = this.remote;
    this.remote = remote;
    this.expected = expectedSources(remote, this.signallingAddress);
    const sameAddress = previous !== undefined && canonicalAddress(previous.address) === canonicalAddress(remote.address);
    const movedOwnPort = this.latched !== undefined && previous !== undefined && this.latched.port === previous.port && remote.port !== previous.port;
    if (sameAddress && !movedOwnPort) return;
    this.latched = undefined;
    this.rtcpLatched = undefined;
  }

  /**
   * Codec change (e.g. after a re-INVITE): later packets use the new payload types and codec both ways
   * (fresh codec state; resampled when its rate is not the session's, see the header). With `adoptRate`
   * (an answer to our own offer) the session's rate becomes the codec's instead, as long as no audio has
   * flowed yet (nothing received, nothing queued); after that it resamples as above.
   */
  setCodec(codec: RtpCodecChoice, telephoneEventPayloadType?: number, comfortNoisePayloadType?: number, options: SetCodecOptions = {}): void {
    const rate = voiceCodec(codec.name).sampleRate;
    const adopt = options.adoptRate === true && rate !== this.rate && this.counters.packetsIn === 0 && this.queuedSamples === 0 && this.playoutLength === 0;
    if (adopt) this.changeRate(rate);
    const next = !adopt && this.codec.codec.name === voiceCodec(codec.name).name ? this.codec : codecState(codec.name, this.rate);
    this.codec = next;
    this.payloadType = codec.payloadType;
    this.tePayloadType = telephoneEventPayloadType;
    this.cnPayloadType = comfortNoisePayloadType;
    this.jitter.reset();
  }

  /** The session's PCM rate and what is sized by it; only while no audio has flowed (setCodec's adoptRate). */
  private changeRate(rate: number): void {
    this.rate = rate;
    this.frameLength = rate / 50;
    this.playout = new Int16Array(this.frameLength * 8);
    this.partial = new Int16Array(this.frameLength);
    this.partialLength = 0;
    this.jitter = new JitterBuffer({ ...this.jitterOptions, frameSamples: this.frameLength });
  }

  /** Hold and resume: `send: false` stops sending (and drops queued audio); `receive: false` ignores incoming audio. */
  setDirection(direction: { send: boolean; receive: boolean }): void {
    if (!direction.send && this.sending) this.clearOutgoing();
    this.sending = direction.send;
    if (direction.receive && !this.receiving) {
      this.lastPacketAt = performance.now();
      this.inactiveFired = false;
    }
    this.receiving = direction.receive;
  }

  get isSending(): boolean {
    return this.sending;
  }
  get isReceiving(): boolean {
    return this.receiving;
  }

  /** Queues agent audio: PCM16 at the session's rate, any length (cut into 20 ms frames; a tail is padded when the queue drains). */
  sendFrame(pcm: Int16Array): void {
    if (this.closed || !this.sending) return;
    const frameSamples = this.frameSamples;
    let offset = 0;
    while (offset < pcm.length) {
      const take = Math.min(frameSamples - this.partialLength, pcm.length - offset);
      this.partial.set(pcm.subarray(offset, offset + take), this.partialLength);
      this.partialLength += take;
      offset += take;
      if (this.partialLength === frameSamples) {
        this.enqueue(this.partial);
        this.partial = new Int16Array(frameSamples);
        this.partialLength = 0;
      }
    }
  }

  /** Drops all queued outgoing audio (barge-in). Returns how many ms of audio were dropped. */
  clearOutgoing(): number {
    const frames = this.queue.length - this.queueHead;
    const ms = frames * 20 + (this.partialLength * 1000) / this.sampleRate;
    this.queue = [];
    this.queueHead = 0;
    this.partialLength = 0;
    this.talkspurt = false; // what is queued next is a new playout (a goodbye right after a barge-in's clear)
    return ms;
  }

  /** Outgoing audio waiting, in ms. */
  get queuedMs(): number {
    return (this.queue.length - this.queueHead) * 20 + (this.partialLength * 1000) / this.sampleRate;
  }

  /** Outgoing audio waiting, in samples at the session's rate (exact). */
  get queuedSamples(): number {
    return (this.queue.length - this.queueHead) * this.frameSamples + this.partialLength;
  }

  /** Sends a DTMF digit as RFC 4733 events; false when telephone-event was not negotiated or the digit is invalid. */
  sendDtmf(digit: string, durationMs = 100): boolean {
    if (this.closed || this.tePayloadType === undefined) return false;
    if (!isDtmfDigit(digit)) return false;
    this.pendingDigits.push({ digit, durationMs });
    return true;
  }

  /** Counters; built from the same row the media thread sends (statsInto), so both read alike. */
  get stats(): RtpSessionStats {
    const row = new Float64Array(RTP_STATS_LENGTH);
    this.statsInto(row, 0);
    return rtpStatsFromArray(row);
  }

  /** Writes `stats` as a row of RTP_STATS_LENGTH numbers at `o` (no allocation; see rtpStatsFromArray). */
  statsInto(out: Float64Array, o: number): void {
    const c = this.counters;
    c.lost = Math.max(0, this.reception?.cumulativeLost ?? 0);
    c.jitterMs = this.reception?.jitterMs ?? 0;
    c.queuedFrames = this.queue.length - this.queueHead;
    writeRtpStats(out, o, c, this.dropped, this.jitter.stats);
  }

  /** Leaves the pacer, sends an RTCP BYE when the peer is known, and releases the ports. */
  async close(reason?: string): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.removeTick();
    const dest = this.rtcpDestination();
    if (dest) {
      const report = this.buildReport(true, reason);
      this.counters.rtcpOut++;
      await new Promise<void>((resolve) => {
        try {
          this.pair.rtcp.send(this.srtpOut ? this.srtpOut.protectRtcp(report) : report, dest.port, dest.address, () => resolve());
        } catch {
          resolve();
        }
      });
    }
    this.ports.release(this.pair);
    this.emit('close');
  }

  private reportError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }

  private drop(reason: DropReason): void {
    this.dropped[reason]++;
  }

  private onRtp(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    // RTCP multiplexed on the RTP port (RFC 5761) is handled as RTCP, not dropped as an unknown payload type.
    if (looksLikeRtcp(msg)) return this.onRtcp(msg, rinfo);
    this.counters.packetsIn++;
    this.counters.bytesIn += msg.length;
    let parsed = parseRtp(msg);
    if (!parsed.ok) return this.drop(parsed.reason);
    const latched = this.latched;
    if (latched) {
      if (latched.address !== rinfo.address || latched.port !== rinfo.port) return this.drop('wrong-source');
    } else if (!this.fromExpectedSource(rinfo.address)) return this.drop('foreign-source');
    if (this.srtpIn) {
      let plain: Buffer;
      try {
        plain = this.srtpIn.unprotectRtp(msg);
      } catch {
        return this.drop('srtp');
      }
      parsed = parseRtp(plain);
      if (!parsed.ok) return this.drop(parsed.reason);
    }
    const p = parsed.packet;
    const isAudio = p.payloadType === this.payloadType;
    const isDtmf = this.tePayloadType !== undefined && p.payloadType === this.tePayloadType;
    if (!isAudio && !isDtmf) {
      if (p.payloadType === COMFORT_NOISE_PT || p.payloadType === this.cnPayloadType) this.counters.comfortNoise++;
      else return this.drop('unknown-pt');
    }
    const now = performance.now();
    this.lastPacketAt = now;
    this.inactiveFired = false;
    if (!latched && this.symmetric) {
      this.latched = { address: rinfo.address, port: rinfo.port };
      this.emit('latched', { address: rinfo.address, port: rinfo.port });
    }
    if (!this.receiving) return this.drop('not-receiving');
    if (this.remoteSsrc !== p.ssrc) {
      if (this.remoteSsrc !== undefined) {
        this.counters.ssrcChanges++;
        this.jitter.reset();
      }
      this.remoteSsrc = p.ssrc;
      this.reception = new ReceptionStats(p.ssrc, SAMPLE_RATE);
      this.firstTimestamp = p.timestamp;
    }
    this.reception!.update(p.sequenceNumber, p.timestamp, now);
    if (isAudio) {
      const c = this.codec;
      const decoded = new Int16Array(c.codec.samplesFor(p.payload.length));
      c.decoder.decode(p.payload, decoded);
      // Media time relative to the stream's first timestamp (signed: a reordered first packet may come before it).
      // Every codec here has an 8000 Hz RTP clock (G.722's too: RFC 3551).
      this.packetTiming.arrivalMs = now;
      this.packetTiming.mediaMs = ((p.timestamp - this.firstTimestamp) | 0) / (SAMPLE_RATE / 1000);
      this.jitter.push(p.sequenceNumber, c.fromCodec ? c.fromCodec.process(decoded) : decoded, this.packetTiming);
    } else if (isDtmf) {
      this.lastDtmfAt = now;
      this.emitDigits(this.dtmfIn.push(p.timestamp, p.payload), now);
    }
  }

  /** The source rule (see the header): may a packet from this address latch? */
  private fromExpectedSource(address: string): boolean {
    return this.expected.size === 0 || this.expected.has(canonicalAddress(address));
  }

  private emitDigits(digits: Array<{ digit: string; durationMs: number }>, now: number): void {
    for (const d of digits) {
      this.counters.dtmfIn++;
      this.emit('dtmf', { kind: 'dtmf', digit: d.digit, durationMs: d.durationMs, timeMs: now });
    }
  }

  private onRtcp(msg: Buffer, rinfo: RemoteInfo): void {
    if (this.closed) return;
    if (this.srtpIn) {
      if (!this.fromExpectedSource(rinfo.address)) return this.drop('foreign-source');
      try {
        msg = this.srtpIn.unprotectRtcp(msg);
      } catch {
        return this.drop('srtcp');
      }
    }
    const parsed = parseRtcp(msg);
    if (!parsed.ok) return;
    // RTCP obeys the source rule too: a foreign BYE or report must not steer the call.
    if (!this.fromExpectedSource(rinfo.address)) return this.drop('foreign-source');
    this.counters.rtcpIn++;
    if (this.symmetric && !this.rtcpLatched) this.rtcpLatched = { address: rinfo.address, port: rinfo.port };
    const now = performance.now();
    for (const p of parsed.packets) {
      if (p.type === 'sr' && this.reception && p.ssrc === this.remoteSsrc) {
        this.reception.onSenderReport(p.sender.ntpSeconds, p.sender.ntpFraction, now);
      }
      if (p.type === 'bye') {
        const bye: { reason?: string } = {};
        if (p.reason !== undefined) bye.reason = p.reason;
        this.emit('bye', bye);
      }
    }
    this.emit('rtcp', parsed.packets);
  }

  private enqueue(frame: Int16Array): void {
    this.queue.push(frame);
    if (this.queue.length - this.queueHead > this.maxQueuedFrames) {
      this.queueHead++;
      this.counters.queueOverflow++;
    }
  }

  private nextFrame(): Int16Array | undefined {
    if (this.queueHead < this.queue.length) {
      const f = this.queue[this.queueHead++]!;
      if (this.queueHead > 512 && this.queueHead * 2 > this.queue.length) {
        this.queue = this.queue.slice(this.queueHead);
        this.queueHead = 0;
      }
      return f;
    }
    if (this.partialLength > 0) {
      // The tail of an utterance: pad it to a whole frame rather than hold it back.
      const f = this.partial;
      f.fill(0, this.partialLength);
      this.partial = new Int16Array(this.frameSamples);
      this.partialLength = 0;
      return f;
    }
    return undefined;
  }

  private onTick(tick: number, dueMs: number): void {
    if (this.closed) return;
    try {
      this.tick(tick, dueMs);
    } catch (err) {
      // One call's failure must not stop the shared pacer's other calls.
      this.reportError(err);
    }
  }

  private tick(tick: number, dueMs: number): void {
    // The RTP clock follows real time: every tick (sent or silent) is 160 samples.
    if (this.lastTick !== undefined) {
      const missed = tick - this.lastTick - 1;
      if (missed > 0) {
        this.catchUp(missed, dueMs);
        this.catchUpPlayout(missed, dueMs);
      }
      this.timestamp = (this.timestamp + FRAME_SAMPLES) >>> 0;
    }
    this.lastTick = tick;
    this.sendTick(dueMs);
    this.receiveTick(dueMs);
    const now = performance.now();
    // An event whose end packets were all lost is reported after a second of silence.
    if (this.dtmfIn.inEvent && now - this.lastDtmfAt > DTMF_END_TIMEOUT_MS) this.emitDigits(this.dtmfIn.flush(), now);
    if (this.receiving && this.inactivityTimeoutMs > 0 && !this.inactiveFired) {
      const idle = now - this.lastPacketAt;
      if (idle >= this.inactivityTimeoutMs) {
        this.inactiveFired = true;
        this.emit('inactive', { idleMs: idle });
      }
    }
    if (now >= this.nextRtcpAt) {
      this.nextRtcpAt = now + this.rtcpIntervalMs * (0.5 + Math.random());
      const dest = this.rtcpDestination();
      if (dest) {
        const report = this.buildReport(false);
        this.pair.rtcp.send(this.srtpOut ? this.srtpOut.protectRtcp(report) : report, dest.port, dest.address);
        this.counters.rtcpOut++;
      }
    }
  }

  /** Ticks the pacer skipped: older ones beyond the bound become a gap, the newest are sent now (see the header). */
  private catchUp(missed: number, dueMs: number): void {
    const burst = Math.min(missed, this.maxCatchUpFrames);
    const gap = missed - burst;
    if (gap > 0) {
      this.timestamp = (this.timestamp + gap * FRAME_SAMPLES) >>> 0;
      this.counters.gapTicks += gap;
      this.contiguous = false; // the receiver played a pause: mark the next packet so it resynchronises
    }
    for (let i = 0; i < burst; i++) {
      this.timestamp = (this.timestamp + FRAME_SAMPLES) >>> 0;
      const before = this.counters.packetsOut;
      this.sendTick(dueMs - (burst - i) * 20);
      this.counters.catchUpPackets += this.counters.packetsOut - before;
    }
  }

  /** One tick's packet; `timeMs` is the tick's due time (for 'sent'). */
  private sendTick(timeMs: number): void {
    const dest = this.destination;
    if (!this.sending || !dest) {
      this.talkspurt = false;
      this.contiguous = false;
      this.sidTicks = -1;
      return;
    }
    if (this.dtmfGap > 0) {
      this.dtmfGap--;
    } else if (!this.dtmfPlan && this.pendingDigits.length > 0) {
      const next = this.pendingDigits.shift()!;
      this.dtmfPlan = { packets: dtmfPacketSequence(next.digit, { durationMs: next.durationMs }), index: 0, timestamp: this.timestamp };
    }
    const plan = this.dtmfPlan;
    if (plan) {
      const item = plan.packets[plan.index++]!;
      this.sendPacket(dest, this.tePayloadType!, item.marker, plan.timestamp, item.payload);
      if (plan.index >= plan.packets.length) {
        this.dtmfPlan = undefined;
        this.dtmfGap = DTMF_GAP_TICKS;
        this.counters.dtmfOut++;
      }
      this.talkspurt = false;
      this.contiguous = false; // audio after an event starts a new talkspurt
      this.sidTicks = -1;
      return;
    }
    const frame = this.nextFrame();
    if (!frame) {
      this.talkspurt = false;
      if (this.continuous) this.sendSilence(dest);
      else this.contiguous = false;
      return;
    }
    const packet = this.audioPacket(this.codec.toCodec ? this.codec.toCodec.process(frame) : frame, !this.contiguous);
    const first = !this.talkspurt;
    this.talkspurt = true;
    this.contiguous = true;
    this.sidTicks = -1;
    this.transmit(dest, packet, packet.length - RTP_HEADER_BYTES);
    // The queue ran dry: whatever is queued next starts a new playout (a pipeline that saw the queue empty waits
    // for its start), even if it comes in time for the next tick and plays on without a pause.
    if (this.queuedSamples === 0) this.talkspurt = false;
    if (first && this.listenerCount('talkspurt') > 0) this.emit('talkspurt', { timeMs: performance.now() });
    if (this.listenerCount('sent') > 0) this.emit('sent', { kind: 'audio', pcm: frame, sampleRate: this.sampleRate, timeMs });
  }

  /** A tick without agent audio: a silence frame, or with comfort noise a SID when one is due (see the header). */
  private sendSilence(dest: { address: string; port: number }): void {
    const cn = this.cnPayloadType;
    if (cn === undefined) {
      const packet = this.audioPacket(this.codec.silence, !this.contiguous);
      this.transmit(dest, packet, packet.length - RTP_HEADER_BYTES);
      this.counters.silenceOut++;
      this.contiguous = true;
      return;
    }
    // Between SIDs nothing is sent: the next audio packet gets the marker.
    this.contiguous = false;
    if (this.sidTicks >= 0 && this.sidTicks < SID_REFRESH_TICKS - 1) {
      this.sidTicks++;
      return;
    }
    this.sidTicks = 0;
    this.sendPacket(dest, cn, false, this.timestamp, SID_PAYLOAD);
    this.counters.comfortNoiseOut++;
  }

  /** One audio packet of `pcm`, a 20 ms frame at the codec's rate (padded or cut to it), in the negotiated codec. */
  private audioPacket(pcm: Int16Array, marker: boolean): Buffer {
    const c = this.codec;
    const frame = pcm.length === c.frameSamples ? pcm : fitFrame(pcm, c.frameSamples);
    const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + c.codec.bytesFor(c.frameSamples));
    writeRtpHeader(packet, 0, { marker, payloadType: this.payloadType, sequenceNumber: this.seq, timestamp: this.timestamp, ssrc: this.ssrc });
    c.encoder.encode(frame, packet, RTP_HEADER_BYTES);
    return packet;
  }

  private sendPacket(dest: { address: string; port: number }, pt: number, marker: boolean, timestamp: number, payload: Uint8Array): void {
    const packet = Buffer.allocUnsafe(RTP_HEADER_BYTES + payload.length);
    writeRtpHeader(packet, 0, { marker, payloadType: pt, sequenceNumber: this.seq, timestamp, ssrc: this.ssrc });
    packet.set(payload, RTP_HEADER_BYTES);
    this.transmit(dest, packet, payload.length);
  }

  private transmit(dest: { address: string; port: number }, packet: Buffer, payloadBytes: number): void {
    this.seq = (this.seq + 1) & 0xffff;
    this.counters.packetsOut++;
    this.counters.bytesOut += packet.length;
    this.counters.payloadBytesOut += payloadBytes;
    this.sentSinceReport = true;
    this.pair.rtp.send(this.srtpOut ? this.srtpOut.protectRtp(packet) : packet, dest.port, dest.address);
  }

  private receiveTick(dueMs: number): void {
    if (!this.receiving || this.reception === undefined) return;
    while (this.playoutLength < this.frameSamples) this.appendPlayout(this.jitter.pull());
    this.emitPlayout(dueMs);
  }

  /** Ticks the pacer skipped: the caller audio buffered beyond the jitter depth, for the newest of them (see the header). */
  private catchUpPlayout(missed: number, dueMs: number): void {
    if (!this.receiving || this.reception === undefined) return;
    const ticks = Math.min(missed, this.maxCatchUpFrames);
    let ready = 0;
    for (; ready < ticks; ready++) {
      const needed = (ready + 1) * this.frameSamples;
      while (this.playoutLength < needed) {
        const f = this.jitter.pullSurplus();
        if (!f) break;
        this.appendPlayout(f);
      }
      if (this.playoutLength < needed) break;
    }
    // The frames that are here take the newest missed ticks, so they run on into this tick's frame.
    for (let i = ready; i > 0; i--) this.emitPlayout(dueMs - i * 20);
  }

  private appendPlayout(f: Int16Array): void {
    if (this.playoutLength + f.length > this.playout.length) {
      const grown = new Int16Array(Math.max(this.playout.length * 2, this.playoutLength + f.length));
      grown.set(this.playout.subarray(0, this.playoutLength));
      this.playout = grown;
    }
    this.playout.set(f, this.playoutLength);
    this.playoutLength += f.length;
  }

  /** Emits the playout's first frame as the caller audio of the tick due at `timeMs`. */
  private emitPlayout(timeMs: number): void {
    const frameSamples = this.frameSamples;
    const pcm = this.playout.slice(0, frameSamples);
    this.playout.copyWithin(0, frameSamples, this.playoutLength);
    this.playoutLength -= frameSamples;
    this.emit('audio', { kind: 'audio', pcm, sampleRate: this.sampleRate, timeMs });
  }

  private rtcpDestination(): { address: string; port: number } | undefined {
    if (this.rtcpLatched) return this.rtcpLatched;
    if (this.latched) return { address: this.latched.address, port: this.latched.port + 1 };
    if (this.remote) return { address: this.remote.address, port: this.remote.rtcpPort ?? this.remote.port + 1 };
    return undefined;
  }

  private buildReport(bye: boolean, reason?: string): Buffer {
    const now = performance.now();
    const blocks = this.reception && this.reception.packetsReceived > 0 ? [this.reception.reportBlock(now)] : [];
    let report: Buffer;
    if (this.sentSinceReport) {
      const ntp = ntpFromUnixMs(Date.now());
      report = buildSenderReport(this.ssrc, {
        ntpSeconds: ntp.seconds, ntpFraction: ntp.fraction, rtpTimestamp: this.timestamp,
        packetCount: this.counters.packetsOut >>> 0, octetCount: this.counters.payloadBytesOut >>> 0,
      }, blocks);
    } else report = buildReceiverReport(this.ssrc, blocks);
    this.sentSinceReport = false;
    const parts: { report: Buffer; ssrc: number; cname: string; bye?: { reason?: string } } = { report, ssrc: this.ssrc, cname: this.cname };
    if (bye) parts.bye = reason === undefined ? {} : { reason };
    return buildCompound(parts);
  }
}

/** `pcm` padded with silence or cut to exactly `samples` (a resampler's output can be a sample off a whole frame). */
function fitFrame(pcm: Int16Array, samples: number): Int16Array {
  const out = new Int16Array(samples);
  out.set(pcm.length <= samples ? pcm : pcm.subarray(0, samples));
  return out;
}

/** An SRTP context from a base64 master key || salt (an SDES inline key). */
function srtpContext(suite: SrtpSuite, inline: string): SrtpContext {
  const bytes = Buffer.from(inline, 'base64');
  const keyBytes = SRTP_SUITES[suite].masterKeyBytes;
  return SrtpContext.fromMaster(suite, bytes.subarray(0, keyBytes), bytes.subarray(keyBytes));
}
