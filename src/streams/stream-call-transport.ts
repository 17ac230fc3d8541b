/**
 * CallTransport over one carrier WebSocket media stream (media/streams/
 * media-stream.ts): caller frames (8 kHz PCM16) and DTMF out of it, agent
 * audio into its real-time pacer. Barge-in sends `clear`, and what it reports
 * as dropped counts the audio sent but not yet acknowledged by a `mark` echo,
 * so the conversation trims its history to what the caller really heard.
 * Our hang-up closes the socket (the carrier then moves on past the stream
 * and, with nothing after it, ends the call); the far end's `stop` or a
 * socket that goes away ends the call.
 */
import type { AudioFrame, DtmfFrame } from '../../media/audio/frames.ts';
import { STREAM_SAMPLE_RATE, type MediaStream } from '../../media/streams/media-stream.ts';
import type { EndReason, PlayoutStart } from '../../pipeline/transport.ts';
import { SessionTransport, type TransportOwner } from '../calls/session-transport.ts';

/** How the stream's own end reads as the call's: `stop` is the caller hanging up, the rest a failure of the media path. */
export function streamEndReason(reason: string): EndReason {
  switch (reason) {
    case 'remote-stop': return 'remote-bye';
    case 'media-timeout': return 'rtp-timeout';
    default: return 'media-failure'; // socket closed without a stop, socket error, protocol error
  }
}

export class StreamCallTransport extends SessionTransport {
  readonly kind = 'ws-stream' as const;
  readonly sampleRate = STREAM_SAMPLE_RATE;

  constructor(private readonly stream: MediaStream) {
    super();
    stream.on('end', (reason) => this.remoteEnded(streamEndReason(reason)));
  }

  override attach(owner: TransportOwner): void {
    super.attach(owner);
    if (this.taps.some((t) => t.onCallerFrame)) this.stream.on('audio', (frame) => this.tapCaller(frame));
    if (this.taps.some((t) => t.onAgentFrame)) this.stream.on('sent', (frame) => this.tapAgent(frame));
  }

  onFrame(listener: (frame: AudioFrame | DtmfFrame) => void): () => void {
    const onAudio = (f: AudioFrame): void => listener(f);
    const onDtmf = (f: DtmfFrame): void => listener(f);
    this.stream.on('audio', onAudio);
    this.stream.on('dtmf', onDtmf);
    return () => { this.stream.off('audio', onAudio); this.stream.off('dtmf', onDtmf); };
  }

  play(pcm: Int16Array): void {
    if (this.ended) return;
    this.stream.play(pcm);
  }

  clearPlayback(): number {
    return this.stream.clearPlayback();
  }

  queuedMs(): number {
    return this.stream.queuedMs();
  }

  onPlayoutStart(listener: (event: PlayoutStart) => void): () => void {
    const l = (e: { timeMs: number }): void => listener({ timeMs: e.timeMs });
    this.stream.on('playout', l);
    return () => this.stream.off('playout', l);
  }

  /** Closing the socket is the hang-up: the carrier ends a call whose stream instruction is the last one. */
  sendHangup(): Promise<void> {
    this.stream.close('agent-hangup');
    return Promise.resolve();
  }

  close(reason: EndReason): Promise<void> {
    this.stream.close(reason);
    return Promise.resolve();
  }
}
