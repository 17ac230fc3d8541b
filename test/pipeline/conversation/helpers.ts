/**
 * Shared set-up for conversation tests: the provider simulators behind the
 * real adapters, a FakeTransport, and wrappers that record what each provider
 * was asked and whether its AbortSignal fired.
 */
import {
  Conversation,
  DEFAULT_CONVERSATION_SETTINGS,
  mergeSettings,
  type AgentProfile,
  type ConversationEnd,
  type ConversationSettings,
  type ConversationTurn,
  type DeepPartial,
  type FallbackVoice,
  type PhraseCache,
  type InterruptEvent,
  type ProviderFailure,
} from '../../../pipeline/conversation/index.ts';
import { DeepgramStt, DeepgramTts, OpenAiLlm } from '../../../pipeline/providers/index.ts';
import type { ChatMessage, LanguageModel, SpeechToText, TextToSpeech, ToolSpec } from '../../../pipeline/providers/types.ts';
import { startAllSimulators, synthesizeSpeechPattern, type AllSimulatorOverrides, type AllSimulators } from '../../../tools/simulators/index.ts';
import type { TurnTrace } from '../../../pipeline/tracing/index.ts';
import { SileroModel } from '../../../pipeline/vad/index.ts';
import { FakeTransport } from '../../support/fake-transport.ts';

export const KEY = 'sim-test-key';

/** Records every synthesize() call: its text and signal. */
export class RecordingTts implements TextToSpeech {
  readonly calls: Array<{ text: string; signal: AbortSignal }> = [];
  failWhen: ((text: string) => boolean) | undefined;
  constructor(readonly inner: TextToSpeech) {}
  get name(): string { return this.inner.name; }
  get sampleRate(): number { return this.inner.sampleRate; }
  async *synthesize(text: string, opts: { voice?: string; signal: AbortSignal }): AsyncIterable<Int16Array> {
    this.calls.push({ text, signal: opts.signal });
    if (this.failWhen?.(text)) throw new Error('deepgram-tts: speak request HTTP 503: unavailable');
    yield* this.inner.synthesize(text, opts);
  }
}

/** Records every chat() call: the messages it saw and its signal. */
export class RecordingLlm implements LanguageModel {
  readonly calls: Array<{ messages: ChatMessage[]; signal: AbortSignal }> = [];
  constructor(readonly inner: LanguageModel) {}
  get name(): string { return this.inner.name; }
  chat(req: { messages: ChatMessage[]; tools?: ToolSpec[]; signal: AbortSignal }) {
    this.calls.push({ messages: req.messages.map((m) => ({ ...m })), signal: req.signal });
    return this.inner.chat(req);
  }
}

/** A local "voice" for the apology: the simulators' tone pattern at 16 kHz. */
export const patternTts: TextToSpeech = {
  name: 'pattern',
  sampleRate: 16_000,
  async *synthesize(text: string) {
    yield synthesizeSpeechPattern(text, 16_000);
  },
};

export interface Harness {
  sims: AllSimulators;
  transport: FakeTransport;
  conversation: Conversation;
  stt: SpeechToText;
  llm: RecordingLlm;
  tts: RecordingTts;
  turns: ConversationTurn[];
  traces: TurnTrace[];
  failures: ProviderFailure[];
  interrupts: InterruptEvent[];
  running: Promise<ConversationEnd>;
  /** Waits until the agent's audio has played out (greeting or reply). */
  waitQuiet(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  sims?: AllSimulatorOverrides;
  agent?: Partial<AgentProfile>;
  settings?: DeepPartial<ConversationSettings>;
  pace?: 'realtime' | 'fast';
  sampleRate?: number;
  fallbackVoice?: FallbackVoice;
  phraseCache?: PhraseCache;
  providers?: (sims: AllSimulators) => { stt?: SpeechToText; llm?: LanguageModel; tts?: TextToSpeech };
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const sims = await startAllSimulators('instant', { apiKey: KEY, ...o.sims });
  const rate = o.sampleRate ?? 8000;
  const custom = o.providers?.(sims) ?? {};
  const stt = custom.stt ?? new DeepgramStt({ apiKey: KEY, baseUrl: sims.deepgramLive.url });
  const llm = new RecordingLlm(custom.llm ?? new OpenAiLlm({ apiKey: KEY, baseUrl: sims.openai.baseUrl }));
  const tts = new RecordingTts(custom.tts ?? new DeepgramTts({ apiKey: KEY, baseUrl: sims.deepgramSpeak.url, sampleRate: 16_000 }));
  const transport = new FakeTransport(rate, o.pace ?? 'fast');
  const conversation = await Conversation.create({
    transport,
    stt,
    llm,
    tts,
    agent: { systemPrompt: 'You are a test receptionist.', greeting: 'Welcome to Bella Cucina.', ...o.agent },
    settings: mergeSettings(DEFAULT_CONVERSATION_SETTINGS, o.settings),
    clock: () => transport.now(),
    vadModel: await SileroModel.load(),
    ...(o.fallbackVoice ? { fallbackVoice: o.fallbackVoice } : {}),
    ...(o.phraseCache ? { phraseCache: o.phraseCache } : {}),
  });
  const h: Harness = {
    sims, transport, conversation, stt, llm, tts,
    turns: [], traces: [], failures: [], interrupts: [],
    running: undefined as unknown as Promise<ConversationEnd>,
    waitQuiet: async (timeoutMs = 10_000) => {
      await transport.waitFor(() => transport.played.length > 0 && transport.queuedMs() === 0 && !h.conversation.agentActive, timeoutMs, 'agent audio to play out');
    },
    close: async () => {
      conversation.close('test_done');
      transport.close();
      await h.running.catch(() => undefined);
      await sims.close();
    },
  };
  conversation.on('turn', (t) => h.turns.push(t));
  conversation.on('trace', (t) => h.traces.push(t));
  conversation.on('failure', (f) => h.failures.push(f));
  conversation.on('interrupt', (i) => h.interrupts.push(i));
  h.running = conversation.run();
  transport.start();
  return h;
}

export function assistantTexts(history: readonly ChatMessage[]): string[] {
  return history.filter((m) => m.role === 'assistant').map((m) => m.content);
}
