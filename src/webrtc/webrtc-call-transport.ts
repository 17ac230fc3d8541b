/**
 * CallTransport (pipeline/transport.ts) over one browser's WebRTC audio peer
 * (media/webrtc/audio-peer.ts): 16 kHz wideband frames both ways (the peer
 * does the Opus 48 kHz <-> 16 kHz work), agent audio paced by the peer,
 * barge-in clears the peer's queue, hang-up closes the peer. No DTMF and no
 * transfer: a browser has neither keypad digits in RFC 4733 here nor a
 * carrier to be referred to. Taps (the recorder) see both legs: caller
 * frames as they arrive, agent frames as they left.
 */
import type { AudioFrame, DtmfFrame } from '../../media/audio/frames.ts';
import type { WebRtcAudioPeer } from '../../media/webrtc/audio-peer.ts';
import { endReasonOf } from '../../pipeline/index.ts';
import type { CallTransport, EndReason, PlayoutStart } from '../../pipeline/transport.ts';
import type { CallTap } from '../calls/sip-call-transport.ts';

export interface WebRtcCallTransportOptions {
  /** Ends the call (peer, record) once; the owner supplies it. */
  end: (reason: EndReason) => Promise<void>;
  taps?: CallTap[];
}

export class WebRtcCallTransport implements CallTransport {
  readonly sampleRate: number;
  readonly taps: CallTap[];
  private readonly endListeners = new Set<(reason: EndReason) => void>();
  private endedReason: EndReason | undefined;

  constructor(private readonly peer: WebRtcAudioPeer, private readonly options: WebRtcCallTransportOptions) {
    this.sampleRate = peer.sampleRate;
    this.taps = options.taps ?? [];
    if (this.taps.some((t) => t.onCallerFrame)) peer.on('audio', (frame) => { for (const t of this.taps) t.onCallerFrame?.(frame); });
    if (this.taps.some((t) => t.onAgentFrame)) {
      peer.on('sent', (pcm) => {
        const frame: AudioFrame = { kind: 'audio', pcm, sampleRate: this.sampleRate, timeMs: performance.now() };
        for (const t of this.taps) t.onAgentFrame?.(frame);
      });
    }
  }

  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void {
    const onAudio = (f: AudioFrame): void => listener(f);
    this.peer.on('audio', onAudio);
    return () => { this.peer.off('audio', onAudio); };
  }

  play(pcm: Int16Array): void {
    if (this.endedReason !== undefined) return;
    this.peer.play(pcm);
  }

  clearPlayback(): number {
    return this.peer.clearPlayback();
  }

  queuedMs(): number {
    return this.peer.queuedMs();
  }

  onPlayoutStart(listener: (event: PlayoutStart) => void): () => void {
    const l = (e: { timeMs: number }): void => listener({ timeMs: e.timeMs });
    this.peer.on('playout', l);
    return () => { this.peer.off('playout', l); };
  }

  async sendDtmf(): Promise<void> {
    throw new Error('DTMF cannot be sent on a browser (WebRTC) call');
  }

  async transfer(): Promise<void> {
    throw new Error('a browser (WebRTC) call cannot be transferred');
  }

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

  /** Called by the call's owner once the call is over. */
  fireEnd(reason: EndReason): void {
    if (this.endedReason !== undefined) return;
    this.endedReason = reason;
    for (const t of this.taps) { try { t.onEnd?.(reason); } catch { /* a tap must not break the hang-up */ } }
    for (const l of this.endListeners) { try { l(reason); } catch { /* listener errors are theirs */ } }
    this.endListeners.clear();
  }
}
