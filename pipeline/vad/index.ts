/** Voice activity detection: Silero v4 on onnxruntime-node in one shared inference thread (batched across calls), one detector per call. */
export {
  VoiceActivityDetector,
  DEFAULT_VAD_OPTIONS,
  type VadOptions,
  type VadEvents,
  type SpeechStartEvent,
  type SpeechEndEvent,
  type VadProbability,
} from './detector.ts';
export {
  SileroModel,
  SileroState,
  SILERO_SAMPLE_RATES,
  SILERO_WINDOWS,
  defaultModelPath,
  defaultWindowSamples,
  isSileroSampleRate,
  type SileroSampleRate,
  type SileroStats,
} from './silero.ts';
