/**
 * TextToSpeech over Deepgram Aura's REST streaming endpoint through the
 * official `@deepgram/sdk` (`speak.v1.audio.generate`), asking for raw
 * linear16 (`container: 'none'`) at the requested sample rate so the pipeline
 * can often skip resampling. Chunks are yielded as bytes arrive; aborting
 * the signal cancels the request and ends iteration quietly.
 */
import { DeepgramClient } from '@deepgram/sdk';
import { deepgramEnvironment } from './deepgram-stt.ts';
import { streamSpeech } from './speech-response.ts';
import type { TextToSpeech } from './types.ts';

export interface DeepgramTtsOptions {
  apiKey: string;
  /** REST base, e.g. http://127.0.0.1:9000. Default: Deepgram. */
  baseUrl?: string;
  /** Aura voice model used when synthesize() gets no voice; default `aura-2-thalia-en`. */
  model?: string;
  /** 8000, 16000, 24000, 32000 or 48000; default 24000. */
  sampleRate?: number;
  timeoutMs?: number;
}

export class DeepgramTts implements TextToSpeech {
  readonly name = 'deepgram-tts';
  readonly sampleRate: number;
  private readonly client: DeepgramClient;

  constructor(private readonly options: DeepgramTtsOptions) {
    this.sampleRate = options.sampleRate ?? 24_000;
    this.client = new DeepgramClient({
      apiKey: options.apiKey,
      ...(options.baseUrl ? { environment: deepgramEnvironment(options.baseUrl) } : {}),
      maxRetries: 0,
      timeoutInSeconds: (options.timeoutMs ?? 30_000) / 1000,
    });
  }

  async *synthesize(text: string, opts: { voice?: string; signal: AbortSignal }): AsyncIterable<Int16Array> {
    const { signal } = opts;
    if (signal.aborted || text.trim().length === 0) return;
    yield* streamSpeech(this.name, 'speak', async () => {
      const response = await this.client.speak.v1.audio.generate(
        {
          text,
          model: opts.voice ?? this.options.model ?? 'aura-2-thalia-en',
          encoding: 'linear16',
          sample_rate: this.sampleRate,
          container: 'none',
        },
        { abortSignal: signal, maxRetries: 0 },
      );
      return response.stream();
    }, signal, [this.options.apiKey]);
  }
}
