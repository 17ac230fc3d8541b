/**
 * The pipeline's public face: the per-call Conversation and what it is built
 * from (frames, the CallTransport seam, providers and their simulators,
 * offline providers, VAD, redaction, latency tracing).
 */
export * from '../media/audio/frames.ts';
export type * from './transport.ts';
export { END_REASONS, endReasonOf } from './end-reason.ts';
export * from './conversation/index.ts';
export * from './tracing/index.ts';
export * from './providers/index.ts';
export {
  EspeakTextToSpeech,
  EspeakWasmTextToSpeech,
  DEMO_KEYPAD_MENU,
  keypadMenuText,
  keypadOnlyNotice,
  prewarmEspeakWasm,
  POCKETSPHINX_INSTALL,
  PocketsphinxSpeechToText,
  ScriptedLanguageModel,
  detectOfflineProviders,
  describeOfflineProviders,
  type OfflineAvailability,
  type ToolStatus,
} from './offline/index.ts';
export { VoiceActivityDetector, SileroModel, type VadOptions } from './vad/index.ts';
export { redact, redactKeypad, TurnRedactor, type RedactedEntity, type RedactionResult } from './redact/index.ts';
