/**
 * TextToSpeech over the official `openai` SDK (`audio.speech.create`) with
 * `response_format: 'pcm'`: 24 kHz mono PCM16 LE, yielded as Int16Array
 * chunks as the bytes arrive (odd byte boundaries handled). Aborting the
 * signal cancels the request and ends iteration quietly.
 */
import OpenAI from 'openai';
import { streamSpeech } from './speech-response.ts';
import type { TextToSpeech } from './types.ts';

export interface OpenAiTtsOptions {
  apiKey: string;
  baseUrl?: string;
  /** Default `gpt-4o-mini-tts`. */
  model?: string;
  /** Default voice when synthesize() gets none; default `alloy`. */
  voice?: string;
  /** Style instructions (gpt-4o-mini-tts only). */
  instructions?: string;
  speed?: number;
  maxRetries?: number;
  timeoutMs?: number;
}

/** OpenAI's `pcm` response format is fixed at 24 kHz. */
export const OPENAI_PCM_SAMPLE_RATE = 24_000;

export class OpenAiTts implements TextToSpeech {
  readonly name = 'openai-tts';
  readonly sampleRate = OPENAI_PCM_SAMPLE_RATE;
  private readonly client: OpenAI;

  constructor(private readonly options: OpenAiTtsOptions) {
    this.client = new OpenAI({
      apiKey: options.apiKey,
      baseURL: options.baseUrl ?? null,
      maxRetries: options.maxRetries ?? 0,
      timeout: options.timeoutMs ?? 30_000,
    });
  }

  async *synthesize(text: string, opts: { voice?: string; signal: AbortSignal }): AsyncIterable<Int16Array> {
    const { signal } = opts;
    if (signal.aborted || text.trim().length === 0) return;
    yield* streamSpeech(this.name, 'speech', async () => {
      const response = await this.client.audio.speech.create(
        {
          model: this.options.model ?? 'gpt-4o-mini-tts',
          voice: opts.voice ?? this.options.voice ?? 'alloy',
          input: text,
          response_format: 'pcm',
          ...(this.options.instructions !== undefined ? { instructions: this.options.instructions } : {}),
          ...(this.options.speed !== undefined ? { speed: this.options.speed } : {}),
        },
        { signal },
      );
      return response.body;
    }, signal, [this.options.apiKey]);
  }
}
