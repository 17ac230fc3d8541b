/**
 * The recorder as a call tap (src/calls CallTap): caller frames go to the
 * recording as they are played out, agent frames as their RTP packets leave
 * (the RTP stream's 'sent', in-thread or from the media thread), so what a
 * barge-in cleared from the queue is never recorded and nothing is guessed
 * from the queue's size. PII spans the conversation reports are silenced
 * (`onAudioRedaction`); at the end the recording is sealed.
 * Never throws into the media path and never logs call content.
 */
import type { AudioFrame } from '../../media/audio/frames.ts';
import type { AudioRedaction } from '../../pipeline/index.ts';
import type { CallTap, TapFactory } from '../calls/index.ts';
import type { Logger } from '../log.ts';
import { audioRedactionFrom, DEFAULT_AUDIO_REDACTION } from './audio-redaction.ts';
import type { CallRecorder, RecordingService } from './recording-service.ts';

export interface RecordingCallTapOptions {
  /** Called once the recording is sealed (or failed to). */
  onDone?: () => void;
}

export class RecordingCallTap implements CallTap {
  private ended = false;

  constructor(readonly recorder: CallRecorder, private readonly options: RecordingCallTapOptions = {}) {}

  onCallerFrame(frame: AudioFrame): void {
    if (!this.ended) this.recorder.caller(frame);
  }

  onAgentFrame(frame: AudioFrame): void {
    if (!this.ended) this.recorder.agent(frame);
  }

  onAudioRedaction(span: AudioRedaction): void {
    this.recorder.redactAudio(span);
  }

  onEnd(): void {
    if (this.ended) return;
    this.ended = true;
    this.recorder.finish().catch(() => null).finally(() => this.options.onDone?.());
  }
}

/** The tap factory for CallManager: every call whose agent records gets a RecordingCallTap (both legs, into the vault). */
export function recordingTaps(recordings: RecordingService, logger: Logger): TapFactory {
  return (call) => {
    if (!call.agent.recordingEnabled) return undefined;
    let audioRedaction = DEFAULT_AUDIO_REDACTION;
    try {
      audioRedaction = audioRedactionFrom(call.agent.providerSettings);
    } catch (error) {
      logger.warn({ agentId: call.agent.id, reason: (error as Error).message }, 'invalid pii_audio_redaction; recording with the default (on)');
    }
    return new RecordingCallTap(recordings.startCallRecording({ tenantId: call.tenantId, callId: call.callId, agent: call.agent, audioRedaction, sampleRate: call.sampleRate }));
  };
}
