/**
 * One call's conversation, driven by a CallTransport. Frames flow through the
 * stages of DESIGN.md, Pipecat-style, and an interruption is a frame too:
 *
 *   caller AudioFrame -> (resample) -> VAD ─┐
 *                     -> streaming STT ─────┴> TurnDetector -> end of turn
 *   end of turn -> LLM (streaming, tools) -> SentenceSplitter -> TTS (streaming)
 *               -> resample to the call's rate -> transport.play()
 *   InterruptFrame (barge-in, a key over the agent, a new turn over it)
 *               -> Reply.cancel('barge_in'): clearPlayback(), abort LLM + TTS, trim history
 *   EndFrame (hang-up, either side, or close()) -> Reply.cancel('call_end'), close VAD and STT
 *
 * Each agent utterance is a Reply (reply.ts): one state machine, and every
 * way of stopping it early is its one cancel(reason). The LLM rounds and tool
 * calls of an answer are the tool loop (tool-loop.ts).
 *
 * Endpointing overlaps recognition: the STT is asked to finalize once the VAD
 * hears silence (TurnDetector), so the turn ends at max(hangover, STT final).
 * When the STT closes the caller's words while the hangover still runs, the
 * answer starts at once as a speculative Reply (preemptive generation): held
 * until the turn ends with the same text, thrown away unheard if the caller
 * goes on. Wasted ones are counted (speculationCount, the metrics).
 *
 * The greeting always starts with the AI disclosure, which cannot be talked
 * over. Caller and agent turns leave only redacted (TurnRedactor / redact)
 * as 'turn' events; raw text lives in memory for the LLM and is never logged.
 * One TurnRedactor serves all caller turns, so a number said across two turns
 * is caught. Keypad digits (DTMF) are caller input too: collected into runs
 * (until `#` or the inter-digit timeout, KeypadCollector on the frame clock),
 * each run a caller turn "[keypad] 1234#". The LLM gets the keys as typed (it
 * may need an account number); the 'turn' event carries them redacted
 * (redactKeypad). A key pressed over the agent interrupts it like speech.
 * Where PII was said or typed, an 'audio_redaction' event gives the span on
 * the frame clock (never the content) so the recorder can silence it: a
 * caller turn's redacted words from the STT's word timings (StreamClock maps
 * them back to the frames; untimed text falls back to the whole turn), a
 * keypad run that redactKeypad masks, and an agent sentence that repeats PII
 * (the whole sentence, timed by when its audio plays out).
 * A failing STT, LLM or TTS ends in a 'failure' event, a spoken apology (the
 * TTS if it still works, else the local FallbackVoice) and a clean hang-up.
 * Silence reprompts and the call-duration limit run on the frame clock, so
 * the conversation keeps no timers of its own.
 *
 * Resampling uses media/audio/resample.ts, imported directly the way
 * pipeline/offline already does (the pipeline owns no resampler of its own).
 */
import { EventEmitter } from 'node:events';
import { Resampler } from '../../media/audio/resample.ts';
import type { AudioFrame, DtmfFrame, EndFrame, InterruptFrame } from '../../media/audio/frames.ts';
import type { ChatMessage, LanguageModel, SpeechToText, SttStream, TextToSpeech, ToolSpec } from '../providers/types.ts';
import { redact, redactKeypad, TurnRedactor, type RedactedEntity, type RedactedType, type TurnRedaction } from '../redact/index.ts';
import { TurnTimer, type LatencyMetrics, type TurnTrace } from '../tracing/index.ts';
import type { CallTransport } from '../transport.ts';
import { isSileroSampleRate, SileroModel, VoiceActivityDetector } from '../vad/index.ts';
import { EventQueue } from '../providers/event-queue.ts';
import { isBackchannel } from './backchannel.ts';
import { composeGreeting } from './disclosure.ts';
import { APOLOGY, FallbackVoice, REPROMPT, SHUTDOWN_GOODBYE, SILENCE_GOODBYE, TIME_LIMIT_GOODBYE } from './phrases.ts';
import { PlayoutLedger, type SpokenSpan } from './playout-ledger.ts';
import { splitSentences } from './sentence-splitter.ts';
import { DEFAULT_CONVERSATION_SETTINGS, type ConversationSettings } from './settings.ts';
import { toolsFor } from './tools.ts';
import { Reply, type AfterReply, type CancelReason, type ReplyKind, type ReplyStage } from './reply.ts';
import { StageError, type PipelineStage } from './stage-error.ts';
import { runToolLoop } from './tool-loop.ts';
import { TurnDetector, type EndOfTurn } from './turn-detector.ts';
import { concatPcm, type PhraseCache } from './phrase-cache.ts';
import { KeypadCollector, type KeypadRun } from './keypad-collector.ts';
import { StreamClock } from './stream-clock.ts';

export interface AgentProfile {
  systemPrompt: string;
  /** The configured greeting; the AI disclosure is put in front of it unless it already discloses. */
  greeting: string;
  voice?: string;
  /** Where transfer_call goes; without one the tool is not offered. */
  transferTarget?: string | null;
  language?: string;
  /** What the silence reprompt says; default REPROMPT ("Are you still there?"). */
  reprompt?: string;
}

export interface ConversationTurn {
  role: 'caller' | 'agent';
  redactedText: string;
  entities: RedactedEntity[];
  /** Conversation clock (ms) when the turn closed. */
  atMs: number;
  /** Agent turns: the latency trace of the caller turn this reply answered. */
  trace?: TurnTrace;
  /** Agent turns cut off by the caller: the text is what the caller heard. */
  interrupted?: boolean;
}

/** At most this long after the hang-up for the STT to flush the caller's last words (its adapter's own close timeout is shorter). */
const END_FLUSH_LIMIT_MS = 3000;

/** Audio to silence in the recording: [startMs, endMs) on the frame clock, both legs. Never carries content. */
export interface AudioRedaction {
  source: 'caller' | 'agent' | 'keypad';
  type: RedactedType;
  startMs: number;
  endMs: number;
}

export type { PipelineStage };
export interface ProviderFailure { stage: PipelineStage; provider: string; message: string }
export interface InterruptEvent { atMs: number; droppedMs: number; heardMs: number }
/** Answers started before the caller's turn was over (preemptive generation), and those thrown away (the caller went on). */
export interface SpeculationCount { started: number; used: number; wasted: number; wastedLlmRequests: number }
export interface ConversationEnd { reason: string; failure?: ProviderFailure; traces: TurnTrace[]; speculation?: SpeculationCount }

export interface ConversationEvents {
  turn: [ConversationTurn];
  audio_redaction: [AudioRedaction];
  trace: [TurnTrace];
  failure: [ProviderFailure];
  interrupt: [InterruptEvent];
  end: [ConversationEnd];
}

/** The subset of a pino logger the conversation uses (never given call content). */
export interface ConversationLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ConversationOptions {
  transport: CallTransport;
  stt: SpeechToText;
  llm: LanguageModel;
  tts: TextToSpeech;
  agent: AgentProfile;
  settings?: ConversationSettings;
  /** Local voice for the apology when the TTS itself failed (espeak-ng). */
  fallbackVoice?: FallbackVoice;
  vadModel?: SileroModel;
  /** Audio of fixed phrases (disclosure, greeting, reprompts), shared across calls. */
  phraseCache?: PhraseCache;
  /** The transport's monotonic clock; default performance.now(). */
  clock?: () => number;
  metrics?: LatencyMetrics;
  log?: ConversationLog;
}

export class Conversation extends EventEmitter<ConversationEvents> {
  /** Loads (or reuses) the Silero model and makes a conversation ready to run(). */
  static async create(options: ConversationOptions): Promise<Conversation> {
    const model = options.vadModel ?? (await SileroModel.load());
    return new Conversation(options, model);
  }

  readonly settings: ConversationSettings;
  /** The conversation as the LLM sees it (raw text, in memory only). */
  readonly history: ChatMessage[] = [];
  readonly traces: TurnTrace[] = [];

  private readonly transport: CallTransport;
  private readonly clock: () => number;
  private readonly vad: VoiceActivityDetector;
  private readonly vadResampler: Resampler | undefined;
  private readonly detector: TurnDetector;
  private readonly ledger = new PlayoutLedger();
  private readonly callAc = new AbortController();
  /** The STT stream's own: it outlives the call by the flush of the caller's last words (closeCallerTurn). */
  private readonly sttAc = new AbortController();
  /** The STT loop stops reading: set once the call has ended and the last caller turn is closed. */
  private sttStopped = false;
  private readonly tools: ToolSpec[];
  private readonly callerRedactor = new TurnRedactor();
  private readonly keypad: KeypadCollector;
  /** Frame-clock span of the keys of the run being collected. */
  private keysSpan: { startMs: number; endMs: number } | undefined;
  /** Maps the STT stream's word timings back to the frame clock. */
  private readonly sttClock = new StreamClock();
  /** Agent sentences that repeat PII, with the first entity type (their audio is silenced in the recording). */
  private readonly piiSpans = new WeakMap<SpokenSpan, RedactedType>();
  private stt: SttStream | undefined;
  private sttLoop: Promise<void> = Promise.resolve();
  private reply: Reply | undefined;
  /** What replies need from the conversation (history, audio, settling). */
  private readonly replyStage: ReplyStage;
  private replyTask: Promise<void> = Promise.resolve();
  private pendingTurn: EndOfTurn | undefined;
  private awaitingPlayout: Reply | undefined;
  private unsubscribe: Array<() => void> = [];
  private startedAtMs = 0;
  private turnCount = 0;
  private reprompts = 0;
  private limitReached = false;
  private failure: ProviderFailure | undefined;
  /** An answer started on the STT's final while the hangover runs (preemptive generation), and the text it answers. */
  private speculation: { reply: Reply; text: string; task: Promise<void> } | undefined;
  readonly speculationCount: SpeculationCount = { started: 0, used: 0, wasted: 0, wastedLlmRequests: 0 };
  private ended = false;
  private endResolve: ((end: ConversationEnd) => void) | undefined;
  private readonly endPromise: Promise<ConversationEnd>;

  private constructor(private readonly options: ConversationOptions, model: SileroModel) {
    super();
    this.transport = options.transport;
    this.clock = options.clock ?? (() => performance.now());
    this.settings = options.settings ?? DEFAULT_CONVERSATION_SETTINGS;
    const rate = this.transport.sampleRate;
    const vadRate = isSileroSampleRate(rate) ? rate : 16_000;
    this.vadResampler = vadRate === rate ? undefined : new Resampler(rate, vadRate);
    this.vad = new VoiceActivityDetector(model, vadRate, {
      threshold: this.settings.vad.threshold,
      minSpeechMs: this.settings.vad.minSpeechMs,
      minSilenceMs: this.settings.turn.hangoverMs,
    });
    this.detector = new TurnDetector(this.settings, () => this.canInterrupt(), 0);
    this.tools = toolsFor(options.agent);
    this.keypad = new KeypadCollector(this.settings.keypad);
    this.endPromise = new Promise((resolve) => (this.endResolve = resolve));
    this.replyStage = {
      history: this.history,
      stopAudio: () => {
        const dropped = this.transport.clearPlayback(); // the caller stops hearing the agent now
        this.ledger.drop(dropped);
        return dropped;
      },
      queuedMs: () => this.transport.queuedMs(),
      playedMs: (queued) => this.ledger.playedMs(queued),
      settled: (reply, atMs) => this.settle(reply, atMs),
    };
  }

  /** Starts the call (greeting first) and resolves when it has ended, whichever side ended it. */
  async run(): Promise<ConversationEnd> {
    if (this.startedAtMs !== 0 || this.ended) return this.endPromise;
    this.startedAtMs = this.clock();
    this.detector.lastActivityMs = this.startedAtMs;
    if (this.options.agent.systemPrompt.trim() !== '') this.history.push({ role: 'system', content: this.options.agent.systemPrompt });
    this.wire();
    if (this.options.fallbackVoice) void this.options.fallbackVoice.clip(APOLOGY); // warm the apology clip
    this.startGreeting();
    const end = await this.endPromise;
    await Promise.allSettled([this.replyTask, this.sttLoop, this.speculation?.task]);
    return end;
  }

  /** True while an agent utterance is being generated or played. */
  get agentActive(): boolean {
    return this.reply?.active ?? false;
  }

  /** Ends the conversation from our side without hanging up (the caller of close() owns the call). */
  close(reason = 'closed'): void {
    this.process({ kind: 'end', reason, timeMs: this.clock() });
  }

  // ------------------------------------------------------------------ wiring

  private wire(): void {
    const t = this.transport;
    this.unsubscribe.push(
      t.onFrame((frame) => this.onFrame(frame)),
      t.onPlayoutStart((ev) => this.onPlayoutStart(ev.timeMs)),
      t.onEnd((reason) => this.process({ kind: 'end', reason, timeMs: this.clock() })),
    );
    if (t.onWrapUp) this.unsubscribe.push(t.onWrapUp(() => this.wrapUp()));
    this.vad.on('speech_start', (ev) => this.detector.speechStart(ev));
    this.vad.on('probability', (p) => this.detector.speechProgress(p));
    this.vad.on('speech_end', (ev) => this.detector.speechEnd(ev));
    this.vad.on('error', () => this.options.log?.warn({ stage: 'vad' }, 'VAD inference failed for a window'));
    this.detector.on('finalize', () => this.stt?.finalize());
    this.detector.on('barge_in', (ev) => this.process({ kind: 'interrupt', timeMs: ev.atMs }));
    this.detector.on('end_of_turn', (turn) => this.onEndOfTurn(turn));
    this.detector.on('tentative_turn', ({ text }) => this.speculate(text));
    this.detector.on('resumed', () => this.dropSpeculation());
    try {
      this.stt = this.options.stt.stream({
        sampleRate: t.sampleRate,
        signal: this.sttAc.signal,
        ...(this.options.agent.language ? { language: this.options.agent.language } : {}),
      });
    } catch (error) {
      queueMicrotask(() => this.fail(new StageError('stt', this.options.stt.name, error)));
      return;
    }
    const stream = this.stt;
    this.sttLoop = (async () => {
      for await (const ev of stream.events()) {
        if (this.sttStopped) break;
        if (ev.type === 'error') {
          this.fail(new StageError('stt', this.options.stt.name, ev.error));
          break;
        }
        if (ev.type === 'reconnected') this.options.log?.info({ stage: 'stt', provider: this.options.stt.name }, 'STT reconnected');
        this.detector.stt(ev.type === 'final' && ev.words ? { ...ev, words: this.onFrameClock(ev.words) } : ev, this.clock());
      }
    })().catch((error: unknown) => this.fail(new StageError('stt', this.options.stt.name, error)));
  }

  /** Control frames: every interruption of the agent and every end of the call comes through here. */
  private process(frame: InterruptFrame | EndFrame): void {
    if (frame.kind === 'interrupt') this.interrupt(frame.timeMs);
    else this.finish(frame.reason, frame.timeMs);
  }

  private onFrame(frame: AudioFrame | DtmfFrame): void {
    if (this.ended) return;
    if (frame.kind === 'dtmf') {
      this.onKey(frame);
      return;
    }
    const vadFrame = this.vadResampler
      ? { ...frame, pcm: this.vadResampler.process(frame.pcm), sampleRate: 16_000 }
      : frame;
    if (vadFrame.pcm.length > 0) this.vad.push(vadFrame);
    this.stt?.push(frame.pcm);
    this.sttClock.push(frame.pcm.length, frame.sampleRate, frame.timeMs);
    this.tick(this.clock());
  }

  /** Per-frame housekeeping on the frame clock: settle replies, STT timeout, reprompt, call limit. */
  private tick(now: number): void {
    this.detector.tick(now);
    const keys = this.keypad.due(now);
    if (keys) this.onKeypadRun(keys);
    const r = this.reply;
    if (r?.state === 'draining') {
      const drained = this.transport.queuedMs() <= 0;
      if (drained || now - r.doneAtMs > this.settings.call.drainTimeoutMs) r.drained(now);
    }
    if (this.ended || this.failure) return;
    const c = this.settings.call;
    if (!this.limitReached && now - this.startedAtMs >= c.maxDurationMs) {
      this.limitReached = true;
      this.cancelReply('time_limit', now);
      this.startFixed('goodbye', TIME_LIMIT_GOODBYE, { kind: 'hangup', reason: 'max_duration' });
      return;
    }
    const idle = !this.reply && !this.detector.busy && !this.pendingTurn && !this.keypad.pending;
    if (idle && c.repromptAfterMs > 0 && now - this.detector.lastActivityMs >= c.repromptAfterMs) {
      this.detector.lastActivityMs = now;
      if (this.reprompts >= c.maxReprompts) {
        this.startFixed('goodbye', SILENCE_GOODBYE, { kind: 'hangup', reason: 'caller_silent' });
      } else {
        this.reprompts += 1;
        this.startFixed('reprompt', this.options.agent.reprompt ?? REPROMPT);
      }
    }
  }

  // ------------------------------------------------------------------ turns

  private onEndOfTurn(turn: EndOfTurn): void {
    if (this.failure) return;
    if (this.ended) {
      // The caller's last words, flushed after the hang-up: stored and silenced, not answered.
      this.recordCallerTurn(turn);
      return;
    }
    const agentAudible = this.reply?.active ?? false;
    if (agentAudible && isBackchannel(turn.text)) return; // "mm-hmm" over the agent: not a turn
    this.reprompts = 0;
    this.recordCallerTurn(turn);
    this.respondTo(turn);
  }

  /** The caller turn as it is stored: redacted text, and its PII spans silenced in the recording. */
  private recordCallerTurn(turn: EndOfTurn): void {
    this.callerRedactor.add(turn.text);
    const redacted = this.callerRedactor.finish();
    this.emitCallerAudioRedactions(turn, redacted);
    this.emit('turn', { role: 'caller', redactedText: redacted.text, entities: redacted.entities, atMs: turn.sttFinalAtMs });
  }

  /** Word timings on the STT stream's timeline, moved to the frame clock. */
  private onFrameClock(words: ReadonlyArray<{ word: string; startMs: number; endMs: number }>): Array<{ word: string; startMs: number; endMs: number }> {
    return words.map((w) => ({ word: w.word, startMs: this.sttClock.toClock(w.startMs) ?? w.startMs, endMs: this.sttClock.toClock(w.endMs) ?? w.endMs }));
  }

  /** Each redacted span of a caller turn: the audio of its words (or the whole turn where they are untimed). */
  private emitCallerAudioRedactions(turn: EndOfTurn, redacted: TurnRedaction): void {
    for (const span of redacted.sourceSpans) {
      const parts = turn.timing.filter((t) => t.start < span.end && t.end > span.start);
      const timed = parts.length > 0 && parts.every((t) => t.startMs !== undefined && t.endMs !== undefined);
      const startMs = timed ? Math.min(...parts.map((t) => t.startMs!)) : turn.speechStartMs;
      const endMs = timed ? Math.max(...parts.map((t) => t.endMs!)) : Math.max(turn.endOfSpeechMs, turn.speechStartMs);
      this.emit('audio_redaction', { source: 'caller', type: span.type, startMs, endMs });
    }
  }

  /** A key over the agent interrupts it (as speech would); keys are collected into runs. */
  private onKey(frame: DtmfFrame): void {
    if (this.failure) return;
    const now = this.clock();
    this.detector.lastActivityMs = now;
    if (this.settings.bargeIn.enabled && this.canInterrupt()) this.process({ kind: 'interrupt', timeMs: now });
    const keyStartMs = frame.timeMs - frame.durationMs;
    const keyEndMs = Math.max(frame.timeMs, now);
    const span = this.keysSpan;
    this.keysSpan = span ? { startMs: Math.min(span.startMs, keyStartMs), endMs: Math.max(span.endMs, keyEndMs) } : { startMs: keyStartMs, endMs: keyEndMs };
    for (const run of this.keypad.push(frame.digit, now)) this.onKeypadRun(run);
  }

  /** One run of keys is one caller turn: "[keypad] 1234#" to the LLM, redacted in the 'turn' event. */
  private onKeypadRun(run: KeypadRun): void {
    if (this.ended || this.failure) return;
    this.reprompts = 0;
    const prefix = '[keypad] ';
    const redacted = redactKeypad(run.keys);
    const keys = this.keysSpan;
    if (!this.keypad.pending) this.keysSpan = undefined;
    if (keys && redacted.entities.length > 0) {
      // Keys sent in-band (or their echo) are in the caller's audio: the run's span is silenced whole.
      this.emit('audio_redaction', { source: 'keypad', type: redacted.entities[0]!.type, startMs: keys.startMs, endMs: keys.endMs });
    }
    const entities = redacted.entities.map((e) => ({ ...e, start: e.start + prefix.length, end: e.end + prefix.length }));
    this.emit('turn', { role: 'caller', redactedText: prefix + redacted.text, entities, atMs: run.atMs });
    this.respondTo({
      text: prefix + run.keys, timing: [], speechStartMs: run.atMs, endOfSpeechMs: run.atMs, vadStopMs: run.atMs, sttFinalAtMs: run.atMs, vadMissed: false,
    });
  }

  /** Answers a caller turn: at once, after cutting the agent off, or once the disclosure has played. */
  private respondTo(turn: EndOfTurn): void {
    if (this.reply?.active) {
      if (!this.canInterrupt()) {
        // The disclosure is still playing: answer once it is done.
        this.pendingTurn = turn;
        return;
      }
      this.process({ kind: 'interrupt', timeMs: this.clock() });
    }
    this.answer(turn);
  }

  /** `held`: the turn waited for the uninterruptible disclosure to finish. */
  private answer(turn: EndOfTurn, held = false): void {
    const speculated = this.speculation?.text === turn.text && !held ? this.speculation : undefined;
    if (!speculated) this.dropSpeculation();
    this.speculation = undefined;
    this.turnCount += 1;
    const timer = speculated?.reply.timer ?? new TurnTimer(this.turnCount);
    timer.mark('endOfSpeech', turn.endOfSpeechMs);
    timer.mark('vadStop', turn.vadStopMs);
    timer.mark('sttFinal', Math.max(turn.sttFinalAtMs, turn.vadStopMs));
    if (held) timer.mark('released', this.clock());
    timer.vadMissed = turn.vadMissed;
    this.history.push({ role: 'user', content: turn.text });
    if (speculated) {
      // The answer prepared during the hangover is the answer: its words join the history, its audio plays now.
      this.speculationCount.used += 1;
      this.options.metrics?.speculation?.('used');
      const reply = speculated.reply;
      this.reply = reply;
      const started = new Set<SpokenSpan>();
      for (const { span, pcm } of reply.commit()) {
        if (!started.has(span)) {
          started.add(span);
          span.startMs = span.endMs = this.ledger.submittedMs;
        }
        this.play(reply, span, pcm);
      }
      this.replyTask = speculated.task;
      return;
    }
    const reply = this.newReply('answer', timer);
    this.replyTask = this.runAnswer(reply, [...this.history]);
  }

  /**
   * Preemptive generation: the STT has closed the caller's words while the
   * hangover still runs, so the answer starts now (LLM, then TTS of its first
   * sentences) and is held. It becomes the reply if the turn ends with the
   * same text, and is thrown away, unheard and out of the history, if the
   * caller goes on.
   */
  private speculate(text: string): void {
    if (this.ended || this.failure || this.reply?.active || this.pendingTurn) return;
    if (this.speculation?.text === text) return;
    this.dropSpeculation();
    const reply = new Reply('answer', this.replyStage, new TurnTimer(this.turnCount + 1), true);
    this.speculationCount.started += 1;
    const task = this.runAnswer(reply, [...this.history, { role: 'user', content: text }]);
    this.speculation = { reply, text, task };
  }

  /** The caller went on (or the turn ended otherwise): the speculative answer is void. */
  private dropSpeculation(): void {
    const s = this.speculation;
    if (!s) return;
    this.speculation = undefined;
    s.reply.cancel('resumed', this.clock());
    this.speculationCount.wasted += 1;
    this.speculationCount.wastedLlmRequests += s.reply.llmRequests;
    this.options.metrics?.speculation?.('wasted');
  }

  private newReply(kind: ReplyKind, timer?: TurnTimer): Reply {
    const reply = new Reply(kind, this.replyStage, timer);
    this.reply = reply;
    return reply;
  }

  private startGreeting(): void {
    const { text, disclosure } = composeGreeting(this.options.agent.greeting);
    const reply = this.newReply('greeting');
    reply.protectedSpans = splitSentences(disclosure).length;
    reply.addMessage({ role: 'assistant', content: text });
    this.replyTask = this.runFixed(reply, text);
  }

  private startFixed(kind: ReplyKind, text: string, after?: AfterReply): void {
    const reply = this.newReply(kind);
    if (after) reply.after = after;
    reply.addMessage({ role: 'assistant', content: text });
    const previous = this.replyTask;
    this.replyTask = previous.then(() => this.runFixed(reply, text));
  }

  private async runFixed(reply: Reply, text: string): Promise<void> {
    const queue = new EventQueue<string>();
    for (const s of splitSentences(text)) queue.push(s);
    queue.end();
    try {
      await this.speak(reply, queue);
    } catch (error) {
      this.fail(error instanceof StageError ? error : new StageError('tts', this.options.tts.name, error));
    } finally {
      reply.doneGenerating(this.clock());
    }
  }

  private async runAnswer(reply: Reply, prompt: ChatMessage[]): Promise<void> {
    const queue = new EventQueue<string>();
    const speaking = this.speak(reply, queue).then(
      () => undefined,
      (error: unknown) => {
        reply.ac.abort(); // stop the LLM too
        return error instanceof StageError ? error : new StageError('tts', this.options.tts.name, error);
      },
    );
    let failure: StageError | undefined;
    try {
      await this.think(reply, queue, prompt);
    } catch (error) {
      failure = error instanceof StageError ? error : new StageError('llm', this.options.llm.name, error);
      reply.ac.abort();
    } finally {
      queue.end();
    }
    const ttsFailure = await speaking;
    reply.doneGenerating(this.clock());
    const problem = failure ?? ttsFailure;
    // A speculative answer's failure counts only once it is the answer.
    if (problem && reply.speculative && !(await reply.whenLive())) return;
    if (problem && !reply.interrupted) this.fail(problem);
  }

  /** The answer's LLM rounds and tools; its sentences go into `queue` as they complete. */
  private think(reply: Reply, queue: EventQueue<string>, prompt: ChatMessage[]): Promise<void> {
    const { llm, agent } = this.options;
    return runToolLoop({
      llm,
      tools: this.tools,
      agent,
      prompt,
      signal: reply.signal,
      sendDtmf: (digits) => this.transport.sendDtmf(digits),
      whenLive: () => reply.whenLive(),
      onSentence: (sentence) => {
        reply.timer?.mark('llmFirstSentence', this.clock());
        queue.push(sentence);
      },
      onMessage: (message) => reply.addMessage(message),
      onAfter: (after) => (reply.after = after),
      onRequest: () => {
        reply.llmRequests += 1;
        reply.timer?.mark('llmStart', this.clock());
      },
      onFirstToken: () => reply.timer?.mark('llmFirstToken', this.clock()),
    });
  }

  /** TTS for each sentence from `sentences`, resampled to the call's rate and queued on the transport. */
  private async speak(reply: Reply, sentences: AsyncIterable<string>): Promise<void> {
    const { tts, agent } = this.options;
    const signal = reply.signal;
    const resampler = tts.sampleRate === this.transport.sampleRate ? undefined : new Resampler(tts.sampleRate, this.transport.sampleRate);
    for await (const sentence of sentences) {
      if (signal.aborted || this.ended) return;
      const span: SpokenSpan = { text: sentence, startMs: this.ledger.submittedMs, endMs: this.ledger.submittedMs };
      reply.spans.push(span);
      const pii = redact(sentence).entities[0]?.type;
      if (pii) this.piiSpans.set(span, pii);
      reply.timer?.mark('ttsStart', this.clock());
      const phraseKey = reply.kind === 'answer' || !this.options.phraseCache
        ? undefined
        : { provider: tts.name, voice: agent.voice, sampleRate: this.transport.sampleRate, text: sentence };
      const cached = phraseKey && this.options.phraseCache!.get(phraseKey);
      if (cached) {
        this.play(reply, span, cached);
        continue;
      }
      const chunks: Int16Array[] = [];
      try {
        for await (const pcm of tts.synthesize(sentence, { signal, ...(agent.voice ? { voice: agent.voice } : {}) })) {
          if (signal.aborted || this.ended) return;
          reply.timer?.mark('ttsFirstByte', this.clock());
          const out = resampler ? resampler.process(pcm) : pcm;
          if (phraseKey) chunks.push(out);
          this.play(reply, span, out);
        }
        if (phraseKey) this.options.phraseCache!.set(phraseKey, concatPcm(chunks));
      } catch (error) {
        if (signal.aborted || this.ended) return;
        throw new StageError('tts', tts.name, error);
      }
    }
  }

  private play(reply: Reply, span: SpokenSpan, pcm: Int16Array): void {
    if (pcm.length === 0) return;
    if (reply.speculative) {
      reply.hold(span, pcm); // not the answer yet: the caller hears nothing of it
      return;
    }
    if (!reply.played) {
      reply.played = true;
      reply.timer?.mark('firstAudioQueued', this.clock());
      const queued = this.transport.queuedMs();
      if (queued > 0 && reply.timer) {
        // Queued behind earlier agent audio: no playout-start event will come for it.
        reply.timer.playoutEstimated = true;
        reply.timer.mark('playout', this.clock() + queued);
        this.completeTrace(reply);
      } else {
        this.awaitingPlayout = reply;
      }
    }
    const ms = (pcm.length * 1000) / this.transport.sampleRate;
    const pii = this.piiSpans.get(span);
    if (pii) {
      // The agent repeats PII: this audio plays once what is queued ahead of it has played.
      const startMs = this.clock() + Math.max(0, this.transport.queuedMs());
      this.emit('audio_redaction', { source: 'agent', type: pii, startMs, endMs: startMs + ms });
    }
    this.transport.play(pcm);
    this.ledger.add(ms);
    span.endMs = this.ledger.submittedMs;
  }

  private onPlayoutStart(timeMs: number): void {
    const reply = this.awaitingPlayout;
    this.awaitingPlayout = undefined;
    if (!reply?.timer) return;
    reply.timer.mark('playout', timeMs);
    this.completeTrace(reply);
  }

  /**
   * The reply played out and the transport never announced its start (a transport that took it for the rest of
   * earlier audio): its trace takes the time its first audio was queued, when nothing was ahead of it, marked
   * estimated, rather than no trace at all.
   */
  private estimatePlayout(reply: Reply): void {
    const queuedAt = reply.timer?.at('firstAudioQueued');
    if (!reply.timer || queuedAt === undefined) return;
    reply.timer.playoutEstimated = true;
    reply.timer.mark('playout', queuedAt);
    this.completeTrace(reply);
  }

  private completeTrace(reply: Reply): void {
    const trace = reply.timer?.finish();
    if (!trace || reply.trace) return;
    reply.trace = trace;
    this.traces.push(trace);
    this.options.metrics?.observe(trace);
    this.emit('trace', trace);
  }

  // ------------------------------------------------------------------ barge-in

  /** True while the agent is audible and past the disclosure: caller speech may cut it off. */
  private canInterrupt(): boolean {
    const r = this.reply;
    if (!r?.active || this.failure || this.ended) return false;
    if (!r.generating && this.transport.queuedMs() <= 0) return false;
    if (r.protectedSpans > 0) {
      // The disclosure must be fully synthesized (a later sentence started, or the reply is done) and played.
      const last = r.spans[r.protectedSpans - 1];
      if (!last || (r.generating && r.spans.length === r.protectedSpans)) return false;
      if (this.ledger.playedMs(this.transport.queuedMs()) < last.endMs) return false;
    }
    return true;
  }

  /** Barge-in: the caller cut the agent off; what they heard stays in the history. */
  private interrupt(atMs: number): void {
    if (this.ended) return;
    const r = this.reply;
    r?.cancel('barge_in', atMs, (cut) => {
      this.emit('interrupt', { atMs, droppedMs: cut.droppedMs, heardMs: Math.max(0, cut.heardMs - (r.spans[0]?.startMs ?? cut.heardMs)) });
    });
  }

  /** The server is shutting down: a short goodbye (cutting off whatever the agent was saying), then hang up. */
  private wrapUp(): void {
    if (this.ended || this.failure || this.limitReached) return;
    this.limitReached = true;
    const now = this.clock();
    this.cancelReply('time_limit', now);
    this.startFixed('goodbye', SHUTDOWN_GOODBYE, { kind: 'hangup', reason: 'node-drain' });
  }

  /** Stops the current reply, if any, for `reason` (and voids an answer being prepared): the one way an agent utterance ends early. */
  private cancelReply(reason: CancelReason, atMs: number): void {
    this.dropSpeculation();
    this.reply?.cancel(reason, atMs);
  }

  /** The reply is over (played out or cut off): emit the agent turn, then hang up / transfer / answer what waited. */
  private settle(r: Reply, now: number): void {
    if (this.reply === r) this.reply = undefined;
    if (this.awaitingPlayout === r) {
      this.awaitingPlayout = undefined;
      if (!r.interrupted) this.estimatePlayout(r);
    }
    this.detector.lastActivityMs = Math.max(this.detector.lastActivityMs, now);
    const spoken = r.messages.filter((m) => m.role === 'assistant').map((m) => m.content).join(' ').trim();
    if (spoken !== '') {
      const redacted = redact(spoken);
      this.emit('turn', {
        role: 'agent',
        redactedText: redacted.text,
        entities: redacted.entities,
        atMs: now,
        ...(r.trace ? { trace: r.trace } : {}),
        ...(r.interrupted ? { interrupted: true } : {}),
      });
    }
    if (this.ended) return;
    const after = r.after;
    if (after?.kind === 'hangup') {
      void this.hangup(after.reason);
    } else if (after?.kind === 'transfer') {
      this.transport.transfer(after.target).then(
        () => this.process({ kind: 'end', reason: 'transferred', timeMs: this.clock() }),
        () => {
          if (!this.ended) this.startFixed('notice', "I'm sorry, I couldn't transfer your call right now. How else can I help?");
        },
      );
    } else if (this.pendingTurn) {
      const turn = this.pendingTurn;
      this.pendingTurn = undefined;
      this.answer(turn, true);
    }
  }

  // ------------------------------------------------------------------ failure and end

  private fail(error: StageError): void {
    if (this.failure || this.ended) return;
    const message = error.error instanceof Error ? error.error.message.split('\n')[0]!.slice(0, 300) : 'failed';
    const failure: ProviderFailure = { stage: error.stage, provider: error.provider, message };
    this.failure = failure;
    this.options.log?.warn({ stage: failure.stage, provider: failure.provider }, 'provider failed; apologising and hanging up');
    this.options.metrics?.failure(failure.stage, failure.provider);
    this.emit('failure', failure);
    this.cancelReply('failure', this.clock());
    void this.apologize(failure);
  }

  private async apologize(failure: ProviderFailure): Promise<void> {
    const reply = this.newReply('apology');
    reply.after = { kind: 'hangup', reason: `${failure.stage}_failure` };
    reply.addMessage({ role: 'assistant', content: APOLOGY });
    let spoken = false;
    if (failure.stage !== 'tts') {
      const queue = new EventQueue<string>();
      queue.push(APOLOGY);
      queue.end();
      try {
        await this.speak(reply, queue);
        spoken = reply.spans.some((s) => s.endMs > s.startMs);
      } catch {
        spoken = false;
      }
    }
    if (!spoken && !this.ended && this.options.fallbackVoice) {
      const voice = this.options.fallbackVoice;
      const clip = await voice.clip(APOLOGY);
      if (clip && !this.ended) {
        const pcm = voice.tts.sampleRate === this.transport.sampleRate ? clip : new Resampler(voice.tts.sampleRate, this.transport.sampleRate).process(clip);
        const span: SpokenSpan = { text: APOLOGY, startMs: this.ledger.submittedMs, endMs: this.ledger.submittedMs };
        reply.spans.push(span);
        this.play(reply, span, pcm);
        spoken = true;
      }
    }
    if (!spoken) this.options.log?.warn({ stage: failure.stage }, 'no voice left for the apology; hanging up');
    reply.doneGenerating(this.clock()); // tick() settles it once played out, then hangs up
  }

  private async hangup(reason: string): Promise<void> {
    try {
      await this.transport.hangup(reason);
    } catch {
      // the call is going away either way
    }
    this.process({ kind: 'end', reason, timeMs: this.clock() });
  }

  private finish(reason: string, atMs: number): void {
    if (this.ended) return;
    this.ended = true;
    for (const off of this.unsubscribe.splice(0)) off();
    this.callAc.abort();
    this.cancelReply('call_end', atMs);
    this.pendingTurn = undefined;
    this.vad.close();
    this.vad.removeAllListeners();
    const ended = (): void => {
      this.detector.removeAllListeners();
      const end: ConversationEnd = {
        reason, traces: [...this.traces], speculation: { ...this.speculationCount }, ...(this.failure ? { failure: this.failure } : {}),
      };
      this.emit('end', end);
      this.endResolve?.(end);
    };
    const callerTurnOpen = this.stt !== undefined && this.detector.busy && !this.failure;
    if (!callerTurnOpen) {
      this.stopStt();
      ended();
      return;
    }
    void this.closeCallerTurn().then(ended);
  }

  private stopStt(): void {
    this.sttStopped = true;
    const stt = this.stt;
    if (stt) this.sttLoop = Promise.allSettled([this.sttLoop, stt.close()]).then(() => undefined);
    this.sttAc.abort();
  }

  /**
   * The call ended while the caller was speaking (or their turn was still closing): the STT flushes what it
   * has (its close waits for the provider's last results, bounded by the adapter's close timeout), and
   * whatever no turn closed yet becomes the call's last caller turn, so it is stored (redacted) and its PII
   * is silenced in the recording like any other turn's. Bounded here too, for an adapter that never ends.
   */
  private async closeCallerTurn(): Promise<void> {
    const stt = this.stt!;
    const flushed = Promise.allSettled([this.sttLoop, stt.close()]).then(() => undefined);
    this.sttLoop = flushed;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([flushed, new Promise<void>((resolve) => { timer = setTimeout(resolve, END_FLUSH_LIMIT_MS); })]);
    clearTimeout(timer);
    this.detector.closeAtEnd(this.clock());
    this.sttStopped = true;
    this.sttAc.abort();
  }
}
