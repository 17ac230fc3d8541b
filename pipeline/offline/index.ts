/** Offline providers (no network): espeak-ng TTS, pocketsphinx STT, a scripted LLM, and their availability check. */
export { EspeakTextToSpeech, type EspeakOptions } from './espeak-tts.ts';
export { PocketsphinxSpeechToText, POCKETSPHINX_MODEL_DIR, type PocketsphinxOptions } from './pocketsphinx-stt.ts';
export { ScriptedLanguageModel, DEFAULT_SCRIPT, type ScriptRule, type ScriptedLlmOptions } from './scripted-llm.ts';
export {
  detectOfflineProviders,
  detectEspeak,
  detectPocketsphinx,
  describeOfflineProviders,
  type OfflineAvailability,
  type ToolStatus,
} from './availability.ts';
