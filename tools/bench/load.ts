/**
 * Places a batch of concurrent benchmark calls over one way in (SIP from one
 * SIP endpoint, a WebRTC peer per call, or a Twilio Media Streams client per
 * call: caller-leg.ts) on one pacer of the benchmark's own, and aggregates
 * what they measured.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pacer } from '../../media/rtp/index.ts';
import { SipEndpoint } from '../../media/sip/index.ts';
import { BenchCall, type CallResult } from './caller.ts';
import type { BenchTransport, CallerLeg } from './caller-leg.ts';
import { SipLeg } from './sip-leg.ts';
import { StreamLeg } from './stream-leg.ts';
import { SampleSet } from './stats.ts';
import { BARGE_IN_FILE, loadUtterance, TURN_FILES, voicedPayloads, type Utterance } from './utterances.ts';

/** What one WebRTC or media-stream call presents to the server: its token (and the carrier call id a stream token names). */
export interface CallCredential {
  token: string;
  callSid?: string;
}

export interface LoadPlan {
  /** The way in (default sip). */
  transport?: BenchTransport;
  /** sip:host:port of the server (SIP). */
  target: string;
  /** ws://host:port of the server's HTTP listener (webrtc, ws). */
  httpBase?: string;
  /**
   * webrtc and ws: the credentials the calls take in the order they start, one each (a token opens one
   * call); a WebRTC call that starts its set-up over takes another (mint WEBRTC_MAX_ATTEMPTS per call).
   */
  credentials?: readonly CallCredential[];
  number: string;
  calls: number;
  turns: number;
  bargeIn: boolean;
  voiceThresholdDbfs: number;
  turnTimeoutMs: number;
  /** How long each caller waits for the greeting before speaking anyway (caller.ts CallPlan). */
  greetingWaitMs?: number;
  bindAddress: string;
  /** Delay between call starts, so the server is not hit by an INVITE burst. Default 20 ms. */
  staggerMs?: number;
  /** Keep placing new calls in each slot until this time (performance.now); soak mode. */
  until?: number;
  signal?: AbortSignal;
  onProgress?: (event: { callsStarted: number; callsDone: number; turnsDone: number }) => void;
}

export interface LoadResult {
  results: CallResult[];
  samples: {
    e2eMs: SampleSet;
    bargeInStopMs: SampleSet;
    setupInviteToOkMs: SampleSet;
    setupAckToFirstAudioMs: SampleSet;
    rxPacingJitterMs: SampleSet;
    txPacingJitterMs: SampleSet;
    serverRxJitterMs: SampleSet;
  };
  wallMs: number;
}

let fixtures: { turns: Utterance[]; bargeIn: Utterance } | undefined;

function loadFixtures(): { turns: Utterance[]; bargeIn: Utterance } {
  fixtures ??= { turns: TURN_FILES.map((f) => loadUtterance(f)), bargeIn: loadUtterance(BARGE_IN_FILE) };
  return fixtures;
}

export async function runLoad(plan: LoadPlan): Promise<LoadResult> {
  const { turns, bargeIn } = loadFixtures();
  const ownVoiced = voicedPayloads([...turns, bargeIn], 'mulaw', plan.voiceThresholdDbfs);
  const transport = plan.transport ?? 'sip';
  const endpoint = transport === 'sip'
    ? await SipEndpoint.create({ host: plan.bindAddress, udpPort: 0, tcpPort: null, guard: false, contactUser: 'bench', userAgent: 'smartalex-bench' })
    : undefined;
  // Loaded on use: node-datachannel's native threads have no business in a SIP run.
  const WebRtcLeg = transport === 'webrtc' ? (await import('./webrtc-leg.ts')).WebRtcLeg : undefined;
  const pacer = new Pacer();
  const results: CallResult[] = [];
  const progress = { callsStarted: 0, callsDone: 0, turnsDone: 0 };
  const started = performance.now();
  const stagger = plan.staggerMs ?? 20;
  let credentialsUsed = 0;
  const nextCredential = (): CallCredential => {
    const credential = plan.credentials?.[credentialsUsed++];
    if (!credential) throw new Error(`no ${transport} token left for this call (${plan.credentials?.length ?? 0} given)`);
    return credential;
  };
  const newLeg = (): CallerLeg => {
    if (endpoint) return new SipLeg({ endpoint, pacer, target: plan.target, number: plan.number, bindAddress: plan.bindAddress });
    if (!plan.httpBase) throw new Error(`a ${transport} call needs the server's HTTP address`);
    if (WebRtcLeg) return new WebRtcLeg({ pacer, httpBase: plan.httpBase, token: () => nextCredential().token, bindAddress: plan.bindAddress });
    const credential = nextCredential();
    return new StreamLeg({ pacer, httpBase: plan.httpBase, token: credential.token, callSid: credential.callSid ?? '' });
  };
  try {
    const slot = async (index: number): Promise<void> => {
      await sleep(index * stagger);
      do {
        if (plan.signal?.aborted) return;
        progress.callsStarted++;
        plan.onProgress?.({ ...progress });
        const call = new BenchCall({
          leg: newLeg(), pacer, turns: plan.turns, bargeIn: plan.bargeIn,
          utterances: rotate(turns, index), bargeInUtterance: bargeIn, ownVoicedPayloads: ownVoiced, voiceThresholdDbfs: plan.voiceThresholdDbfs,
          turnTimeoutMs: plan.turnTimeoutMs, ...(plan.greetingWaitMs !== undefined ? { greetingWaitMs: plan.greetingWaitMs } : {}),
          ...(plan.signal ? { signal: plan.signal } : {}),
          onTurnDone: () => { progress.turnsDone++; plan.onProgress?.({ ...progress }); },
        });
        results.push(await call.run());
        progress.callsDone++;
        plan.onProgress?.({ ...progress });
      } while (plan.until !== undefined && performance.now() < plan.until);
    };
    await Promise.all(Array.from({ length: plan.calls }, (_, i) => slot(i)));
  } finally {
    await endpoint?.close();
  }
  return { results, samples: collectSamples(results), wallMs: performance.now() - started };
}

/** Calls start on different lines, so concurrent calls do not all speak the same words. */
function rotate<T>(items: readonly T[], by: number): T[] {
  return items.map((_, i) => items[(i + by) % items.length]!);
}

export function collectSamples(results: readonly CallResult[]): LoadResult['samples'] {
  const s = {
    e2eMs: new SampleSet(), bargeInStopMs: new SampleSet(), setupInviteToOkMs: new SampleSet(), setupAckToFirstAudioMs: new SampleSet(),
    rxPacingJitterMs: new SampleSet(), txPacingJitterMs: new SampleSet(), serverRxJitterMs: new SampleSet(),
  };
  for (const r of results) {
    s.e2eMs.addAll(r.e2eMs);
    s.bargeInStopMs.addAll(r.bargeInStopMs);
    if (r.setupInviteToOkMs !== undefined) s.setupInviteToOkMs.add(r.setupInviteToOkMs);
    if (r.setupAckToFirstAudioMs !== undefined) s.setupAckToFirstAudioMs.add(r.setupAckToFirstAudioMs);
    s.rxPacingJitterMs.addAll(r.rxJitterMs);
    s.txPacingJitterMs.addAll(r.txJitterMs);
    s.serverRxJitterMs.addAll(r.serverJitterMs);
  }
  return s;
}
