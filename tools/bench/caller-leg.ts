/**
 * One benchmark call's way in, as BenchCall (caller.ts) sees it: set the call
 * up, queue the caller's audio (8 kHz PCM16, sent one 20 ms frame per tick of
 * the benchmark's pacer), hand over every agent packet with its arrival time
 * and level, and hang up. BenchCall does the measuring (turns, e2e, barge-in,
 * pacing), so SIP/RTP (sip-leg.ts), a WebRTC peer (webrtc-leg.ts) and a
 * Twilio Media Streams client (stream-leg.ts) are measured the same way.
 */

export type BenchTransport = 'sip' | 'webrtc' | 'ws';
export const BENCH_TRANSPORTS: readonly BenchTransport[] = ['sip', 'webrtc', 'ws'];

/**
 * libdatachannel as the offerer (v0.24.5) has a set-up race: its DTLS can check the answerer's certificate
 * before the answer's fingerprint is committed, and fails. Applying the answer then throws ("Got a remote
 * candidate without ICE transport"), or the peer fails just after and the server reports `connect-failed`;
 * on a busy machine a few per cent of set-ups. That is the caller's own set-up, so a WebRTC call starts over
 * with a fresh peer and a fresh token (each opens one call), at most this many times in all.
 */
export const WEBRTC_MAX_ATTEMPTS = 3;

export interface ServerReceptionReport {
  /** Cumulative packets of ours the server reported lost. */
  cumulativeLost: number;
  /** The server's highest sequence number seen (extended), for the expected count. */
  extendedHighestSeq: number;
  jitterMs: number;
}

/** One packet of agent audio, read at arrival. */
export interface AgentPacket {
  /** performance.now() when it arrived, read first thing. */
  at: number;
  /** RMS level of its audio in dBFS. */
  dbfs: number;
  /** RTP header fields (RTP transports only): for the pacing jitter and the loss count. */
  rtp?: { sequenceNumber: number; timestamp: number; marker: boolean; clockRate: number };
  /** The G.711 mu-law bytes as sent (the transports that carry them): to recognise an echo of our own frames. */
  mulaw?: Uint8Array;
}

export interface LegEvents {
  /** Every agent packet of the call's audio. */
  agent(packet: AgentPacket): void;
  /** An RTCP report block about our stream (RTP transports that have RTCP). */
  serverReport?(report: ServerReceptionReport): void;
  /** The server ended the call. */
  hungUp(): void;
}

export interface CallerLeg {
  readonly transport: BenchTransport;
  /** Sets the call up; resolves once it is answered (the time around it is the set-up time). */
  connect(events: LegEvents, signal?: AbortSignal): Promise<void>;
  /** Queues caller audio: 8 kHz PCM16, a whole number of 20 ms frames. */
  sendFrame(pcm: Int16Array): void;
  /** Caller audio queued and not sent yet, in ms. */
  readonly queuedMs: number;
  /** Packets (20 ms frames) sent so far. */
  readonly packetsOut: number;
  /** We hang up (the call was answered and the server has not ended it). */
  hangup(): Promise<void>;
  /** Releases everything (sockets, peer, ticks); safe in any state. */
  close(): Promise<void>;
}
