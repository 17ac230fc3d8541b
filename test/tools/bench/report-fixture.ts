/** Synthetic call results and reports for the schema and baseline tests. */
import type { CallResult } from '../../../tools/bench/caller.ts';
import { collectSamples } from '../../../tools/bench/load.ts';
import { buildReport } from '../../../tools/bench/report.ts';
import type { BenchReport } from '../../../tools/bench/report-schema.ts';

export function fakeCall(e2e: number[], overrides: Partial<CallResult> = {}): CallResult {
  return {
    answered: true, completed: true, e2eMs: e2e, bargeInStopMs: [80], turns: e2e.length, turnsReplied: e2e.length, bargeIns: 1, bargeInsStopped: 1,
    rxJitterMs: [0.2, 0.4, 1.1], txJitterMs: [0.1, 0.3], rxPackets: 100, rxExpected: 100, txPackets: 400, serverJitterMs: [0.5],
    serverReport: { cumulativeLost: 0, extendedHighestSeq: 1400, jitterMs: 0.5 }, agentVoicedPackets: 90, agentEchoPackets: 0, greetingHeard: true,
    setupInviteToOkMs: 12, setupAckToFirstAudioMs: 30, ...overrides,
  };
}

export function fakeReport(e2e: number[], overrides: Partial<CallResult> = {}): BenchReport {
  const results = [fakeCall(e2e, overrides), fakeCall(e2e.map((v) => v + 1), overrides)];
  return buildReport({
    config: {
      mode: 'target', target: 'sip:127.0.0.1:5060', number: '1000', calls: 2, turns: e2e.length, bargeIn: true, profile: null, simulatorLatency: null,
      voiceThresholdDbfs: -45, turnTimeoutMs: 10_000, ramp: false, soakDurationS: null,
    },
    load: { results, samples: collectSamples(results), wallMs: 1000 },
    probe: undefined,
    rssSamples: [],
    startedAt: new Date(0),
    finishedAt: new Date(1000),
  });
}
