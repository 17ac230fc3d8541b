/**
 * The WebRTC way in as a SessionTransport (src/calls/session-transport.ts)
 * over one browser's audio peer (media/webrtc/audio-peer.ts): 16 kHz
 * wideband frames both ways (the peer does the Opus 48 kHz <-> 16 kHz work,
 * so the conversation hears wideband and the recorder keeps it), agent
 * audio paced by the peer, barge-in clears the peer's queue, hang-up closes
 * the peer (the signalling socket then tells the page). No DTMF and no
 * transfer (the base refuses both).
 */
import type { AudioFrame, DtmfFrame } from '../../media/audio/frames.ts';
import type { WebRtcAudioPeer } from '../../media/webrtc/audio-peer.ts';
import type { EndReason, PlayoutStart } from '../../pipeline/transport.ts';
import { SessionTransport } from '../calls/session-transport.ts';

/** How the peer's own end (media/webrtc/audio-peer.ts) reads as the call's. */
function endReasonOfPeer(reason: string): EndReason {
  return reason === 'remote-hangup' ? 'remote-bye' : 'media-failure';
}

export class WebRtcCallTransport extends SessionTransport {
  readonly kind = 'webrtc' as const;
  readonly sampleRate: number;

  constructor(private readonly peer: WebRtcAudioPeer) {
    super();
    this.sampleRate = peer.sampleRate;
    peer.on('audio', (frame) => this.tapCaller(frame));
    peer.on('sent', (pcm) => this.tapAgent({ kind: 'audio', pcm, sampleRate: this.sampleRate, timeMs: performance.now() }));
    peer.once('end', (reason) => this.remoteEnded(endReasonOfPeer(reason)));
  }

  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void {
    const onAudio = (f: AudioFrame): void => listener(f);
    this.peer.on('audio', onAudio);
    return () => { this.peer.off('audio', onAudio); };
  }

  play(pcm: Int16Array): void {
    if (this.ended) return;
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

  /** The browser hung up (its hang-up message, or its signalling socket closed). */
  browserHungUp(): void {
    this.remoteEnded('remote-bye');
  }

  /** Closing the peer ends DTLS and ICE; the signalling socket tells the page why (src/webrtc/signalling.ts). */
  async sendHangup(): Promise<void> {
    this.peer.close('agent-hangup');
  }

  async close(reason: EndReason): Promise<void> {
    this.peer.close(reason);
  }
}
