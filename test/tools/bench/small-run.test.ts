/**
 * A small run end to end: 2 calls x 1 turn with a barge-in, against an
 * in-test SIP agent (test-agent.ts) and against the in-process server with
 * the simulators. Each must give a complete, valid report with the right
 * counts; --json/--html files are written; --baseline exits 3 on a
 * regression; an echoing agent is reported as `echo`. In-process, the
 * per-turn traces come raw from the server's onTurnTrace feed, the report
 * names the database backend and counts its statements, and
 * `agentMode: 'echo'` calls a provisioned echo agent (on a fresh database on
 * a Postgres server when the tests have one). The callers (and in-process
 * the simulators) run in the bench driver process, which the report names
 * apart from the server's process.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { METRIC_NAMES, reportSchema, type BenchReport } from '../../../tools/bench/report-schema.ts';
import { EXIT_REGRESSION, runBench, type BenchOptions } from '../../../tools/bench/run.ts';
import { postgresUnderTest } from '../../support/databases.ts';
import { fakeReport } from './report-fixture.ts';
import { startTestAgent } from './test-agent.ts';

const REPLY_DELAY_MS = 150;

function options(extra: Partial<BenchOptions>): BenchOptions {
  return {
    number: '1000', calls: 2, turns: 1, bargeIn: true, profile: 'instant', voiceThresholdDbfs: -45, turnTimeoutMs: 5000,
    bindAddress: '127.0.0.1', thresholdPercent: 10, ramp: false, rampMax: 10, warmupCalls: 0, ...extra,
  };
}

function quietIo(): { io: { stdout: { write(t: string): boolean }; stderr: { write(t: string): boolean; isTTY: boolean } }; text: () => string } {
  let out = '';
  return { io: { stdout: { write: (t) => { out += t; return true; } }, stderr: { write: () => true, isTTY: false } }, text: () => out };
}

function assertComplete(report: BenchReport): void {
  assert.ok(reportSchema.safeParse(report).success);
  assert.equal(Object.keys(report.metrics).sort(), [...METRIC_NAMES].sort());
  assert.is(report.calls.attempted, 2);
  assert.is(report.calls.answered, 2);
  assert.is(report.calls.turns, 2);
  assert.is(report.metrics.setupInviteToOkMs.stats?.count, 2);
  assert.ok((report.metrics.rxPacingJitterMs.stats?.count ?? 0) > 0, 'agent packets were timed');
  assert.ok((report.metrics.txPacingJitterMs.stats?.count ?? 0) > 0, 'own sends were timed');
  assert.ok(report.rtp.callerToServer.packets > 0);
  assert.ok(report.machine.cpus >= 1 && report.machine.nodeVersion === process.version);
}

test('against an in-test replying agent: counts, e2e and barge-in, files, baseline regression exits 3', async () => {
  const agent = await startTestAgent('reply', { replyDelayMs: REPLY_DELAY_MS });
  const dir = mkdtempSync(join(tmpdir(), 'bench-small-'));
  try {
    // A baseline whose call setup took 0 ms: this run's setup is slower, a regression.
    const baselinePath = join(dir, 'baseline.json');
    writeFileSync(baselinePath, JSON.stringify(fakeReport([REPLY_DELAY_MS], { setupInviteToOkMs: 0 })));
    const { io, text } = quietIo();
    const outcome = await runBench(options({ target: agent.target, json: join(dir, 'r.json'), html: join(dir, 'r.html'), baseline: baselinePath }), io);
    const report = outcome.report;
    assertComplete(report);
    assert.is(agent.calls, 2);
    assert.is(report.config.mode, 'target');
    assert.is(report.agentMode, 'conversation');
    assert.is(report.calls.completed, 2);
    assert.is(report.calls.turnsReplied, 2);
    assert.is(report.metrics.e2eMs.stats?.count, 2);
    // The agent cannot answer before it heard the end of speech and waited its delay.
    for (const e2e of report.metrics.e2eMs.samples) assert.ok(e2e >= REPLY_DELAY_MS && e2e < 3000, `e2e ${e2e}`);
    assert.is(report.calls.bargeIns, 2);
    assert.is(report.metrics.bargeInStopMs.stats?.count, report.calls.bargeInsStopped);
    assert.is(report.metrics.setupAckToFirstAudioMs.stats?.count, 2, 'the greeting tone was heard');
    assert.is(report.server.inProcess, false);
    assert.is(report.server.pid, undefined);
    assert.is(report.benchDriver?.runs, 'callers', 'against a target the driver runs the callers only');
    assert.ok(report.benchDriver!.pid !== process.pid);
    assert.is(report.server.traces, 'absent');
    assert.is(report.metrics.overheadMs.stats, null);
    assert.is(outcome.exitCode, EXIT_REGRESSION);
    assert.match(text(), /setupInviteToOkMs\s+p50.*REGRESSION/);
    assert.match(text(), /e2eMs/);
    const written = JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')) as BenchReport;
    assert.equal(written, JSON.parse(JSON.stringify(report)));
    const html = readFileSync(join(dir, 'r.html'), 'utf8');
    assert.match(html, /<svg[^>]*aria-label="histogram"/);
    assert.match(html, /<svg[^>]*aria-label="CDF"/);
    assert.not.match(html, /<script|<link|src=|href=/, 'self-contained');
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await agent.close();
  }
});

test('an echoing agent is reported as echo, not as a fast conversation', async () => {
  const agent = await startTestAgent('echo');
  try {
    const { io } = quietIo();
    const outcome = await runBench(options({ target: agent.target, calls: 1, bargeIn: false }), io);
    assert.is(outcome.report.agentMode, 'echo');
    assert.is(outcome.exitCode, 0);
    assert.match(outcome.report.metrics.e2eMs.note ?? '', /echo/);
  } finally {
    await agent.close();
  }
});

test('against the in-process server with the simulators: a complete report with server-side numbers', async () => {
  const { io } = quietIo();
  // The default warm-up (min(calls, 10) = 2 calls, discarded) runs first: the counts below are the measured calls only.
  const { warmupCalls: _none, ...withDefaultWarmup } = options({ bargeIn: false, turnTimeoutMs: 4000 });
  const outcome = await runBench(withDefaultWarmup, io);
  const report = outcome.report;
  assertComplete(report);
  assert.is(report.config.mode, 'in-process');
  assert.is(report.config.profile, 'instant');
  assert.ok(report.config.simulatorLatency !== null);
  assert.ok(report.server.inProcess);
  assert.ok((report.metrics.eventLoopLagMs.stats?.count ?? 0) > 0);
  assert.ok((report.metrics.serverRssMB.stats?.count ?? 0) > 0);
  // The server's adaptive jitter buffer: one mean depth per call, at least one frame.
  assert.is(report.metrics.serverJitterBufferMs.stats?.count, 2);
  assert.ok(report.metrics.serverJitterBufferMs.samples.every((ms) => ms >= 20), String(report.metrics.serverJitterBufferMs.samples));
  assert.ok((report.server.cpuMsPerCall ?? 0) > 0);
  assert.ok(report.agentMode !== 'unknown', report.agentModeEvidence);
  assert.ok(report.server.tracesNote.length > 0);
  assert.is(outcome.exitCode, 0);
  assert.is(report.minorVersion, 6);
  assert.is(report.config.transport, 'sip');
  assert.is(report.config.warmupCalls, 2);
  // The server is alone in this process; the callers and simulators ran in the bench driver, another process.
  assert.is(report.server.pid, process.pid);
  const driver = report.benchDriver;
  assert.ok(driver, 'the bench driver reports its own use');
  assert.ok(driver.pid !== process.pid);
  assert.is(driver.runs, 'callers+simulators');
  assert.ok((driver.cpuMsPerCall ?? 0) > 0 && driver.rssPeakMB > 0);
  assert.match(report.server.note, /alone/);
  assert.not.match(report.metrics.serverRssMB.note ?? '', /also runs/);
  assert.is(report.config.agent, 'conversation');
  assert.is(report.config.database, 'pglite');
  // Raw traces from RunningServer.onTurnTrace: one per replied turn, exact samples, no histogram estimate.
  assert.is(report.agentMode, 'conversation', report.agentModeEvidence);
  assert.is(report.server.traces, 'raw');
  assert.is(report.metrics.overheadMs.source, 'server-trace');
  assert.ok((report.metrics.overheadMs.stats?.count ?? 0) >= 1, report.server.tracesNote);
  assert.is(report.metrics.overheadMs.samples.length, report.metrics.overheadMs.stats?.count);
  const db = report.server.database;
  assert.ok(db, 'database work is reported');
  assert.is(db.backend, 'pglite');
  assert.ok(db.statements > 0 && db.transactions > 0, 'a call reaches the database');
  assert.is(db.statementsPerCall, db.statements / 2);
  assert.ok(db.statementMs !== null);
  // Preemptive answers are counted from the server's counter (the window's share only).
  const spec = report.server.speculation;
  assert.ok(spec, 'speculation is reported');
  assert.ok(Number.isInteger(spec.used) && Number.isInteger(spec.wasted));
  assert.is(spec.wastedPerCall, spec.wasted / 2);
});

test('in-process echo agent: the provisioned echo number answers, echo is observed, no traces', async () => {
  const url = await postgresUnderTest('the --database-url half of the echo run');
  const usePostgres = url !== undefined;
  const { io } = quietIo();
  const outcome = await runBench(options({ calls: 1, bargeIn: false, agentMode: 'echo', ...(usePostgres ? { databaseUrl: url! } : {}) }), io);
  const report = outcome.report;
  assert.ok(reportSchema.safeParse(report).success);
  assert.is(report.config.agent, 'echo');
  assert.is(report.config.number, '2000');
  assert.is(report.config.database, usePostgres ? 'postgres' : 'pglite');
  assert.is(report.server.database?.backend, report.config.database);
  assert.is(report.calls.answered, 1);
  assert.is(report.agentMode, 'echo', report.agentModeEvidence);
  assert.ok((report.metrics.rxPacingJitterMs.stats?.count ?? 0) > 0);
  assert.is(report.rtp.callerToServer.view, 'server-rtcp');
  assert.is(report.metrics.overheadMs.stats, null, 'an echo has no turn traces');
  assert.is(outcome.exitCode, 0);
});

test.run();
