/**
 * RtpStream: what the server uses of one call's RTP leg, whichever thread
 * runs it. Two implementations:
 *
 *  - RtpSession (session.ts): the engine itself, in the calling thread, paced
 *    by that thread's shared 20 ms pacer (tests, benchmark callers, and the
 *    server when SMARTALEX_MEDIA_THREAD=false);
 *  - ThreadedRtpSession (media-thread.ts): a main-thread proxy for an
 *    RtpSession that runs in the process's media thread, so that the main
 *    thread's event-loop lag and GC pauses never delay a packet.
 *
 * Times in events (AudioFrame.timeMs, talkspurt timeMs, DTMF timeMs) and
 * `lastPacketAt` are always on the calling thread's performance.now() clock.
 * `queuedMs`, `clearOutgoing()` and `stats` are synchronous in both; for the
 * proxy they are mirrors of the media thread's state (see media-thread.ts).
 */
import type { EventEmitter } from 'node:events';
import type { AudioFrame, DtmfFrame } from '../audio/frames.ts';
import type { RtcpPacket } from './rtcp.ts';
import type { RtpSessionStats } from './rtp-stats.ts';

export type RtpStreamStats = RtpSessionStats;

export interface RtpRemote {
  address: string;
  port: number;
  /** Defaults to port + 1. */
  rtcpPort?: number;
}

export interface RtpCodecChoice {
  name: 'PCMU' | 'PCMA' | string;
  payloadType: number;
}

export interface RtpStreamEvents {
  audio: [AudioFrame];
  dtmf: [DtmfFrame];
  /** No packet for inactivityTimeoutMs (fires once until packets resume). */
  inactive: [{ idleMs: number }];
  /** Symmetric RTP latched onto this source. */
  latched: [{ address: string; port: number }];
  rtcp: [RtcpPacket[]];
  /** The peer sent an RTCP BYE. */
  bye: [{ reason?: string }];
  /** The first packet of a talkspurt (marker bit set) left; timeMs is performance.now() right after the send call. */
  talkspurt: [{ timeMs: number }];
  /**
   * One agent audio frame left in an RTP packet (never filler, never what a clear dropped); timeMs is the
   * pacer tick it belongs to, on the clock of the caller frames (a catch-up burst carries its ticks' times).
   */
  sent: [AudioFrame];
  close: [];
  error: [Error];
}

export interface SetCodecOptions {
  /**
   * The codec comes from the answer to our own offer: while no audio has flowed, the session's PCM rate
   * becomes the codec's (so the conversation and the recording run at it) instead of being resampled.
   */
  adoptRate?: boolean;
}

export interface RtpStream extends EventEmitter<RtpStreamEvents> {
  readonly localAddress: string;
  /** The bound RTP port (even; RTCP is on the next one). */
  readonly localPort: number;
  readonly ssrc: number;
  /** PCM rate of the audio events and of sendFrame (8000, or 16000 for a G.722 call): fixed once audio has flowed (see SetCodecOptions). */
  readonly sampleRate: number;
  /** Outgoing audio waiting, in ms. */
  readonly queuedMs: number;
  /** Counters (for the proxy: the media thread's latest report, at most one tick old; final after close()). */
  readonly stats: RtpSessionStats;
  readonly isLatched: boolean;
  readonly isSending: boolean;
  readonly isReceiving: boolean;
  /** performance.now() of the last packet received (or of the start). */
  readonly lastPacketAt: number;
  /** Queues agent audio: PCM16 at `sampleRate`, any length (cut into 20 ms frames). */
  sendFrame(pcm: Int16Array): void;
  /** Drops all queued outgoing audio (barge-in); returns how many ms were dropped. */
  clearOutgoing(): number;
  /** Queues a DTMF digit (RFC 4733); false when telephone-event was not negotiated or the digit is invalid. */
  sendDtmf(digit: string, durationMs?: number): boolean;
  /** Codec, telephone-event and comfort noise payload types (e.g. after a re-INVITE, or the answer to our offer). */
  setCodec(codec: RtpCodecChoice, telephoneEventPayloadType?: number, comfortNoisePayloadType?: number, options?: SetCodecOptions): void;
  /** The peer's SDP endpoint; the latch is kept unless its address changes (RtpSession.setRemote). */
  setRemote(remote: RtpRemote): void;
  setDirection(direction: { send: boolean; receive: boolean }): void;
  /** Sends an RTCP BYE when the peer is known, releases the ports, emits 'close'. */
  close(reason?: string): Promise<void>;
}
