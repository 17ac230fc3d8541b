/**
 * The three provider interfaces (DESIGN.md: "Providers sit behind three small
 * interfaces"). Each is streaming and cancellable with an AbortSignal. Adapters
 * (Deepgram, OpenAI, offline espeak-ng / pocketsphinx / scripted) implement them.
 */

// ---------- speech to text ----------
/**
 * One recognised word with its place in the stream's audio: ms from the first
 * sample pushed into this SttStream (Deepgram's words[].start/end, shifted by
 * the connection's offset after a reconnect). Call content: never logged.
 */
export interface SttWord { word: string; startMs: number; endMs: number }

export type SttEvent =
  | { type: 'interim'; text: string }
  /** A final result for a stretch of audio; `speechFinal` when the provider's endpointing says the utterance ended. */
  | {
      type: 'final';
      text: string;
      speechFinal: boolean;
      /** True when this final answers a finalize() call (its text may then be empty). */
      fromFinalize?: boolean;
      /** The words of `text` in order, when the provider times them. */
      words?: SttWord[];
    }
  | { type: 'utterance_end' }
  | { type: 'reconnected' }
  | { type: 'error'; error: Error };

export interface SttStream {
  /** Caller audio, mono PCM16 at the stream's sample rate. Never blocks. */
  push(pcm: Int16Array): void;
  /** Hint that speech ended: ask the provider to finalize what it has. */
  finalize(): void;
  /** Events until close(). */
  events(): AsyncIterable<SttEvent>;
  close(): Promise<void>;
}

export interface SpeechToText {
  readonly name: string;
  stream(opts: { sampleRate: number; language?: string; signal?: AbortSignal }): SttStream;
}

// ---------- language model ----------
export interface ToolCall { id: string; name: string; arguments: string }

export type ChatMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string; toolCalls?: ToolCall[] }
  | { role: 'tool'; content: string; toolCallId: string };

export interface ToolSpec { name: string; description: string; parameters: Record<string, unknown> }

export type LlmChunk =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; call: ToolCall }
  | { type: 'done'; finishReason: string };

export interface LanguageModel {
  readonly name: string;
  chat(req: { messages: ChatMessage[]; tools?: ToolSpec[]; signal: AbortSignal }): AsyncIterable<LlmChunk>;
}

// ---------- text to speech ----------
export interface TextToSpeech {
  readonly name: string;
  /** Sample rate of the PCM16 this provider yields; the pipeline resamples to the call's rate. */
  readonly sampleRate: number;
  synthesize(text: string, opts: { voice?: string; signal: AbortSignal }): AsyncIterable<Int16Array>;
}

export class ProviderError extends Error {
  override name = 'ProviderError';
  constructor(readonly provider: string, message: string, options?: { cause?: unknown }) {
    super(`${provider}: ${message}`, options);
  }
}
