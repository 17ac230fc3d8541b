/**
 * One benchmark call, measured on the wire: INVITE over media/sip, RTP over
 * media/rtp, K caller turns of fixture speech in real time (20 ms packets,
 * silence packets in between like a real phone), and the agent's audio
 * timed per packet as it arrives on the socket (before any jitter buffer).
 *
 * Times (performance.now, ms):
 * - end of speech: the packet holding the utterance's last speech sample
 *   leaves at `sentAt`; it carried the 20 ms of audio before `sentAt`, so the
 *   speech ended at sentAt - 20 + offset of that sample in its frame.
 * - e2e: arrival of the first voiced agent packet after the end of speech.
 * - barge-in stop: from the caller's true start of speech over the agent to
 *   the end of the last voiced agent packet before >= STOP_QUIET_MS of quiet.
 * - setup: INVITE sent -> 200 OK (ACKed); ACK -> first voiced agent packet.
 * - rx pacing jitter: |D| per RFC 3550 A.8 between consecutive packets of a
 *   talkspurt (arrival gap minus RTP timestamp gap); tx pacing jitter: how
 *   far our own sends strayed from 20 ms (a busy load generator shows here).
 */
import { performance } from 'node:perf_hooks';
import { looksLikeRtcp, parseRtp, PortAllocator, RtpSession, FRAME_SAMPLES, type Pacer, type SocketPair } from '../../media/rtp/index.ts';
import { createOffer, readAnswer } from '../../media/sdp/index.ts';
import { SipCallError, type Dialog, type SipEndpoint } from '../../media/sip/index.ts';
import type { PayloadSet, Utterance } from './utterances.ts';
import { g711FrameDbfs } from './voice.ts';

const SAMPLE_MS = 1000 / 8000;
/** Agent quiet this long means its reply (or greeting) is over. */
const REPLY_QUIET_MS = 600;
/** Agent quiet this long after a barge-in means it stopped (TTS word gaps are shorter). */
const STOP_QUIET_MS = 300;
/** With no greeting, start talking after this much agent silence following the ACK. */
const GREETING_WAIT_MS = 1500;
/** Start the barge-in this long after the agent's reply began. */
const BARGE_IN_AFTER_MS = 300;
/** At most this many payload bytes are metered for voice. */
const MAX_METERED_BYTES = FRAME_SAMPLES * 4;
/** What the caller sends when it has nothing to say (sendFrame copies it). */
const SILENCE = new Int16Array(FRAME_SAMPLES);

export interface CallPlan {
  endpoint: SipEndpoint;
  /** Pacer for the caller's RTP (the benchmark's own, not the server's). */
  pacer: Pacer;
  /** sip:host:port of the server. */
  target: string;
  number: string;
  bindAddress: string;
  turns: number;
  bargeIn: boolean;
  utterances: readonly Utterance[];
  bargeInUtterance: Utterance;
  /** The payloads of our own voiced frames, to recognise an echo. */
  ownVoicedPayloads: Pick<PayloadSet, 'has'>;
  voiceThresholdDbfs: number;
  turnTimeoutMs: number;
  inviteTimeoutMs?: number;
  signal?: AbortSignal;
  onTurnDone?: () => void;
}

export interface ServerReceptionReport {
  /** Cumulative packets of ours the server reported lost. */
  cumulativeLost: number;
  /** The server's highest sequence number seen (extended), for the expected count. */
  extendedHighestSeq: number;
  jitterMs: number;
}

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

/**
 * A PortAllocator that lets the call see each raw RTP datagram with its
 * arrival time, before RtpSession does: the socket's first listener, and the
 * clock is read first thing in it, before any parsing.
 */
class TappedPorts extends PortAllocator {
  constructor(private readonly tap: (msg: Buffer, at: number) => void) {
    super();
  }

  override async allocate(address: string): Promise<SocketPair> {
    const pair = await super.allocate(address);
    pair.rtp.prependListener('message', (msg: Buffer) => {
      const at = performance.now();
      this.tap(msg, at);
    });
    return pair;
  }
}

export class BenchCall {
  private readonly result: CallResult = {
    answered: false, completed: false, e2eMs: [], bargeInStopMs: [], turns: 0, turnsReplied: 0, bargeIns: 0, bargeInsStopped: 0,
    rxJitterMs: [], txJitterMs: [], rxPackets: 0, rxExpected: 0, txPackets: 0, serverJitterMs: [], agentVoicedPackets: 0, agentEchoPackets: 0,
    greetingHeard: false,
  };
  private session: RtpSession | undefined;
  private removeTick: (() => void) | undefined;
  private waiters: Waiter[] = [];
  private readonly law = 'mulaw' as const;
  private payloadType = 0;

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
    let dialog: Dialog | undefined;
    try {
      this.session = await RtpSession.open({
        bindAddress: p.bindAddress, codec: { name: 'PCMU', payloadType: 0 }, pacer: p.pacer, receive: false, inactivityTimeoutMs: 0,
        ports: new TappedPorts((msg, at) => this.onPacket(msg, at)),
      });
      const session = this.session;
      session.on('error', () => undefined);
      session.on('rtcp', (packets) => {
        for (const packet of packets) {
          if (packet.type !== 'sr' && packet.type !== 'rr') continue;
          for (const block of packet.reports) {
            if (block.ssrc !== session.ssrc) continue;
            const report = { cumulativeLost: block.cumulativeLost, extendedHighestSeq: block.extendedHighestSeq, jitterMs: block.jitter / 8 };
            this.result.serverReport = report;
            this.result.serverJitterMs.push(report.jitterMs);
          }
        }
      });
      const local = { address: p.bindAddress, port: session.localPort, codecs: ['PCMU'] as const };
      const host = new URL(p.target.replace(/^sips?:/, 'http://')).host;
      const invitedAt = performance.now();
      dialog = await p.endpoint.invite({
        uri: `sip:${p.number}@${host}`, from: `sip:bench@${p.bindAddress}`, sdp: createOffer(local), timeoutMs: p.inviteTimeoutMs ?? 10_000,
        ...(p.signal ? { signal: p.signal } : {}),
      });
      const ackAt = performance.now();
      this.result.answered = true;
      this.result.setupInviteToOkMs = ackAt - invitedAt;
      const answer = readAnswer(dialog.remoteSdp ?? '', local);
      if (!answer.ok) throw new Error(`unusable SDP answer (${answer.reason})`);
      this.payloadType = answer.codec.payloadType;
      session.setRemote({ address: answer.remote.address, port: answer.remote.port, rtcpPort: answer.remote.rtcpPort });
      const remote = { hungUp: false };
      dialog.once('bye', () => { remote.hungUp = true; });
      this.removeTick = p.pacer.add(() => this.onTick());

      // Greeting: wait until the agent has spoken and gone quiet, or stayed silent for a while.
      await this.waitUntil(() => (this.firstVoiceAt !== undefined ? this.quietFor(REPLY_QUIET_MS) : performance.now() - ackAt >= GREETING_WAIT_MS), 20_000);
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
      if (!remote.hungUp) {
        const gotFinalReport = new Promise<void>((resolve) => { session.once('bye', () => resolve()); setTimeout(resolve, 300).unref(); });
        await dialog.bye().catch(() => undefined);
        await gotFinalReport;
      }
    } catch (error) {
      this.result.failure = error instanceof SipCallError ? `SIP ${error.status}` : error instanceof Error ? error.message : String(error);
      if (dialog && dialog.state !== 'terminated') await dialog.bye().catch(() => undefined);
    } finally {
      this.removeTick?.();
      for (const w of this.waiters) w.resolve(false);
      this.waiters = [];
      if (this.session) {
        this.result.txPackets = this.session.stats.packetsOut;
        await this.session.close('bench call over');
      }
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
    this.session!.sendFrame(utterance.pcm);
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
    const session = this.session;
    if (!session) return;
    const now = performance.now();
    const queuedFrames = Math.round(session.queuedMs / 20);
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
    if (queuedFrames === 0 && this.current === undefined) session.sendFrame(SILENCE);
    this.lastQueued = Math.round(session.queuedMs / 20);
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

  private onPacket(msg: Buffer, at: number): void {
    if (looksLikeRtcp(msg)) return;
    const parsed = parseRtp(msg);
    if (!parsed.ok) return;
    const p = parsed.packet;
    if (p.payloadType !== this.payloadType) return;
    this.result.rxPackets++;
    // Extended sequence numbers for the loss count.
    if (this.firstSeqExt === undefined) {
      this.firstSeqExt = p.sequenceNumber;
      this.maxSeqExt = p.sequenceNumber;
    } else {
      if (p.sequenceNumber < this.prevSeq && this.prevSeq - p.sequenceNumber > 0x8000) this.seqCycles += 0x10000;
      const ext = this.seqCycles + p.sequenceNumber;
      if (ext > this.maxSeqExt) this.maxSeqExt = ext;
    }
    // Pacing: inside a talkspurt, arrival gap minus timestamp gap.
    if (!p.marker && this.prevSeq >= 0 && ((this.prevSeq + 1) & 0xffff) === p.sequenceNumber) {
      const tsGap = ((p.timestamp - this.prevTimestamp) | 0) * SAMPLE_MS;
      this.result.rxJitterMs.push(Math.abs(at - this.prevArrival - tsGap));
    }
    this.prevSeq = p.sequenceNumber;
    this.prevArrival = at;
    this.prevTimestamp = p.timestamp;
    // Per packet, no allocation: the level straight from the G.711 bytes, the echo check by hash (then a byte compare on a hit).
    const payload = p.payload;
    if (g711FrameDbfs(this.law, payload, Math.min(payload.length, MAX_METERED_BYTES)) > this.plan.voiceThresholdDbfs) {
      this.result.agentVoicedPackets++;
      if (this.plan.ownVoicedPayloads.has(payload)) this.result.agentEchoPackets++;
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
