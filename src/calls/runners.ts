/**
 * Agent runners: what runs on a call once it is answered, chosen by the
 * agent's mode. Built in: `echo` (the caller's audio straight back) and
 * `greeting` (the agent's greeting spoken by espeak-ng, resampled to 8 kHz,
 * kept in the phrase cache, then a hang-up). The conversation pipeline
 * registers its own runner for mode 'conversation' through the same hook.
 */
import { resample } from '../../media/audio/index.ts';
import { EspeakTextToSpeech } from '../../pipeline/offline/index.ts';
import { PhraseCache, synthesizeWhole } from '../../pipeline/conversation/phrase-cache.ts';
import type { AudioRedaction, ConversationTurn, ProviderFailure, TurnTrace } from '../../pipeline/index.ts';
import type { CallTransport, EndReason } from '../../pipeline/transport.ts';
import type { AgentRow } from '../../storage/index.ts';
import type { Logger } from '../log.ts';

/**
 * What a runner writes about its call. Each call is queued on the call's one ordered write chain
 * (never blocking the media path); none takes call content except `turn`, whose text is already redacted.
 */
export interface CallRecordWriter {
  /** Appends a call event (type plus small JSON data; never call content). */
  event(type: string, data?: Record<string, unknown>): void;
  /** Stores one redacted transcript line, numbered in the order the turns came. */
  turn(turn: ConversationTurn): void;
  /** Notes what failed (stage and provider) on the call row. */
  failure(failure: Pick<ProviderFailure, 'stage' | 'provider'>): void;
  /** The conversation's outcome: the latency summary over its turns, and what failed. */
  outcome(end: { traces: readonly TurnTrace[]; failure?: Pick<ProviderFailure, 'stage' | 'provider'> | undefined }): void;
  /** Where PII was said or typed (frame clock, no content): the call's taps (the recorder) silence it. */
  redactAudio(span: AudioRedaction): void;
  /** A finished turn's latency trace, for the call's 'trace' listeners (the benchmark's feed). */
  trace(trace: TurnTrace): void;
}

/** The one shape a runner gets: who the call is, its transport, its record and its logger. */
export interface AgentCall {
  tenantId: string;
  agentId: string;
  agent: AgentRow;
  /** The call record's id (calls.id). */
  callId: string;
  direction: 'inbound' | 'outbound';
  transport: CallTransport;
  record: CallRecordWriter;
  logger: Logger;
}

export type AgentRunner = (call: AgentCall) => Promise<unknown> | void;

/** Resolves when the call ends. */
export function untilEnd(transport: CallTransport): Promise<EndReason> {
  return new Promise((resolve) => { transport.onEnd(resolve); });
}

export const echoRunner: AgentRunner = async (call) => {
  const off = call.transport.onFrame((frame) => {
    if (frame.kind === 'audio') call.transport.play(frame.pcm);
  });
  await untilEnd(call.transport);
  off();
};

export interface GreetingRunnerOptions {
  tts?: EspeakTextToSpeech;
  /** Pause after the greeting before hanging up. Default 500 ms. */
  hangupAfterMs?: number;
  /** Where greetings are kept once synthesized (the server's phrase cache); default one of its own. */
  cache?: PhraseCache;
}

/** The greeting runner; its greetings go through the phrase cache. */
export function createGreetingRunner(options: GreetingRunnerOptions = {}): AgentRunner & { cache: PhraseCache } {
  const tts = options.tts ?? new EspeakTextToSpeech();
  const cache = options.cache ?? new PhraseCache();

  /** The greeting at the call's rate (8 kHz, or 16 kHz for a wideband call). */
  const synthesize = async (text: string, voice: string | undefined, rate: number): Promise<Int16Array> => {
    const key = { provider: `greeting:${tts.name}`, voice, sampleRate: rate, text };
    const pcm = await cache.load(key, async () => {
      const all = await synthesizeWhole(tts, text, { ...(voice ? { voice } : {}), signal: new AbortController().signal });
      return resample(all, tts.sampleRate, rate);
    });
    return pcm ?? new Int16Array(0);
  };

  const runner = async (call: AgentCall): Promise<void> => {
    const text = call.agent.greeting.trim();
    const ended = untilEnd(call.transport);
    if (!text) {
      call.logger.warn({ agentId: call.agentId }, 'greeting agent has no greeting text; hanging up');
      await call.transport.hangup('no-greeting');
      return;
    }
    let pcm: Int16Array;
    try {
      const voice = call.agent.voice && call.agent.voice !== 'default' ? call.agent.voice : undefined;
      pcm = await synthesize(text, voice, call.transport.sampleRate);
    } catch (error) {
      const missing = /ENOENT/.test(String(error instanceof Error ? error.message : error));
      call.logger.error({ agentId: call.agentId, err: missing ? undefined : error },
        missing ? 'greeting needs espeak-ng, which is not installed (apt-get install espeak-ng); hanging up' : 'greeting synthesis failed; hanging up');
      call.record.event('failure', { stage: 'tts', provider: 'espeak-ng' });
      await call.transport.hangup('tts-unavailable');
      return;
    }
    call.transport.play(pcm);
    call.record.event('greeting', { ms: Math.round((pcm.length * 1000) / call.transport.sampleRate) });
    const done = await Promise.race([ended, waitDrained(call.transport, options.hangupAfterMs ?? 500)]);
    if (done === 'drained') await call.transport.hangup('greeting-finished');
  };
  return Object.assign(runner, { cache });
}

async function waitDrained(transport: CallTransport, extraMs: number): Promise<'drained'> {
  while (transport.queuedMs() > 0) await new Promise((r) => setTimeout(r, Math.min(200, Math.max(20, transport.queuedMs()))));
  await new Promise((r) => setTimeout(r, extraMs));
  return 'drained';
}
