/**
 * One established call, whatever the way in (SIP, a carrier media stream,
 * WebRTC): its transport, its call record and its agent runner. DTMF becomes
 * call events (one per run of keys, redacted: keys are call content, see
 * recordKeys). Ends exactly once, through `end()`: the far end told when we
 * hang up (awaited until it has left), media released, transport listeners
 * and taps told, record finished, then 'close' with the EndReason. Every
 * database write of a call (events, redacted transcript lines, outcome, the
 * final row) goes through one chain, so they land in order and never block
 * the media path. The SIP specifics (re-INVITE, RTP inactivity, BYE) live in
 * SipCallSession (sip-call-session.ts).
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import {
  addCallEvent, finishCall, markCallAnswered, queueTranscriptTurn, recordCallOutcome, type AgentRow, type Database,
} from '../../storage/index.ts';
import {
  conversationSettingsFrom, DEFAULT_KEYPAD_SETTINGS, KeypadCollector, redactKeypad,
  type AudioRedaction, type ConversationTurn, type EndReason, type KeypadRun, type KeypadSettings, type ProviderFailure, type TurnTrace,
} from '../../pipeline/index.ts';
import type { Logger } from '../log.ts';
import { failureLabel, latencySummary, traceLatency } from './call-record.ts';
import type { AgentCall, AgentRunner, CallRecordWriter } from './runners.ts';
import type { CallTap, CallTransportKind, SessionTransport } from './session-transport.ts';

export interface CallSessionInit<T extends SessionTransport = SessionTransport> {
  db: Database;
  logger: Logger;
  tenantId: string;
  agent: AgentRow;
  /** calls.id */
  callId: string;
  direction: 'inbound' | 'outbound';
  transport: T;
  taps: CallTap[];
  /** Who is on the other end (the caller of an inbound call, the callee of an outbound one), as the call row names them. */
  remoteParty: string;
  /**
   * Write the running latency summary (its turn count) on the call row after each turn, so the other nodes'
   * consoles can show it (src/console/other-nodes-calls.ts); one statement per turn at most (coalesced while
   * one is queued). Off by default: a single node's console counts its own calls' turns from their events.
   */
  shareTurns?: boolean;
}

export interface CallSessionEvents {
  /** The call is over: media closed, record finished (fires once). */
  close: [reason: EndReason];
  /** A finished turn's latency trace (from the runner). */
  trace: [trace: TurnTrace];
  /** A redacted transcript line as it is stored (a browser call shows them as live captions). */
  transcript: [line: { speaker: 'caller' | 'agent'; text: string }];
}

export class CallSession<T extends SessionTransport = SessionTransport> extends EventEmitter<CallSessionEvents> implements CallRecordWriter {
  readonly tenantId: string;
  readonly callId: string;
  readonly agent: AgentRow;
  readonly direction: 'inbound' | 'outbound';
  readonly transport: T;
  readonly startedAt = performance.now();
  answeredAt: number | undefined;
  endReason: EndReason | undefined;
  protected readonly logger: Logger;
  private readonly db: Database;
  private readonly offFrames: () => void;
  private readonly party: string;
  private writes: Promise<void> = Promise.resolve();
  private readonly keypad: KeypadCollector;
  private keypadTimer: NodeJS.Timeout | undefined;
  private ending: Promise<void> | undefined;
  /** Settles when the agent runner has returned (never rejects); undefined before the call is answered. */
  private runnerDone: Promise<void> | undefined;
  private readonly taps: CallTap[];
  private closedWith: EndReason | undefined;
  /** Transcript lines stored so far (their seq). */
  private turns = 0;
  private readonly shareTurns: boolean;
  /** The turns' traces so far, when they are shared (shareTurns). */
  private readonly traced: TurnTrace[] = [];
  /** A write of the running latency summary is queued and has not started yet. */
  private summaryQueued = false;

  constructor(init: CallSessionInit<T>) {
    super();
    this.tenantId = init.tenantId;
    this.callId = init.callId;
    this.agent = init.agent;
    this.direction = init.direction;
    this.db = init.db;
    this.taps = init.taps;
    this.logger = init.logger.child({ callId: init.callId, tenantId: init.tenantId });
    this.transport = init.transport;
    this.party = init.remoteParty;
    this.shareTurns = init.shareTurns ?? false;
    this.keypad = new KeypadCollector(keypadSettingsOf(init.agent));
    this.offFrames = init.transport.onFrame((frame) => { if (frame.kind === 'dtmf') this.onKey(frame.digit); });
    init.transport.attach({ end: (reason, hangup) => this.end(reason, hangup), taps: init.taps });
  }

  /** Who is on the other end (a SIP URI, tel:..., webrtc:...): call content, shown only masked. */
  get remoteParty(): string {
    return this.party;
  }

  /** The way the call came in. */
  get kind(): CallTransportKind {
    return this.transport.kind;
  }

  /** Resolves with the end reason once the call has closed (at once when it already has): the 'close' event as a promise. */
  untilClosed(): Promise<EndReason> {
    if (this.closedWith) return Promise.resolve(this.closedWith);
    return new Promise((resolve) => this.once('close', resolve));
  }

  get ended(): boolean {
    return this.ending !== undefined;
  }

  /** Appends a call event (ordered with the other writes of this call). */
  event(type: string, data: Record<string, unknown> = {}): void {
    this.queue(() => addCallEvent(this.db, this.tenantId, this.callId, type, data));
  }

  /**
   * Stores one redacted transcript line; numbered here, in the order the turns came. Queued in memory, not on this
   * call's write chain: the call's turns are written together in one statement by finishCall (or after
   * TRANSCRIPT_FLUSH_AFTER_MS in a long call), storage/repos/transcript-queue.ts.
   */
  turn(turn: ConversationTurn): void {
    const seq = ++this.turns;
    queueTranscriptTurn(this.db, this.tenantId, {
      callId: this.callId, seq, speaker: turn.role,
      redacted: { text: turn.redactedText, entities: turn.entities }, latency: turn.trace ? traceLatency(turn.trace) : null,
    }).catch((error: unknown) => this.logger.warn({ err: error }, 'could not write to the call record'));
    try {
      this.emit('transcript', { speaker: turn.role, text: turn.redactedText });
    } catch (error) {
      this.logger.warn({ err: { name: (error as Error)?.name } }, 'a transcript listener failed'); // never the line itself: it is call content
    }
  }

  failure(failure: Pick<ProviderFailure, 'stage' | 'provider'>): void {
    this.queue(() => recordCallOutcome(this.db, this.tenantId, this.callId, { failure: failureLabel(failure) }));
  }

  outcome(end: { traces: readonly TurnTrace[]; failure?: Pick<ProviderFailure, 'stage' | 'provider'> | undefined }): void {
    this.queue(() => recordCallOutcome(this.db, this.tenantId, this.callId, {
      latency: { ...latencySummary(end.traces) }, ...(end.failure ? { failure: failureLabel(end.failure) } : {}),
    }));
  }

  /** A span to silence (PII said or typed): every tap that records audio hears of it. */
  redactAudio(span: AudioRedaction): void {
    for (const t of this.taps) {
      try { t.onAudioRedaction?.(span); } catch { /* a tap must not break the call */ }
    }
  }

  trace(trace: TurnTrace): void {
    if (this.shareTurns) {
      this.traced.push(trace);
      this.shareSummary();
    }
    for (const listener of this.listeners('trace')) {
      try { listener(trace); } catch { /* a listener's failure is its own */ }
    }
  }

  /** The running latency summary onto the call row (shareTurns), once for however many turns came while it waited. */
  private shareSummary(): void {
    if (this.summaryQueued || this.ended) return;
    this.summaryQueued = true;
    this.queue(() => {
      this.summaryQueued = false;
      return recordCallOutcome(this.db, this.tenantId, this.callId, { latency: { ...latencySummary(this.traced) } });
    });
  }

  /** A keypad key: collected into runs (until the terminator or the inter-digit pause), each stored once, redacted. */
  private onKey(digit: string): void {
    if (this.ended) return;
    for (const run of this.keypad.push(digit, performance.now())) this.recordKeys(run);
    this.armKeypadTimer();
  }

  private armKeypadTimer(): void {
    if (this.keypadTimer) clearTimeout(this.keypadTimer);
    this.keypadTimer = undefined;
    const deadline = this.keypad.deadlineMs;
    if (deadline === undefined) return;
    this.keypadTimer = setTimeout(() => {
      const run = this.keypad.due(performance.now());
      if (run) this.recordKeys(run);
      else this.armKeypadTimer();
    }, Math.max(0, deadline - performance.now()) + 1);
    this.keypadTimer.unref();
  }

  /**
   * One call event per run of keys, never one per key (single-key rows would let a card number typed on the
   * keypad be rebuilt): the keys redacted by the rules of pipeline/redact/keypad.ts (a menu choice stays, a
   * card becomes [CARD], any other run of four or more digits is masked), their count and what ended the run.
   */
  private recordKeys(run: KeypadRun): void {
    this.event('dtmf', { keys: redactKeypad(run.keys).text, count: run.keys.length, endedBy: run.endedBy });
  }

  protected queue(work: () => Promise<unknown>): void {
    this.writes = this.writes.then(work).then(() => undefined, (error: unknown) => {
      this.logger.warn({ err: error }, 'could not write to the call record');
    });
  }

  /** The call is up (ACK received or our INVITE answered): record it and start the agent. */
  answered(runner: AgentRunner): void {
    if (this.answeredAt !== undefined || this.ended) return;
    this.answeredAt = performance.now();
    this.queue(() => markCallAnswered(this.db, this.tenantId, this.callId));
    const call: AgentCall = {
      tenantId: this.tenantId, agentId: this.agent.id, agent: this.agent, callId: this.callId, direction: this.direction,
      transport: this.transport, record: this, logger: this.logger,
    };
    const run = Promise.resolve().then(() => runner(call));
    this.runnerDone = run.then(() => undefined, () => undefined);
    run
      .catch((error: unknown) => {
        this.logger.error({ err: error }, 'agent runner failed; hanging up');
        this.event('failure', { stage: 'agent' });
        return this.end('agent-error', true);
      });
  }

  /**
   * The server needs the line back (drain deadline): the agent says goodbye and hangs up; a runner that
   * cannot (echo, greeting, a call not yet answered) is ended at once (a BYE, the stream closed).
   */
  wrapUp(): void {
    if (this.ended) return;
    this.event('wrap-up', { reason: 'node-drain' });
    if (this.answeredAt === undefined || !this.transport.requestWrapUp()) void this.end('node-drain', true);
  }

  /** Resolves when the runner has returned, or after AGENT_FINISH_LIMIT_MS (a runner that hangs must not keep the call open). */
  private async agentFinished(): Promise<void> {
    if (!this.runnerDone) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.runnerDone, new Promise<void>((resolve) => { timer = setTimeout(resolve, AGENT_FINISH_LIMIT_MS); })]);
    clearTimeout(timer);
  }

  /**
   * Ends the call once; `hangup` tells the far end (a BYE when the dialog is still up, the stream or peer
   * closed). Resolves when the call is closed and the hang-up has left (for SIP: its transaction sent the
   * BYE; the answer, or a failure, is logged later), so the caller may close the transports right after.
   */
  end(reason: EndReason, hangup: boolean): Promise<void> {
    if (this.ending) return this.ending;
    this.endReason = reason;
    // Started a microtask later: a SIP BYE fires the dialog's 'terminated' synchronously, whose
    // listener calls end() again, and that call must find `ending` already set.
    this.ending = Promise.resolve().then(async () => {
      const hungUp = hangup ? this.transport.sendHangup() : undefined;
      await this.transport.close(reason).catch(() => undefined);
      this.offFrames();
      if (this.keypadTimer) clearTimeout(this.keypadTimer);
      const keys = this.keypad.flush(performance.now());
      if (keys) this.recordKeys(keys);
      this.mediaClosed();
      this.transport.fireEnd(reason);
      // The agent's last words into the record (a caller turn the hang-up cut, an answer cut short) before
      // the recording seals and the call's final transaction writes its turns.
      await this.agentFinished();
      this.transport.endTaps(reason);
      this.queue(() => finishCall(this.db, this.tenantId, this.callId, { reason }));
      await this.writes;
      await hungUp;
      this.logger.info({ reason, kind: this.kind, durationMs: Math.round(performance.now() - this.startedAt) }, 'call ended');
      this.closedWith = reason;
      this.emit('close', reason);
    });
    return this.ending;
  }

  /** The media is closed and the call not yet recorded as ended: a subclass notes what the media saw. */
  protected mediaClosed(): void {
    // nothing by default
  }
}

/** How long a call's end waits for its agent to finish (the conversation's own flush is bounded shorter). */
const AGENT_FINISH_LIMIT_MS = 4000;

/** The agent's keypad settings (provider_settings.keypad); the defaults when its settings do not parse. */
function keypadSettingsOf(agent: AgentRow): KeypadSettings {
  try {
    return conversationSettingsFrom(agent.providerSettings).keypad;
  } catch {
    return DEFAULT_KEYPAD_SETTINGS;
  }
}
