/**
 * The seam between a call's transport (SIP + RTP today; WebRTC and media
 * streams later) and the conversation. The transport decodes, de-jitters and
 * paces; the pipeline only ever sees 20 ms PCM16 frames and hands back PCM16.
 * `pipeline/` never imports `media/`: `src/calls` implements this interface.
 */
import type { AudioFrame, DtmfFrame } from '../media/audio/frames.ts';
import type { EndReason } from './end-reason.ts';

export type { EndReason } from './end-reason.ts';

export interface PlayoutStart {
  /** performance.now() when the first packet of this talkspurt left. */
  timeMs: number;
}

export interface CallTransport {
  /** Sample rate of frames in both directions (8000 for G.711). */
  readonly sampleRate: number;
  /** Caller audio (20 ms frames, one per pacer tick, silence included) and DTMF digits. */
  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void;
  /** Queue agent audio (any length, at `sampleRate`); the transport paces it out. */
  play(pcm: Int16Array): void;
  /** Drop all queued agent audio at once (barge-in); returns how many ms were dropped. */
  clearPlayback(): number;
  /** Agent audio queued and not yet sent, in ms. */
  queuedMs(): number;
  /** Fires when agent audio starts leaving after a pause (first packet of a talkspurt). */
  onPlayoutStart(listener: (event: PlayoutStart) => void): () => void;
  /** Sends RFC 4733 digits; resolves when they have been played. */
  sendDtmf(digits: string): Promise<void>;
  /** Hands the caller to `target` (SIP REFER). Rejects if the transfer fails. */
  transfer(target: string): Promise<void>;
  /**
   * Ends the call from our side (SIP BYE). The reason is an EndReason; another spelling (a conversation's
   * `max_duration`) is read by endReasonOf, so the call record holds the canonical one.
   */
  hangup(reason: EndReason | string): Promise<void>;
  /** Fires once when the call ends, whichever side ended it. */
  onEnd(listener: (reason: EndReason) => void): () => void;
  /**
   * Fires when the server needs the line back (it is shutting down and the call outlived the drain
   * deadline): the agent says a short goodbye and hangs up. A transport without it ends such calls itself.
   */
  onWrapUp?(listener: () => void): () => void;
}
