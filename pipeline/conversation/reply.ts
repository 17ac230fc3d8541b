/**
 * One agent utterance (a greeting, an answer, a reprompt, an apology...):
 * its LLM/TTS work, the sentences it said, the messages it added to the
 * history and what comes after it (hang up, transfer). Its life is one state
 * machine, and whatever stops it early (the caller barging in, the call
 * limit, a provider failing, the call ending, the caller resuming a turn it
 * was speculatively answering) goes through the one `cancel(reason)`:
 *
 *   speculative ──commit()──> generating ──doneGenerating()──> draining ──drained()──> settled
 *        │                        │                                │
 *        └───────── cancel(reason): any state but settled ────────┴────────────────> settled
 *
 * A speculative reply answers a caller turn that is not over yet (the STT
 * has closed it, the VAD's hangover has not): it may think and synthesize,
 * but its messages stay out of the history and its audio is held, not
 * played, until commit(); a tool with effects waits for commit too
 * (`whenLive`). Cancelled while speculative, it leaves no trace at all: no
 * audio, no history, no agent turn.
 */
import type { ChatMessage } from '../providers/types.ts';
import type { TurnTimer, TurnTrace } from '../tracing/index.ts';
import { heardText, type SpokenSpan } from './playout-ledger.ts';

export type ReplyKind = 'greeting' | 'answer' | 'reprompt' | 'goodbye' | 'apology' | 'notice';
export type AfterReply = { kind: 'hangup'; reason: string } | { kind: 'transfer'; target: string };
export type ReplyState = 'speculative' | 'generating' | 'draining' | 'settled';
/**
 * barge_in: the caller spoke over the agent; time_limit: the call-duration
 * limit; failure: a provider failed; call_end: the call is over (its audio is
 * not cleared: the transport is going away); resumed: the caller went on
 * talking after a speculative answer was started.
 */
export type CancelReason = 'barge_in' | 'time_limit' | 'failure' | 'call_end' | 'resumed';

/** What a reply needs from its conversation. */
export interface ReplyStage {
  /** The conversation as the LLM sees it. */
  readonly history: ChatMessage[];
  /** Stops the agent's audio now (clears what is queued); returns the ms dropped. */
  stopAudio(): number;
  /** Agent audio still queued on the transport, in ms. */
  queuedMs(): number;
  /** Ms of the agent's audio timeline that has left, given `queuedMs` still queued. */
  playedMs(queuedMs: number): number;
  /** The reply is over (played out or cut off): the agent turn, then what comes after. */
  settled(reply: Reply, atMs: number): void;
}

export interface CancelOutcome {
  /** Agent audio dropped from the queue, ms. */
  droppedMs: number;
  /** The agent timeline played up to here: what the caller heard. */
  heardMs: number;
}

interface HeldAudio { span: SpokenSpan; pcm: Int16Array }

export class Reply {
  readonly ac = new AbortController();
  readonly spans: SpokenSpan[] = [];
  /** Assistant (and tool) messages it added (or, while speculative, will add) to the history. */
  messages: ChatMessage[] = [];
  after: AfterReply | undefined;
  trace: TurnTrace | undefined;
  /** The first `protectedSpans` sentences (the disclosure) cannot be interrupted. */
  protectedSpans = 0;
  /** Its first audio has been queued on the transport. */
  played = false;
  /** Cut off before the caller heard all of it: its messages keep only what was heard. */
  interrupted = false;
  /** When generation finished (the drain timeout counts from here). */
  doneAtMs = 0;
  /** LLM requests it made (a tool call may need another round): what a wasted speculation cost. */
  llmRequests = 0;

  private current: ReplyState;
  private generationDone = false;
  private held: HeldAudio[] = [];
  private live!: (committed: boolean) => void;
  private readonly liveness: Promise<boolean>;

  constructor(
    readonly kind: ReplyKind,
    private readonly stage: ReplyStage,
    readonly timer?: TurnTimer,
    speculative = false,
  ) {
    this.current = speculative ? 'speculative' : 'generating';
    this.liveness = new Promise((resolve) => (this.live = resolve));
    if (!speculative) this.live(true);
  }

  get state(): ReplyState {
    return this.current;
  }

  get signal(): AbortSignal {
    return this.ac.signal;
  }

  /** Not settled yet: being thought up, spoken, or played out. */
  get active(): boolean {
    return this.current !== 'settled';
  }

  /** Still producing (LLM or TTS at work), speculatively or for real. */
  get generating(): boolean {
    return this.current === 'speculative' || this.current === 'generating';
  }

  get speculative(): boolean {
    return this.current === 'speculative';
  }

  /** Resolves true once the reply may have effects (committed), false when it was cancelled first. */
  whenLive(): Promise<boolean> {
    return this.liveness;
  }

  /** Adds a message to the reply, and to the history unless it is still speculative. */
  addMessage(message: ChatMessage): void {
    this.messages.push(message);
    if (this.current !== 'speculative') this.stage.history.push(message);
  }

  /** Audio synthesized while speculative: kept until commit(). */
  hold(span: SpokenSpan, pcm: Int16Array): void {
    this.held.push({ span, pcm });
  }

  /** The caller's turn is over: the reply becomes real. Returns the audio held so far, to be played now in order. */
  commit(): HeldAudio[] {
    if (this.current !== 'speculative') return [];
    this.current = this.generationDone ? 'draining' : 'generating';
    for (const m of this.messages) this.stage.history.push(m);
    this.live(true);
    const held = this.held;
    this.held = [];
    return held;
  }

  /** LLM and TTS are done; what is queued plays out. */
  doneGenerating(atMs: number): void {
    this.doneAtMs = atMs;
    if (this.current === 'speculative') this.generationDone = true;
    else if (this.current === 'generating') this.current = 'draining';
  }

  /** Its audio has played out (or the drain timeout passed): the reply is over. */
  drained(atMs: number): void {
    if (this.current !== 'draining') return;
    this.current = 'settled';
    this.stage.settled(this, atMs);
  }

  /**
   * Stops the reply now, for whatever reason: the LLM and TTS are aborted,
   * the agent's audio is cleared (except at call end), the history keeps only
   * what the caller heard, and an action it had planned (hang up, transfer)
   * is called off. A speculative reply just disappears. `announce` hears
   * what was cut before the reply settles (its agent turn). Undefined when
   * it was already over.
   */
  cancel(reason: CancelReason, atMs: number, announce?: (cut: CancelOutcome) => void): CancelOutcome | undefined {
    if (this.current === 'settled') return undefined;
    this.ac.abort();
    if (this.current === 'speculative') {
      this.current = 'settled';
      this.held = [];
      this.live(false);
      return { droppedMs: 0, heardMs: 0 };
    }
    const droppedMs = reason === 'call_end' ? 0 : this.stage.stopAudio();
    const queued = reason === 'call_end' ? this.stage.queuedMs() : 0;
    const heardMs = this.stage.playedMs(queued);
    if (reason !== 'call_end' || this.current === 'generating' || queued > 0) {
      this.interrupted = true;
      this.keepHeard(heardText(this.spans, heardMs));
    }
    if (this.after) {
      const why = reason === 'barge_in' ? 'cancelled: the caller spoke before it happened' : 'cancelled: the call could not go on';
      for (const m of this.messages) if (m.role === 'tool') m.content = why;
      this.after = undefined;
    }
    const cut = { droppedMs, heardMs };
    this.current = 'settled';
    announce?.(cut);
    this.stage.settled(this, atMs);
    return cut;
  }

  /** The reply's assistant messages keep only what the caller heard. */
  private keepHeard(heard: string): void {
    const history = this.stage.history;
    let rest: string | undefined = heard;
    const drop = new Set<ChatMessage>();
    for (const m of this.messages) {
      if (m.role !== 'assistant') continue;
      m.content = rest ?? '';
      rest = undefined;
      if (m.content === '' && !m.toolCalls?.length) drop.add(m);
    }
    if (rest !== undefined && rest !== '') {
      const m: ChatMessage = { role: 'assistant', content: rest };
      history.push(m);
      this.messages.push(m);
    }
    if (drop.size > 0) {
      const kept = history.filter((m) => !drop.has(m));
      history.splice(0, history.length, ...kept);
      this.messages = this.messages.filter((m) => !drop.has(m));
    }
  }
}
