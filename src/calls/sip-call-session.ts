/**
 * A CallSession that came in (or went out) over SIP: its dialog and RTP
 * session, and what happens to them mid-call: re-INVITE (hold, resume, codec
 * or address change; the RTP latch survives unless the SDP address changes),
 * RTP inactivity (ends the call with BYE), the RTP session closing under the
 * call (the media thread died: ends it with BYE too), BYE either way, RTP from
 * a foreign source counted on the call.
 */
import type { Dialog, DialogEndReason, ReinviteAnswer } from '../../media/sip/index.ts';
import type { RtpStream } from '../../media/rtp/index.ts';
import { answerOffer, sdpFailureWarning, type NegotiatedAudio } from '../../media/sdp/index.ts';
import type { EndReason } from '../../pipeline/index.ts';
import { CallSession, type CallSessionInit } from './call-session.ts';
import { SipCallTransport } from './sip-call-transport.ts';

/** How the dialog's own end maps to the call's. */
const DIALOG_END: Record<DialogEndReason, EndReason> = { 'remote bye': 'remote-bye', 'local bye': 'agent-hangup', 'endpoint closed': 'shutdown' };

export interface LocalMediaState {
  address: string;
  sessionId: string;
  version: number;
}

export interface SipCallSessionInit extends Omit<CallSessionInit, 'transport' | 'remoteParty'> {
  dialog: Dialog;
  rtp: RtpStream;
  negotiated: NegotiatedAudio;
  local: LocalMediaState;
  carrier: string;
}

export class SipCallSession extends CallSession<SipCallTransport> {
  readonly dialog: Dialog;
  readonly rtp: RtpStream;
  private negotiated: NegotiatedAudio;
  private readonly local: LocalMediaState;

  constructor(init: SipCallSessionInit) {
    super({ ...init, transport: new SipCallTransport(init.dialog, init.rtp, { carrier: init.carrier }), remoteParty: init.dialog.remoteUri });
    this.dialog = init.dialog;
    this.rtp = init.rtp;
    this.negotiated = init.negotiated;
    this.local = init.local;
    init.rtp.on('inactive', ({ idleMs }) => {
      this.logger.info({ idleMs: Math.round(idleMs) }, 'no RTP; ending the call');
      void this.end('rtp-timeout', true);
    });
    init.rtp.on('error', (error) => {
      // A media thread crash is logged once, by the MediaThread; the 'close' that follows ends the call.
      if (error.name !== 'MediaThreadError') this.logger.warn({ err: error }, 'RTP error');
    });
    // The RTP session closed without us (the media thread died): end the call cleanly rather than leave it hanging.
    init.rtp.on('close', () => {
      if (this.ended) return;
      this.logger.info('the RTP session closed under the call; ending it');
      void this.end('media-failure', true);
    });
    // A BYE that fails (no answer, transport error, an error status) is logged; the call ends here regardless.
    init.dialog.on('byeFailed', (status) => this.logger.warn({ status, transport: init.dialog.transport }, 'our BYE failed; the call is ended on our side'));
    init.dialog.on('bye', () => void this.end('remote-bye', false));
    init.dialog.on('terminated', (reason) => void this.end(DIALOG_END[reason], false));
    init.dialog.onReinvite = (offer) => this.onReinvite(offer);
  }

  /** The dialog's remote URI (it may change with the dialog's target refresh). */
  override get remoteParty(): string {
    return this.dialog.remoteUri;
  }

  /** The negotiated codec's name (PCMU, PCMA, G722). */
  get codec(): string {
    return this.negotiated.codec.name;
  }

  protected override mediaClosed(): void {
    this.recordForeignMedia();
  }

  private onReinvite(offer: string): ReinviteAnswer {
    if (this.ended) return undefined;
    if (!offer) return this.dialog.localSdp; // no offer: repeat ours
    this.local.version++;
    const answer = answerOffer(offer, {
      address: this.local.address, port: this.rtp.localPort, sessionId: this.local.sessionId, sessionVersion: this.local.version,
      preferred: [this.negotiated.codec.name], // keep the call's codec when the re-offer still has it
      // An SRTP call stays SRTP under the same keys (the RTP session cannot change them mid-call).
      ...(this.negotiated.srtp ? { srtp: 'required' as const, srtpSendKey: this.negotiated.srtp.sendKey } : {}),
    });
    const keys = this.negotiated.srtp;
    if (answer.ok && keys && (answer.srtp?.suite !== keys.suite || answer.srtp.receiveKey !== keys.receiveKey)) {
      this.local.version--;
      this.event('reinvite-refused', { reason: 'srtp-rekey' });
      return { warning: sdpFailureWarning('srtp-rekey') };
    }
    if (!answer.ok) {
      this.local.version--;
      this.event('reinvite-refused', { reason: answer.reason });
      return { warning: sdpFailureWarning(answer.reason) };
    }
    const before = this.negotiated;
    if (answer.codec.name !== before.codec.name || answer.codec.payloadType !== before.codec.payloadType
      || answer.telephoneEvent?.payloadType !== before.telephoneEvent?.payloadType
      || answer.comfortNoise?.payloadType !== before.comfortNoise?.payloadType) {
      this.rtp.setCodec({ name: answer.codec.name, payloadType: answer.codec.payloadType }, answer.telephoneEvent?.payloadType, answer.comfortNoise?.payloadType);
      this.event('codec', { codec: answer.codec.name });
    }
    const r = answer.remote;
    if (!answer.remote.onHold && (r.address !== before.remote.address || r.port !== before.remote.port)) {
      this.rtp.setRemote({ address: r.address, port: r.port, rtcpPort: r.rtcpPort });
    }
    this.rtp.setDirection({ send: answer.send, receive: answer.receive });
    if (r.onHold && !before.remote.onHold) this.event('hold', { direction: r.direction });
    else if (!r.onHold && before.remote.onHold) this.event('resume', {});
    this.negotiated = answer;
    return answer.sdp;
  }

  /** RTP that came from neither the SDP nor the signalling address (an RTP bleed attempt): counted on the call, never heard. */
  private recordForeignMedia(): void {
    const packets = this.rtp.stats.dropped['foreign-source'];
    if (packets === 0) return;
    this.logger.warn({ packets }, 'dropped RTP from an address that is neither the SDP nor the signalling address');
    this.event('rtp-foreign-source', { packets });
  }
}
