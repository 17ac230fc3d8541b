/** Offline providers (no network): eSpeak NG TTS (WebAssembly or program), pocketsphinx STT, a scripted LLM, and their availability check. */
export { EspeakTextToSpeech, type EspeakOptions } from './espeak-tts.ts';
export { EspeakWasmTextToSpeech, ESPEAK_WASM_SAMPLE_RATE, espeakWasmPid, prewarmEspeakWasm, stopEspeakWasm, type EspeakWasmOptions } from './espeak-wasm-tts.ts';
export { PocketsphinxSpeechToText, POCKETSPHINX_MODEL_DIR, type PocketsphinxOptions } from './pocketsphinx-stt.ts';
export { DEMO_KEYPAD_MENU, keypadMenuText, keypadOnlyNotice, type KeypadChoice } from './keypad-menu.ts';
export { ScriptedLanguageModel, DEFAULT_SCRIPT, type ScriptRule, type ScriptedLlmOptions } from './scripted-llm.ts';
export {
  detectOfflineProviders,
  detectEspeak,
  detectEspeakWasm,
  ESPEAK_WASM_PACKAGE,
  POCKETSPHINX_INSTALL,
  detectPocketsphinx,
  describeOfflineProviders,
  type OfflineAvailability,
  type ToolStatus,
} from './availability.ts';
