/**
 * Places a batch of concurrent benchmark calls from one SIP endpoint and one
 * RTP pacer of the benchmark's own, and aggregates what they measured.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Pacer } from '../../media/rtp/index.ts';
import { SipEndpoint } from '../../media/sip/index.ts';
import { BenchCall, type CallResult } from './caller.ts';
import { SampleSet } from './stats.ts';
import { BARGE_IN_FILE, loadUtterance, TURN_FILES, voicedPayloads, type Utterance } from './utterances.ts';

export interface LoadPlan {
  target: string;
  number: string;
  calls: number;
  turns: number;
  bargeIn: boolean;
  voiceThresholdDbfs: number;
  turnTimeoutMs: number;
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
  const endpoint = await SipEndpoint.create({ host: plan.bindAddress, udpPort: 0, tcpPort: null, guard: false, contactUser: 'bench', userAgent: 'smartalex-bench' });
  const pacer = new Pacer();
  const results: CallResult[] = [];
  const progress = { callsStarted: 0, callsDone: 0, turnsDone: 0 };
  const started = performance.now();
  const stagger = plan.staggerMs ?? 20;
  try {
    const slot = async (index: number): Promise<void> => {
      await sleep(index * stagger);
      do {
        if (plan.signal?.aborted) return;
        progress.callsStarted++;
        plan.onProgress?.({ ...progress });
        const call = new BenchCall({
          endpoint, pacer, target: plan.target, number: plan.number, bindAddress: plan.bindAddress, turns: plan.turns, bargeIn: plan.bargeIn,
          utterances: rotate(turns, index), bargeInUtterance: bargeIn, ownVoicedPayloads: ownVoiced, voiceThresholdDbfs: plan.voiceThresholdDbfs,
          turnTimeoutMs: plan.turnTimeoutMs, ...(plan.signal ? { signal: plan.signal } : {}),
          onTurnDone: () => { progress.turnsDone++; plan.onProgress?.({ ...progress }); },
        });
        results.push(await call.run());
        progress.callsDone++;
        plan.onProgress?.({ ...progress });
      } while (plan.until !== undefined && performance.now() < plan.until);
    };
    await Promise.all(Array.from({ length: plan.calls }, (_, i) => slot(i)));
  } finally {
    await endpoint.close();
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
