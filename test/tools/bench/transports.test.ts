/**
 * `smartalex bench --transport sip|webrtc|ws`: the same small run (2 calls x
 * 1 turn, the in-process server with the simulators, the conversation agent)
 * over each way in, through the real server: SIP/RTP, a Node WebRTC peer
 * (node-datachannel in the bench driver, loopback host candidates, no STUN)
 * and a Twilio Media Streams client. Each report is valid, names its
 * transport, and every call was answered and replied to; the server's own
 * numbers (CPU per call, RSS, raw turn traces) are there on each. No timing
 * thresholds: the figures belong in the README, not here.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { exitAfterNativePeers } from '../../../media/webrtc/native-exit.ts';
import { BENCH_TRANSPORTS, type BenchTransport } from '../../../tools/bench/caller-leg.ts';
import { reportSchema, type BenchReport } from '../../../tools/bench/report-schema.ts';
import { runBench } from '../../../tools/bench/run.ts';

const CALLS = 2;

async function smallRun(transport: BenchTransport): Promise<BenchReport> {
  const { report } = await runBench({
    transport, number: '1000', calls: CALLS, turns: 1, bargeIn: false, profile: 'instant', voiceThresholdDbfs: -45,
    // Generous: a busy 2-core machine can hold a reply up for seconds.
    turnTimeoutMs: 30_000, bindAddress: '127.0.0.1', thresholdPercent: 10, ramp: false, rampMax: 10, warmupCalls: 0,
  }, { stdout: { write: () => true }, stderr: { write: () => true, isTTY: false } });
  return report;
}

for (const transport of BENCH_TRANSPORTS) {
  test(`--transport ${transport}: every call answered and replied to, the report's shape and the server's numbers`, async () => {
    const report = await smallRun(transport);
    const parsed = reportSchema.safeParse(report);
    assert.ok(parsed.success, parsed.success ? '' : parsed.error.message);
    assert.is(report.config.transport, transport);
    assert.equal(report.calls.failures, {}, `failures over ${transport}`);
    assert.is(report.calls.attempted, CALLS);
    assert.is(report.calls.answered, CALLS);
    assert.is(report.calls.turns, CALLS);
    assert.is(report.calls.turnsReplied, CALLS, 'every call produced its turn');
    assert.is(report.metrics.e2eMs.stats?.count, CALLS);
    assert.is(report.metrics.setupInviteToOkMs.stats?.count, CALLS);
    assert.ok(report.rtp.callerToServer.packets > 0 && report.rtp.serverToCaller.packets > 0, 'audio both ways');
    assert.is(report.agentMode, 'conversation', report.agentModeEvidence);
    assert.is(report.server.traces, 'raw');
    assert.ok((report.metrics.overheadMs.stats?.count ?? 0) >= 1, report.server.tracesNote);
    assert.ok((report.server.cpuMsPerCall ?? 0) > 0);
    assert.ok((report.metrics.serverRssMB.stats?.count ?? 0) > 0);
    assert.ok(report.benchDriver && report.benchDriver.pid !== process.pid, 'the callers ran in the bench driver, not in the server\'s process');
    // RTP transports time the agent's packets against their timestamps; a media stream's messages carry none.
    if (transport === 'ws') assert.is(report.metrics.rxPacingJitterMs.stats, null);
    else assert.ok((report.metrics.rxPacingJitterMs.stats?.count ?? 0) > 0);
  });
}

test('webrtc and ws need the in-process server, which signs their tokens', async () => {
  for (const transport of ['webrtc', 'ws'] as const) {
    const refused = await runBench({
      transport, target: 'sip:127.0.0.1:5060', number: '1000', calls: 1, turns: 1, bargeIn: false, profile: 'instant', voiceThresholdDbfs: -45,
      turnTimeoutMs: 1000, bindAddress: '127.0.0.1', thresholdPercent: 10, ramp: false, rampMax: 10, warmupCalls: 0,
    }).then(() => undefined, (error: unknown) => error);
    assert.instance(refused, Error);
    assert.match((refused as Error).message, /in-process/);
  }
});

// The server's WebRTC peers (and node-datachannel's threads) live in this process: exit once uvu has printed its summary.
test.after(() => exitAfterNativePeers());

test.run();
