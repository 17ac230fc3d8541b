/**
 * One benchmark call, measured on the wire over any way in (a CallerLeg:
 * SIP/RTP, a WebRTC peer, a Twilio Media Streams client): K caller turns of
 * fixture speech in real time (20 ms packets, silence packets in between
 * like a real phone), and the agent's audio timed per packet as it arrives
 * on the socket (before any jitter buffer).
 *
 * Times (performance.now, ms):
 * - end of speech: the packet holding the utterance's last speech sample
 *   leaves at `sentAt`; it carried the 20 ms of audio before `sentAt`, so the
 *   speech ended at sentAt - 20 + offset of that sample in its frame.
 * - e2e: arrival of the first voiced agent packet after the end of speech.
 * - barge-in stop: from the caller's true start of speech over the agent to
 *   the end of the last voiced agent packet before >= STOP_QUIET_MS of quiet.
 * - setup: INVITE sent -> 200 OK (ACKed); ACK -> first voiced agent packet
 *   (WebRTC: offer sent -> media connected; a media stream: socket opened ->
 *   `start` sent).
 * - rx pacing jitter: |D| per RFC 3550 A.8 between consecutive packets of a
 *   talkspurt (arrival gap minus RTP timestamp gap; RTP transports only: a
 *   media stream's messages carry no timestamp); tx pacing jitter: how
 *   far our own sends strayed from 20 ms (a busy load generator shows here).
 */
import { performance } from 'node:perf_hooks';
import { FRAME_SAMPLES, type Pacer } from '../../media/rtp/index.ts';
import { SipCallError } from '../../media/sip/index.ts';
import type { AgentPacket, CallerLeg, ServerReceptionReport } from './caller-leg.ts';
import type { PayloadSet, Utterance } from './utterances.ts';

const SAMPLE_MS = 1000 / 8000;
/** Agent quiet this long means its reply (or greeting) is over. */
const REPLY_QUIET_MS = 600;
/** Agent quiet this long after a barge-in means it stopped (TTS word gaps are shorter). */
const STOP_QUIET_MS = 300;
/** With no greeting, start talking after this much agent silence following the ACK. */
const GREETING_WAIT_MS = 1500;
/** Start the barge-in this long after the agent's reply began. */
const BARGE_IN_AFTER_MS = 300;
/** What the caller sends when it has nothing to say (sendFrame copies it). */
const SILENCE = new Int16Array(FRAME_SAMPLES);

export interface CallPlan {
  /** The way in: SIP/RTP, a WebRTC peer or a media-stream client (caller-leg.ts). */
  leg: CallerLeg;
  /** The benchmark's pacer (the leg sends on it too, and its ticks come first). */
  pacer: Pacer;
  turns: number;
  bargeIn: boolean;
  utterances: readonly Utterance[];
  bargeInUtterance: Utterance;
  /** The payloads of our own voiced frames, to recognise an echo. */
  ownVoicedPayloads: Pick<PayloadSet, 'has'>;
  voiceThresholdDbfs: number;
  turnTimeoutMs: number;
  /**
   * How long to wait after the ACK for the agent's greeting before speaking anyway (an agent that does not
   * greet). Default GREETING_WAIT_MS. Speaking into a greeting that was merely late would take the greeting
   * for the reply, and hang up before the real reply played.
   */
  greetingWaitMs?: number;
  signal?: AbortSignal;
  onTurnDone?: () => void;
}

export type { ServerReceptionReport } from './caller-leg.ts';

export interface CallResult {
  answered: boolean;
  completed: boolean;
  failure?: string;
  setupInviteToOkMs?: number;
  setupAckToFirstAudioMs?: number;
  e2eMs: number[];
  bargeInStopMs: number[];
  turns: number;
  turnsReplied: number;
  bargeIns: number;
  bargeInsStopped: number;
  rxJitterMs: number[];
  txJitterMs: number[];
  rxPackets: number;
  rxExpected: number;
  txPackets: number;
  /** Jitter values (ms) from every RTCP report block the server sent about our stream. */
  serverJitterMs: number[];
  /** The last RTCP report block about our stream, if any arrived. */
  serverReport?: ServerReceptionReport;
  /** Voiced agent packets, and how many of them were byte-identical to our own voiced frames. */
  agentVoicedPackets: number;
  agentEchoPackets: number;
  greetingHeard: boolean;
}

interface Speaking {
  utterance: Utterance;
  done: boolean;
  startAt?: number;
  endAt?: number;
}

interface Waiter {
  check: () => boolean;
  resolve: (ok: boolean) => void;
  deadline: number;
}

export class BenchCall {
  private readonly result: CallResult = {
    answered: false, completed: false, e2eMs: [], bargeInStopMs: [], turns: 0, turnsReplied: 0, bargeIns: 0, bargeInsStopped: 0,
    rxJitterMs: [], txJitterMs: [], rxPackets: 0, rxExpected: 0, txPackets: 0, serverJitterMs: [], agentVoicedPackets: 0, agentEchoPackets: 0,
    greetingHeard: false,
  };
  private removeTick: (() => void) | undefined;
  private waiters: Waiter[] = [];

  // receive state
  private firstSeqExt: number | undefined;
  private maxSeqExt = 0;
  private seqCycles = 0;
  private prevArrival = 0;
  private prevTimestamp = 0;
  private prevSeq = -1;
  private firstVoiceAt: number | undefined;
  private lastVoiceAt = -Infinity;
  /** Arrival times of voiced agent packets, newest last (trimmed as turns pass). */
  private voiceArrivals: number[] = [];

  // send state
  private current: Speaking | undefined;
  private lastSendAt: number | undefined;
  private lastQueued = 0;

  constructor(private readonly plan: CallPlan) {}

  async run(): Promise<CallResult> {
    const p = this.plan;
    const leg = p.leg;
    const remote = { hungUp: false };
    try {
      const invitedAt = performance.now();
      await leg.connect({
        agent: (packet) => this.onPacket(packet),
        serverReport: (report) => { this.result.serverReport = report; this.result.serverJitterMs.push(report.jitterMs); },
        hungUp: () => { remote.hungUp = true; },
      }, p.signal);
      const ackAt = performance.now();
      const greetingWaitMs = p.greetingWaitMs ?? GREETING_WAIT_MS;
      this.result.answered = true;
      this.result.setupInviteToOkMs = ackAt - invitedAt;
      this.removeTick = p.pacer.add(() => this.onTick());

      // Greeting: wait until the agent has spoken and gone quiet, or stayed silent for a while.
      await this.waitUntil(() => (this.firstVoiceAt !== undefined ? this.quietFor(REPLY_QUIET_MS) : performance.now() - ackAt >= greetingWaitMs), 20_000 + Math.max(0, greetingWaitMs - GREETING_WAIT_MS));
      if (this.firstVoiceAt !== undefined) {
        this.result.greetingHeard = true;
        this.result.setupAckToFirstAudioMs = this.firstVoiceAt - ackAt;
      }

      for (let turn = 0; turn < p.turns && !remote.hungUp && !p.signal?.aborted; turn++) {
        await this.waitUntil(() => this.quietFor(REPLY_QUIET_MS), p.turnTimeoutMs);
        const utterance = p.utterances[turn % p.utterances.length]!;
        const spoken = await this.speak(utterance);
        this.result.turns++;
        if (spoken.endAt === undefined) break;
        const endAt = spoken.endAt;
        const replied = await this.waitUntil(() => this.firstVoiceAfter(endAt) !== undefined, p.turnTimeoutMs);
        const replyAt = this.firstVoiceAfter(endAt);
        if (replied && replyAt !== undefined) {
          this.result.turnsReplied++;
          this.result.e2eMs.push(replyAt - endAt);
          if (p.bargeIn && turn === p.turns - 1) await this.bargeIn(replyAt);
        }
        p.onTurnDone?.();
        this.trimVoice(performance.now() - 5000);
      }
      await this.waitUntil(() => this.quietFor(REPLY_QUIET_MS), 3000);
      this.result.completed = this.result.turns === p.turns;
      if (remote.hungUp && this.result.turns < p.turns) this.result.failure = 'server hung up early';
      if (!remote.hungUp) await leg.hangup();
    } catch (error) {
      this.result.failure = error instanceof SipCallError ? `SIP ${error.status}` : error instanceof Error ? error.message : String(error);
    } finally {
      this.removeTick?.();
      for (const w of this.waiters) w.resolve(false);
      this.waiters = [];
      this.result.txPackets = leg.packetsOut;
      await leg.close().catch(() => undefined);
      this.result.rxExpected = this.firstSeqExt === undefined ? 0 : this.maxSeqExt - this.firstSeqExt + 1;
    }
    return this.result;
  }

  /** Barge-in: talk over the agent's reply and time how long its audio keeps coming. */
  private async bargeIn(replyAt: number): Promise<void> {
    await this.waitUntil(() => performance.now() - replyAt >= BARGE_IN_AFTER_MS, BARGE_IN_AFTER_MS + 100);
    if (this.quietFor(STOP_QUIET_MS)) return; // the reply was over before we could interrupt it
    this.result.bargeIns++;
    const u = this.plan.bargeInUtterance;
    const speaking = this.startSpeaking(u);
    await this.waitUntil(() => speaking.startAt !== undefined || speaking.done, 5000);
    const startAt = speaking.startAt;
    if (startAt === undefined) return;
    const windowMs = ((u.frames * FRAME_SAMPLES) * SAMPLE_MS) + 1000;
    const stopped = await this.waitUntil(() => {
      const last = this.lastVoiceAt;
      return performance.now() - Math.max(last, startAt) >= STOP_QUIET_MS;
    }, windowMs);
    if (stopped) {
      this.result.bargeInsStopped++;
      this.result.bargeInStopMs.push(Math.max(0, this.lastVoiceAt + 20 - startAt));
    }
    await this.waitUntil(() => speaking.done, u.frames * 20 + 5000);
  }

  /** Queues the utterance; its speech edges get their times as its frames leave. */
  private startSpeaking(utterance: Utterance): Speaking {
    const state: Speaking = { utterance, done: false };
    this.current = state;
    this.plan.leg.sendFrame(utterance.pcm);
    return state;
  }

  /** Speaks the utterance and resolves when its last frame has left. */
  private async speak(utterance: Utterance): Promise<Speaking> {
    const state = this.startSpeaking(utterance);
    await this.waitUntil(() => state.done, utterance.frames * 20 + 5000);
    return state;
  }

  /** Runs after the session's own tick on the same pacer: sends have happened for this tick. */
  private onTick(): void {
    const leg = this.plan.leg;
    const now = performance.now();
    const queuedFrames = Math.round(leg.queuedMs / 20);
    // Something was queued after the previous tick, so this tick's send step sent one packet.
    if (this.lastQueued > 0) {
      if (this.lastSendAt !== undefined) this.result.txJitterMs.push(Math.abs(now - this.lastSendAt - 20));
      this.lastSendAt = now;
    } else this.lastSendAt = undefined;
    const cur = this.current;
    if (cur) {
      const sent = cur.utterance.frames - queuedFrames;
      const u = cur.utterance;
      const startFrame = Math.floor(u.speechStartSample / FRAME_SAMPLES);
      const endFrame = Math.floor(u.speechEndSample / FRAME_SAMPLES);
      if (cur.startAt === undefined && sent > startFrame) cur.startAt = now - 20 + (u.speechStartSample - startFrame * FRAME_SAMPLES) * SAMPLE_MS;
      if (cur.endAt === undefined && sent > endFrame) cur.endAt = now - 20 + (u.speechEndSample + 1 - endFrame * FRAME_SAMPLES) * SAMPLE_MS;
      if (queuedFrames === 0) {
        cur.done = true;
        this.current = undefined;
      }
    }
    // A phone keeps sending: one frame of silence whenever nothing else is queued.
    if (queuedFrames === 0 && this.current === undefined) leg.sendFrame(SILENCE);
    this.lastQueued = Math.round(leg.queuedMs / 20);
    const waiters = this.waiters;
    if (waiters.length) {
      // In place: no array per tick. A resolved waiter's continuation runs later (a microtask), so the list does not change under us.
      let kept = 0;
      for (let i = 0; i < waiters.length; i++) {
        const w = waiters[i]!;
        if (w.check()) w.resolve(true);
        else if (now >= w.deadline) w.resolve(false);
        else waiters[kept++] = w;
      }
      waiters.length = kept;
    }
  }

  private onPacket(packet: AgentPacket): void {
    const at = packet.at;
    this.result.rxPackets++;
    const rtp = packet.rtp;
    if (rtp) {
      // Extended sequence numbers for the loss count.
      if (this.firstSeqExt === undefined) {
        this.firstSeqExt = rtp.sequenceNumber;
        this.maxSeqExt = rtp.sequenceNumber;
      } else {
        if (rtp.sequenceNumber < this.prevSeq && this.prevSeq - rtp.sequenceNumber > 0x8000) this.seqCycles += 0x10000;
        const ext = this.seqCycles + rtp.sequenceNumber;
        if (ext > this.maxSeqExt) this.maxSeqExt = ext;
      }
      // Pacing: inside a talkspurt, arrival gap minus timestamp gap.
      if (!rtp.marker && this.prevSeq >= 0 && ((this.prevSeq + 1) & 0xffff) === rtp.sequenceNumber) {
        const tsGap = (((rtp.timestamp - this.prevTimestamp) | 0) * 1000) / rtp.clockRate;
        this.result.rxJitterMs.push(Math.abs(at - this.prevArrival - tsGap));
      }
      this.prevSeq = rtp.sequenceNumber;
      this.prevTimestamp = rtp.timestamp;
      this.prevArrival = at;
    }
    if (packet.dbfs > this.plan.voiceThresholdDbfs) {
      this.result.agentVoicedPackets++;
      if (packet.mulaw && this.plan.ownVoicedPayloads.has(packet.mulaw)) this.result.agentEchoPackets++;
      this.firstVoiceAt ??= at;
      this.lastVoiceAt = at;
      this.voiceArrivals.push(at);
    }
  }

  private quietFor(ms: number): boolean {
    return performance.now() - this.lastVoiceAt >= ms;
  }

  private firstVoiceAfter(t: number): number | undefined {
    const arr = this.voiceArrivals;
    // Newest last: scan back while arrivals are after t.
    let found: number | undefined;
    for (let i = arr.length - 1; i >= 0 && arr[i]! > t; i--) found = arr[i];
    return found;
  }

  private trimVoice(before: number): void {
    let i = 0;
    while (i < this.voiceArrivals.length && this.voiceArrivals[i]! < before) i++;
    if (i > 0) this.voiceArrivals.splice(0, i);
  }

  private waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
    if (check()) return Promise.resolve(true);
    if (!this.removeTick) {
      // Not ticking yet (before the call is up): poll on a timer.
      return new Promise((resolve) => {
        const deadline = performance.now() + timeoutMs;
        const poll = (): void => {
          if (check()) resolve(true);
          else if (performance.now() >= deadline) resolve(false);
          else setTimeout(poll, 20);
        };
        poll();
      });
    }
    return new Promise((resolve) => this.waiters.push({ check, resolve, deadline: performance.now() + timeoutMs }));
  }
}
