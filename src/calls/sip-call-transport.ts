/**
 * CallTransport over one SIP dialog and its RTP session (an RtpStream: in the
 * media thread, or in-thread): caller frames and DTMF out of it, agent audio
 * into its pacer, talkspurt starts as playout events, REFER for transfer and
 * BYE for hang-up. Taps (the recorder's hook) see both legs: caller frames as
 * they are played out and agent frames as they left (the RTP stream's 'sent').
 */
import type { AudioFrame, DtmfFrame } from '../../media/audio/frames.ts';
import type { EndReason, PlayoutStart } from '../../pipeline/transport.ts';
import type { Dialog } from '../../media/sip/index.ts';
import type { RtpStream } from '../../media/rtp/index.ts';
import { SessionTransport, type TransportOwner } from './session-transport.ts';

export type { CallTap } from './session-transport.ts';

export interface SipCallTransportOptions {
  /** host[:port] of the carrier that carried the call; a bare number as transfer target is sent there. */
  carrier: string;
}

export class TransferError extends Error {
  override name = 'TransferError';
  constructor(readonly status: number) {
    super(`transfer failed: the carrier answered ${status}`);
  }
}

export class SipCallTransport extends SessionTransport {
  readonly kind = 'sip' as const;
  /** The RTP stream's PCM rate: 16 kHz for a G.722 (wideband) call, 8 kHz for G.711. */
  readonly sampleRate: number;

  constructor(private readonly dialog: Dialog, private readonly rtp: RtpStream, private readonly options: SipCallTransportOptions) {
    super();
    this.sampleRate = rtp.sampleRate;
  }

  override attach(owner: TransportOwner): void {
    super.attach(owner);
    if (this.taps.some((t) => t.onCallerFrame)) this.rtp.on('audio', (frame) => this.tapCaller(frame));
    if (this.taps.some((t) => t.onAgentFrame)) this.rtp.on('sent', (frame) => this.tapAgent(frame));
  }

  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void {
    const onAudio = (f: AudioFrame): void => listener(f);
    const onDtmf = (f: DtmfFrame): void => listener(f);
    this.rtp.on('audio', onAudio);
    this.rtp.on('dtmf', onDtmf);
    return () => { this.rtp.off('audio', onAudio); this.rtp.off('dtmf', onDtmf); };
  }

  play(pcm: Int16Array): void {
    if (this.ended) return;
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

  override async sendDtmf(digits: string): Promise<void> {
    const before = this.rtp.stats.dtmfOut;
    let queued = 0;
    for (const d of digits) if (this.rtp.sendDtmf(d)) queued++;
    if (queued < digits.length) throw new Error('DTMF could not be sent: telephone-event was not negotiated or a digit is invalid');
    const deadline = Date.now() + 1000 + queued * 500;
    while (this.rtp.stats.dtmfOut - before < queued) {
      if (this.ended) throw new Error('the call ended before the digits were sent');
      if (Date.now() > deadline) throw new Error('DTMF digits were not sent in time');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Blind transfer: REFER to the target (a SIP URI, or a number at the carrier); on success we hang up. */
  override async transfer(target: string): Promise<void> {
    const uri = /^sips?:/i.test(target) ? target : `sip:${target}@${this.options.carrier}`;
    const status = await this.dialog.refer(uri);
    if (status < 200 || status >= 300) throw new TransferError(status);
    await this.hangup('transferred');
  }

  /** BYE, unless the dialog is already over; resolves once it has left (a failed BYE is logged through the dialog's 'byeFailed'). */
  sendHangup(): Promise<void> {
    if (this.dialog.state === 'terminated') return Promise.resolve();
    // bye() never rejects; it settles at the latest with its final status.
    return new Promise<void>((resolve) => { void this.dialog.bye({ onSent: resolve }).then(() => resolve()); });
  }

  async close(reason: EndReason): Promise<void> {
    await this.rtp.close(reason).catch(() => undefined);
  }
}
