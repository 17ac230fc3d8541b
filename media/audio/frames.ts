/**
 * Frames are what flows through a call's pipeline (see DESIGN.md): audio in
 * 20 ms pieces, and control frames such as an interruption or the end of the
 * call. A transport hands the pipeline AudioFrames and takes AudioFrames back.
 */
export interface AudioFrame {
  kind: 'audio';
  /** Mono PCM16 samples; 20 ms at `sampleRate` unless noted. */
  pcm: Int16Array;
  sampleRate: number;
  /** Monotonic capture time of the first sample, in ms (performance.now()). */
  timeMs: number;
}

export interface DtmfFrame { kind: 'dtmf'; digit: string; durationMs: number; timeMs: number }
export interface InterruptFrame { kind: 'interrupt'; timeMs: number }
export interface EndFrame { kind: 'end'; reason: string; timeMs: number }

export type Frame = AudioFrame | DtmfFrame | InterruptFrame | EndFrame;

export const FRAME_MS = 20;
export const samplesPerFrame = (sampleRate: number): number => (sampleRate * FRAME_MS) / 1000;
