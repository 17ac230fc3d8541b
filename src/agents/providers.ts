/**
 * The provider instances for one call, as provider-choice.ts decided: Deepgram
 * or pocketsphinx STT, OpenAI or the scripted LLM, Deepgram, OpenAI or eSpeak
 * NG TTS, with the tenant's own keys when it has them.
 */
import {
  DeepgramStt,
  DeepgramTts,
  EspeakTextToSpeech,
  EspeakWasmTextToSpeech,
  OpenAiLlm,
  OpenAiTts,
  PocketsphinxSpeechToText,
  ScriptedLanguageModel,
  type LanguageModel,
  type SpeechToText,
  type SttEvent,
  type SttStream,
  type TextToSpeech,
} from '../../pipeline/index.ts';
import { providerKeys, ProviderSettingsError, type ProviderChoice, type ProviderEnvironment } from './provider-choice.ts';

export interface CallProviders {
  stt: SpeechToText;
  llm: LanguageModel;
  tts: TextToSpeech;
}

/** An STT that hears nothing (no STT available): the agent still greets, reprompts and says goodbye. */
class DeafStt implements SpeechToText {
  readonly name = 'none';
  stream(): SttStream {
    let end: (() => void) | undefined;
    const ended = new Promise<void>((resolve) => (end = resolve));
    return {
      push() {},
      finalize() {},
      async *events(): AsyncIterable<SttEvent> {
        await ended;
      },
      async close() {
        end?.();
      },
    };
  }
}

/** Provider instances for one call at `sampleRate`. Throws when no TTS exists (a call must never be silent). */
export function createProviders(choice: ProviderChoice, env: ProviderEnvironment, sampleRate: number): CallProviders {
  const k = providerKeys(env);
  const c = env.config;
  const stt: SpeechToText =
    choice.stt.kind === 'deepgram'
      ? new DeepgramStt({
          apiKey: k.deepgram!,
          model: choice.stt.model,
          ...(choice.stt.language ? { language: choice.stt.language } : {}),
          ...(c.DEEPGRAM_BASE_URL ? { baseUrl: c.DEEPGRAM_BASE_URL } : {}),
        })
      : choice.stt.kind === 'pocketsphinx'
        ? new PocketsphinxSpeechToText()
        : new DeafStt();
  const llm: LanguageModel =
    choice.llm.kind === 'openai'
      ? new OpenAiLlm({
          apiKey: k.openai!,
          model: choice.llm.model,
          ...(choice.llm.temperature !== undefined ? { temperature: choice.llm.temperature } : {}),
          ...(c.OPENAI_BASE_URL ? { baseUrl: c.OPENAI_BASE_URL } : {}),
        })
      : new ScriptedLanguageModel();
  let tts: TextToSpeech;
  if (choice.tts.kind === 'deepgram') {
    const rate = [8000, 16000, 24000, 32000, 48000].includes(sampleRate) ? sampleRate : 24000;
    tts = new DeepgramTts({ apiKey: k.deepgram!, model: choice.tts.model, sampleRate: rate, ...(c.DEEPGRAM_BASE_URL ? { baseUrl: c.DEEPGRAM_BASE_URL } : {}) });
  } else if (choice.tts.kind === 'openai') {
    tts = new OpenAiTts({ apiKey: k.openai!, voice: choice.tts.voice, model: choice.tts.model, ...(c.OPENAI_BASE_URL ? { baseUrl: c.OPENAI_BASE_URL } : {}) });
  } else if (choice.tts.kind === 'espeak') {
    tts = new EspeakTextToSpeech({ voice: choice.tts.voice });
  } else if (choice.tts.kind === 'espeak-wasm') {
    tts = new EspeakWasmTextToSpeech({ voice: choice.tts.voice });
  } else {
    throw new ProviderSettingsError('no text-to-speech is available (run npm install, install espeak-ng, or set DEEPGRAM_API_KEY / OPENAI_API_KEY)');
  }
  return { stt, llm, tts };
}
