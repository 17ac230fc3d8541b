/**
 * One established call (either direction): its dialog, its RTP session, its
 * call record and its agent runner. Handles what happens mid-call: re-INVITE
 * (hold, resume, codec or address change; the RTP latch survives unless the
 * SDP address changes), DTMF as call events (one per run of keys, redacted:
 * keys are call content, see recordKeys), RTP
 * inactivity (ends the call with BYE), the RTP session closing under the call
 * (the media thread died: ends it with BYE too), BYE either way. Ends exactly once:
 * BYE when we hang up (awaited until it has left; a failed BYE is logged, and
 * the media and record end regardless), RTP closed, transport listeners told,
 * record finished, then 'close' with the EndReason.
 * Every database write of a call (events, redacted transcript lines, outcome,
 * the final row) goes through one chain, so they land in order and never
 * block the media path.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Dialog, DialogEndReason, ReinviteAnswer } from '../../media/sip/index.ts';
import type { RtpStream } from '../../media/rtp/index.ts';
import { answerOffer, sdpFailureWarning, type NegotiatedAudio } from '../../media/sdp/index.ts';
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
import { SipCallTransport, type CallTap } from './sip-call-transport.ts';

/** How the dialog's own end maps to the call's. */
const DIALOG_END: Record<DialogEndReason, EndReason> = { 'remote bye': 'remote-bye', 'local bye': 'agent-hangup', 'endpoint closed': 'shutdown' };

export interface LocalMediaState {
  address: string;
  sessionId: string;
  version: number;
}

export interface CallSessionInit {
  db: Database;
  logger: Logger;
  tenantId: string;
  agent: AgentRow;
  /** calls.id */
  callId: string;
  direction: 'inbound' | 'outbound';
  dialog: Dialog;
  rtp: RtpStream;
  negotiated: NegotiatedAudio;
  local: LocalMediaState;
  carrier: string;
  taps: CallTap[];
}

export interface CallSessionEvents {
  /** The call is over: media closed, record finished (fires once). */
  close: [reason: EndReason];
  /** A finished turn's latency trace (from the runner). */
  trace: [trace: TurnTrace];
}

export class CallSession extends EventEmitter<CallSessionEvents> implements CallRecordWriter {
  readonly tenantId: string;
  readonly callId: string;
  readonly agent: AgentRow;
  readonly direction: 'inbound' | 'outbound';
  readonly dialog: Dialog;
  readonly rtp: RtpStream;
  readonly transport: SipCallTransport;
  readonly startedAt = performance.now();
  answeredAt: number | undefined;
  endReason: EndReason | undefined;
  private negotiated: NegotiatedAudio;
  private readonly local: LocalMediaState;
  private readonly logger: Logger;
  private readonly db: Database;
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

  constructor(init: CallSessionInit) {
    super();
    this.tenantId = init.tenantId;
    this.callId = init.callId;
    this.agent = init.agent;
    this.direction = init.direction;
    this.dialog = init.dialog;
    this.rtp = init.rtp;
    this.negotiated = init.negotiated;
    this.local = init.local;
    this.db = init.db;
    this.taps = init.taps;
    this.logger = init.logger.child({ callId: init.callId, tenantId: init.tenantId });
    this.transport = new SipCallTransport(init.dialog, init.rtp, { carrier: init.carrier, end: (reason) => this.end(reason, true), taps: init.taps });

    this.keypad = new KeypadCollector(keypadSettingsOf(init.agent));
    init.rtp.on('dtmf', (d) => this.onKey(d.digit));
    init.rtp.on('inactive', ({ idleMs }) => {
      this.logger.info({ idleMs: Math.round(idleMs) }, 'no RTP; ending the call');
      void this.end('rtp-timeout', true);
    });
    init.rtp.on('error', (error) => {
      // A media thread crash is logged once, by the MediaThread; the 'close' that follows ends the call.
      if (error.name !== 'MediaThreadError') this.logger.warn({ err: error }, 'RTP error');
    });
    // The RTP session closed without us (the media thread died): end the call cleanly rather than leave it hanging.
    init.rtp.on('close', () => {
      if (this.ended) return;
      this.logger.info('the RTP session closed under the call; ending it');
      void this.end('media-failure', true);
    });
    // A BYE that fails (no answer, transport error, an error status) is logged; the call ends here regardless.
    init.dialog.on('byeFailed', (status) => this.logger.warn({ status, transport: init.dialog.transport }, 'our BYE failed; the call is ended on our side'));
    init.dialog.on('bye', () => void this.end('remote-bye', false));
    init.dialog.on('terminated', (reason) => void this.end(DIALOG_END[reason], false));
    init.dialog.onReinvite = (offer) => this.onReinvite(offer);
  }

  /** Resolves with the end reason once the call has closed (at once when it already has): the 'close' event as a promise. */
  untilClosed(): Promise<EndReason> {
    if (this.closedWith) return Promise.resolve(this.closedWith);
    return new Promise((resolve) => this.once('close', resolve));
  }

  /** The negotiated codec's name (PCMU, PCMA). */
  get codec(): string {
    return this.negotiated.codec.name;
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
    for (const listener of this.listeners('trace')) {
      try { listener(trace); } catch { /* a listener's failure is its own */ }
    }
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

  private queue(work: () => Promise<unknown>): void {
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

  private onReinvite(offer: string): ReinviteAnswer {
    if (this.ended) return undefined;
    if (!offer) return this.dialog.localSdp; // no offer: repeat ours
    this.local.version++;
    const answer = answerOffer(offer, {
      address: this.local.address, port: this.rtp.localPort, sessionId: this.local.sessionId, sessionVersion: this.local.version,
      preferred: [this.negotiated.codec.name], // keep the call's codec when the re-offer still has it
      // An SRTP call stays SRTP under the same keys (the RTP session cannot change them mid-call).
      ...(this.negotiated.srtp ? { srtp: 'required' as const, srtpSendKey: this.negotiated.srtp.sendKey } : {}),
    });
    const keys = this.negotiated.srtp;
    if (answer.ok && keys && (answer.srtp?.suite !== keys.suite || answer.srtp.receiveKey !== keys.receiveKey)) {
      this.local.version--;
      this.event('reinvite-refused', { reason: 'srtp-rekey' });
      return { warning: sdpFailureWarning('srtp-rekey') };
    }
    if (!answer.ok) {
      this.local.version--;
      this.event('reinvite-refused', { reason: answer.reason });
      return { warning: sdpFailureWarning(answer.reason) };
    }
    const before = this.negotiated;
    if (answer.codec.name !== before.codec.name || answer.codec.payloadType !== before.codec.payloadType
      || answer.telephoneEvent?.payloadType !== before.telephoneEvent?.payloadType
      || answer.comfortNoise?.payloadType !== before.comfortNoise?.payloadType) {
      this.rtp.setCodec({ name: answer.codec.name, payloadType: answer.codec.payloadType }, answer.telephoneEvent?.payloadType, answer.comfortNoise?.payloadType);
      this.event('codec', { codec: answer.codec.name });
    }
    const r = answer.remote;
    if (!answer.remote.onHold && (r.address !== before.remote.address || r.port !== before.remote.port)) {
      this.rtp.setRemote({ address: r.address, port: r.port, rtcpPort: r.rtcpPort });
    }
    this.rtp.setDirection({ send: answer.send, receive: answer.receive });
    if (r.onHold && !before.remote.onHold) this.event('hold', { direction: r.direction });
    else if (!r.onHold && before.remote.onHold) this.event('resume', {});
    this.negotiated = answer;
    return answer.sdp;
  }

  /** RTP that came from neither the SDP nor the signalling address (an RTP bleed attempt): counted on the call, never heard. */
  private recordForeignMedia(): void {
    const packets = this.rtp.stats.dropped['foreign-source'];
    if (packets === 0) return;
    this.logger.warn({ packets }, 'dropped RTP from an address that is neither the SDP nor the signalling address');
    this.event('rtp-foreign-source', { packets });
  }

  /**
   * The server needs the line back (drain deadline): the agent says goodbye and hangs up; a runner that
   * cannot (echo, greeting, a call not yet answered) is ended at once with a BYE.
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
   * Ends the call once; `bye` sends a BYE when the dialog is still up. Resolves when the call is closed and
   * the BYE has left (its transaction sent it; the answer, or a failure, is logged later), so the caller may
   * close the SIP transport right after.
   */
  end(reason: EndReason, bye: boolean): Promise<void> {
    if (this.ending) return this.ending;
    this.endReason = reason;
    // Started a microtask later: the BYE below fires the dialog's 'terminated' synchronously, whose
    // listener calls end() again, and that call must find `ending` already set.
    this.ending = Promise.resolve().then(async () => {
      const byeLeft = bye && this.dialog.state !== 'terminated'
        // bye() never rejects (a failure is logged through 'byeFailed'); it settles at the latest with its final status.
        ? new Promise<void>((resolve) => { void this.dialog.bye({ onSent: resolve }).then(() => resolve()); })
        : undefined;
      await this.rtp.close(reason).catch(() => undefined);
      if (this.keypadTimer) clearTimeout(this.keypadTimer);
      const keys = this.keypad.flush(performance.now());
      if (keys) this.recordKeys(keys);
      this.recordForeignMedia();
      this.transport.fireEnd(reason);
      // The agent's last words into the record (a caller turn the hang-up cut, an answer cut short) before
      // the recording seals and the call's final transaction writes its turns.
      await this.agentFinished();
      this.transport.endTaps(reason);
      this.queue(() => finishCall(this.db, this.tenantId, this.callId, { reason }));
      await this.writes;
      await byeLeft;
      this.logger.info({ reason, durationMs: Math.round(performance.now() - this.startedAt) }, 'call ended');
      this.closedWith = reason;
      this.emit('close', reason);
    });
    return this.ending;
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
