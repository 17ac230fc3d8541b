/**
 * Providers: the three streaming, cancellable interfaces (speech-to-text,
 * language model, text-to-speech) and their adapters over the official SDKs.
 */
export * from './types.ts';
export { DeepgramStt, deepgramEnvironment, type DeepgramSttOptions } from './deepgram-stt.ts';
export { DeepgramTts, type DeepgramTtsOptions } from './deepgram-tts.ts';
export { OpenAiLlm, collectToolCallDeltas, type OpenAiLlmOptions } from './openai-llm.ts';
export { OpenAiTts, OPENAI_PCM_SAMPLE_RATE, type OpenAiTtsOptions } from './openai-tts.ts';
export { Pcm16Assembler, readPcm16Stream } from './pcm-bytes.ts';
export { redactSecrets, toProviderError } from './provider-error.ts';
