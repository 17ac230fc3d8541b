/**
 * SessionTransport: a CallTransport (pipeline/transport.ts) as a CallSession
 * owns it, whatever the way in (SIP + RTP, a carrier WebSocket media stream,
 * WebRTC). A concrete transport supplies the media (frames in, paced audio
 * out, barge-in clear) and `close()`; this base supplies what every way in
 * shares: the taps (the recorder's hook) on both legs at the PCM the
 * conversation sees, hang-up through the owning session, the end and
 * wrap-up listeners. The session attaches itself once it exists; a far end
 * that hangs up before that is remembered and ends the session at once.
 */
import type { AudioFrame, DtmfFrame } from '../../media/audio/frames.ts';
import { endReasonOf, type AudioRedaction } from '../../pipeline/index.ts';
import type { CallTransport, EndReason, PlayoutStart } from '../../pipeline/transport.ts';

/** The ways in. Written on the call's events; the recorder and metrics do not care. */
export type CallTransportKind = 'sip' | 'ws-stream' | 'webrtc';

/** A per-call side tap (the recorder): both legs, and the end. Must be cheap; it runs on the media path. */
export interface CallTap {
  /** Caller audio as the conversation hears it (20 ms frames at the transport's sampleRate). */
  onCallerFrame?(frame: AudioFrame): void;
  /** Agent audio as it left, one 20 ms frame at a time (never what was queued and then cleared). */
  onAgentFrame?(frame: AudioFrame): void;
  /** A span where PII was said or typed (frame clock): a recorder silences it. */
  onAudioRedaction?(span: AudioRedaction): void;
  onEnd?(reason: EndReason): void;
}

/** What the owning session gives its transport when it attaches. */
export interface TransportOwner {
  /** Ends the call once; `hangup`: we end it, so the far end is told (BYE, socket closed). */
  end(reason: EndReason, hangup: boolean): Promise<void>;
  taps: readonly CallTap[];
}

export abstract class SessionTransport implements CallTransport {
  abstract readonly kind: CallTransportKind;
  /** PCM rate both ways: 8000 for G.711 and carrier streams, 16000 for wideband (G.722, WebRTC). */
  abstract readonly sampleRate: number;
  abstract onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void;
  abstract play(pcm: Int16Array): void;
  abstract clearPlayback(): number;
  abstract queuedMs(): number;
  abstract onPlayoutStart(listener: (event: PlayoutStart) => void): () => void;
  /**
   * Tells the far end the call is over (SIP BYE, closing the socket); resolves once that has left. Called
   * once, by the owning session's end when we hang up (never directly: hang up through `hangup()`).
   */
  abstract sendHangup(): Promise<void>;
  /** Releases the media (no frame comes or goes after it resolves). Called once, by the owning session's end. */
  abstract close(reason: EndReason): Promise<void>;

  protected taps: readonly CallTap[] = [];
  private owner: TransportOwner | undefined;
  /** An end that came before the session attached (the far end hung up, or the agent did): applied on attach. */
  private endedBeforeAttach: { reason: EndReason; hangup: boolean } | undefined;
  private readonly endListeners = new Set<(reason: EndReason) => void>();
  private readonly wrapUpListeners = new Set<() => void>();
  private endedReason: EndReason | undefined;
  private tapsEnded = false;

  /** Called once by the session that owns this transport. */
  attach(owner: TransportOwner): void {
    this.owner = owner;
    this.taps = owner.taps;
    const early = this.endedBeforeAttach;
    if (early !== undefined) queueMicrotask(() => void owner.end(early.reason, early.hangup));
  }

  sendDtmf(_digits: string): Promise<void> {
    return Promise.reject(new Error(`sending DTMF is not supported on a ${this.kind} call`));
  }

  transfer(_target: string): Promise<void> {
    return Promise.reject(new Error(`transfer is not supported on a ${this.kind} call`));
  }

  /** Ends the call from our side; a reason in another spelling (a conversation's `max_duration`) is stored as its EndReason. */
  hangup(reason: EndReason | string): Promise<void> {
    const r = endReasonOf(reason);
    if (!this.owner) { this.endedBeforeAttach ??= { reason: r, hangup: true }; return Promise.resolve(); }
    return this.owner.end(r, true);
  }

  /** The far end ended the call (BYE, stream stopped, socket closed). */
  protected remoteEnded(reason: EndReason): void {
    if (!this.owner) { this.endedBeforeAttach ??= { reason, hangup: false }; return; }
    void this.owner.end(reason, false);
  }

  /** A caller frame as the conversation hears it: to the taps. */
  protected tapCaller(frame: AudioFrame): void {
    for (const t of this.taps) t.onCallerFrame?.(frame);
  }

  /** An agent frame as it left: to the taps. */
  protected tapAgent(frame: AudioFrame): void {
    for (const t of this.taps) t.onAgentFrame?.(frame);
  }

  onEnd(listener: (reason: EndReason) => void): () => void {
    if (this.endedReason !== undefined) {
      const r = this.endedReason;
      queueMicrotask(() => listener(r));
      return () => undefined;
    }
    this.endListeners.add(listener);
    return () => this.endListeners.delete(listener);
  }

  get ended(): boolean {
    return this.endedReason !== undefined;
  }

  onWrapUp(listener: () => void): () => void {
    this.wrapUpListeners.add(listener);
    return () => this.wrapUpListeners.delete(listener);
  }

  /** Asks the agent to say goodbye and hang up; false when nothing listens (the owner then ends the call itself). */
  requestWrapUp(): boolean {
    if (this.endedReason !== undefined || this.wrapUpListeners.size === 0) return false;
    for (const l of this.wrapUpListeners) { try { l(); } catch { /* listener errors are theirs */ } }
    return true;
  }

  /** Called by the call's owner once the call is over: the agent hears of it (taps end later, endTaps). */
  fireEnd(reason: EndReason): void {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    for (const l of this.endListeners) { try { l(reason); } catch { /* listener errors are theirs */ } }
    this.endListeners.clear();
    this.wrapUpListeners.clear();
  }

  /**
   * Called by the call's owner once the agent is done with the call (its last caller turn flushed, so the
   * recorder has every PII span to silence before it seals). Once.
   */
  endTaps(reason: EndReason): void {
    if (this.tapsEnded) return;
    this.tapsEnded = true;
    for (const t of this.taps) { try { t.onEnd?.(reason); } catch { /* a tap must not break the hang-up */ } }
  }
}
