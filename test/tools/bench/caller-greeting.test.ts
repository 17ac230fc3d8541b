/**
 * The bench caller and a late greeting (tools/bench/caller.ts), against a
 * scripted leg on the benchmark's pacer: the agent greets 1.8 s after the
 * answer (a busy machine) and answers a turn only once its greeting has played
 * (the AI disclosure cannot be talked over). A caller told to wait for the
 * greeting speaks after it, takes the reply (not the greeting) for the reply,
 * and is still on the call when the reply plays. On a loaded CI run the
 * callers spoke into such a greeting, took it for the reply and hung up
 * before the held reply played: the server never traced the turn.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Pacer } from '../../../media/rtp/pacer.ts';
import { BenchCall } from '../../../tools/bench/caller.ts';
import type { AgentPacket, CallerLeg, LegEvents } from '../../../tools/bench/caller-leg.ts';
import type { Utterance } from '../../../tools/bench/utterances.ts';

const GREETING_AT_TICK = 90; // 1.8 s after the answer: later than a caller that does not wait starts talking (1.5 s)
const GREETING_TICKS = 50;
const REPLY_AFTER_TICKS = 15;
const REPLY_TICKS = 25;

/** 500 ms of loud tone: the caller's one utterance. */
function utterance(): Utterance {
  const pcm = new Int16Array(160 * 25);
  for (let i = 0; i < pcm.length; i++) pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / 8000));
  return { name: 'tone', pcm, frames: 25, speechStartSample: 0, speechEndSample: pcm.length - 1 };
}

/** The scripted agent, one 20 ms packet per tick (voiced or silent), and the caller's frames as they leave. */
class ScriptedLeg implements CallerLeg {
  readonly transport = 'sip' as const;
  packetsOut = 0;
  private queue: Int16Array[] = [];
  private events: LegEvents | undefined;
  private removeTick: (() => void) | undefined;
  private tick = 0;
  private callerSpokeAt: number | undefined;
  private callerEndedAt: number | undefined;
  private replyFrom: number | undefined;
  /** What happened, in ticks. */
  readonly log = { callerVoicedDuringGreeting: 0, callerVoiced: 0, replyTicksPlayed: 0, hungUpAtTick: -1 };

  constructor(private readonly pacer: Pacer) {}

  get queuedMs(): number { return this.queue.length * 20; }

  async connect(events: LegEvents): Promise<void> {
    this.events = events;
    this.removeTick = this.pacer.add(() => this.onTick());
  }

  sendFrame(pcm: Int16Array): void {
    for (let at = 0; at < pcm.length; at += 160) this.queue.push(pcm.subarray(at, at + 160));
  }

  private greeting(t: number): boolean { return t >= GREETING_AT_TICK && t < GREETING_AT_TICK + GREETING_TICKS; }

  private onTick(): void {
    const t = this.tick++;
    const frame = this.queue.shift();
    if (frame) {
      this.packetsOut++;
      const voiced = frame.some((v) => Math.abs(v) > 1000);
      if (voiced) {
        this.log.callerVoiced++;
        if (this.greeting(t)) this.log.callerVoicedDuringGreeting++;
        this.callerSpokeAt ??= t;
      } else if (this.callerSpokeAt !== undefined && this.callerEndedAt === undefined) {
        this.callerEndedAt = t;
        // Held until the greeting has played, like the server's disclosure.
        this.replyFrom = Math.max(t, GREETING_AT_TICK + GREETING_TICKS) + REPLY_AFTER_TICKS;
      }
    }
    const reply = this.replyFrom !== undefined && t >= this.replyFrom && t < this.replyFrom + REPLY_TICKS;
    if (reply) this.log.replyTicksPlayed++;
    const packet: AgentPacket = { at: performance.now(), dbfs: this.greeting(t) || reply ? -12 : -90 };
    this.events?.agent(packet);
  }

  async hangup(): Promise<void> { this.log.hungUpAtTick = this.tick; }

  async close(): Promise<void> { this.removeTick?.(); }
}

function call(leg: ScriptedLeg, pacer: Pacer, greetingWaitMs?: number): BenchCall {
  const u = utterance();
  return new BenchCall({
    leg, pacer, turns: 1, bargeIn: false, utterances: [u], bargeInUtterance: u, ownVoicedPayloads: { has: () => false },
    voiceThresholdDbfs: -45, turnTimeoutMs: 10_000, ...(greetingWaitMs !== undefined ? { greetingWaitMs } : {}),
  });
}

test('a caller that waits for the greeting speaks after it, and hears the reply before it hangs up', async () => {
  const pacer = new Pacer();
  const leg = new ScriptedLeg(pacer);
  const result = await call(leg, pacer, 10_000).run();
  assert.is(result.greetingHeard, true);
  assert.ok(leg.log.callerVoiced > 0, 'the caller spoke');
  assert.is(leg.log.callerVoicedDuringGreeting, 0, 'not into the greeting');
  assert.is(result.turnsReplied, 1);
  assert.is(leg.log.replyTicksPlayed, REPLY_TICKS, 'the whole reply played before the caller hung up');
  assert.is(result.e2eMs.length, 1);
});

test.run();
