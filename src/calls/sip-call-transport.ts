/**
 * CallTransport (pipeline/transport.ts) over one SIP dialog and its RTP
 * session (an RtpStream: in the media thread, or in-thread): caller frames and
 * DTMF out of it, agent audio into its pacer, talkspurt starts as playout events, REFER for transfer and BYE for
 * hang-up. Taps (the recorder's hook) see both legs: caller frames as they
 * are played out and agent frames as they left (the RTP stream's 'sent').
 */
import type { AudioFrame, DtmfFrame } from '../../media/audio/frames.ts';
import { endReasonOf, type AudioRedaction } from '../../pipeline/index.ts';
import type { CallTransport, EndReason, PlayoutStart } from '../../pipeline/transport.ts';
import type { Dialog } from '../../media/sip/index.ts';
import type { RtpStream } from '../../media/rtp/index.ts';

/** A per-call side tap (the recorder): both legs, and the end. Must be cheap; it runs on the media path. */
export interface CallTap {
  /** Caller audio as it is played out (20 ms frames). */
  onCallerFrame?(frame: AudioFrame): void;
  /** Agent audio as it left, one 20 ms frame per RTP packet sent (never what was queued and then cleared). */
  onAgentFrame?(frame: AudioFrame): void;
  /** A span where PII was said or typed (frame clock): a recorder silences it. */
  onAudioRedaction?(span: AudioRedaction): void;
  onEnd?(reason: EndReason): void;
}

export interface SipCallTransportOptions {
  /** host[:port] of the carrier that carried the call; a bare number as transfer target is sent there. */
  carrier: string;
  /** Ends the call (BYE, RTP close, record) once; the owner supplies it. */
  end: (reason: EndReason) => Promise<void>;
  taps?: CallTap[];
}

export class TransferError extends Error {
  override name = 'TransferError';
  constructor(readonly status: number) {
    super(`transfer failed: the carrier answered ${status}`);
  }
}

export class SipCallTransport implements CallTransport {
  /** The RTP stream's PCM rate: 16 kHz for a G.722 (wideband) call, 8 kHz for G.711. */
  readonly sampleRate: number;
  readonly taps: CallTap[];
  private readonly endListeners = new Set<(reason: EndReason) => void>();
  private readonly wrapUpListeners = new Set<() => void>();
  private endedReason: EndReason | undefined;
  private tapsEnded = false;

  constructor(private readonly dialog: Dialog, private readonly rtp: RtpStream, private readonly options: SipCallTransportOptions) {
    this.sampleRate = rtp.sampleRate;
    this.taps = options.taps ?? [];
    if (this.taps.some((t) => t.onCallerFrame)) {
      rtp.on('audio', (frame) => { for (const t of this.taps) t.onCallerFrame?.(frame); });
    }
    if (this.taps.some((t) => t.onAgentFrame)) {
      rtp.on('sent', (frame) => { for (const t of this.taps) t.onAgentFrame?.(frame); });
    }
  }

  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void {
    const onAudio = (f: AudioFrame): void => listener(f);
    const onDtmf = (f: DtmfFrame): void => listener(f);
    this.rtp.on('audio', onAudio);
    this.rtp.on('dtmf', onDtmf);
    return () => { this.rtp.off('audio', onAudio); this.rtp.off('dtmf', onDtmf); };
  }

  play(pcm: Int16Array): void {
    if (this.endedReason !== undefined) return;
    this.rtp.sendFrame(pcm);
  }

  clearPlayback(): number {
    return this.rtp.clearOutgoing();
  }

  queuedMs(): number {
    return this.rtp.queuedMs;
  }

  onPlayoutStart(listener: (event: PlayoutStart) => void): () => void {
    const l = (e: { timeMs: number }): void => listener({ timeMs: e.timeMs });
    this.rtp.on('talkspurt', l);
    return () => this.rtp.off('talkspurt', l);
  }

  async sendDtmf(digits: string): Promise<void> {
    const before = this.rtp.stats.dtmfOut;
    let queued = 0;
    for (const d of digits) if (this.rtp.sendDtmf(d)) queued++;
    if (queued < digits.length) throw new Error('DTMF could not be sent: telephone-event was not negotiated or a digit is invalid');
    const deadline = Date.now() + 1000 + queued * 500;
    while (this.rtp.stats.dtmfOut - before < queued) {
      if (this.endedReason !== undefined) throw new Error('the call ended before the digits were sent');
      if (Date.now() > deadline) throw new Error('DTMF digits were not sent in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Blind transfer: REFER to the target (a SIP URI, or a number at the carrier); on success we hang up. */
  async transfer(target: string): Promise<void> {
    const uri = /^sips?:/i.test(target) ? target : `sip:${target}@${this.options.carrier}`;
    const status = await this.dialog.refer(uri);
    if (status < 200 || status >= 300) throw new TransferError(status);
    await this.hangup('transferred');
  }

  /** Ends the call; a reason in another spelling (a conversation's `max_duration`) is stored as its EndReason. */
  hangup(reason: EndReason | string): Promise<void> {
    return this.options.end(endReasonOf(reason));
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
