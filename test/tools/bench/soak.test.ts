/**
 * Soak mode (--duration) against the in-process server: one echo call kept
 * going for a few seconds gives a `soak` section with one memory sample a
 * second (RSS and the main thread's heap in use) and the three slopes, and
 * the summary line names them.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { reportSchema } from '../../../tools/bench/report-schema.ts';
import { runBench } from '../../../tools/bench/run.ts';

const DURATION_S = 8;

test('a short soak reports RSS and heap samples and their slopes', async () => {
  let out = '';
  const io = { stdout: { write: (t: string) => { out += t; return true; } }, stderr: { write: () => true, isTTY: false } };
  const outcome = await runBench({
    number: '1000', calls: 1, turns: 1, bargeIn: false, profile: 'instant', voiceThresholdDbfs: -45, turnTimeoutMs: 4000,
    bindAddress: '127.0.0.1', thresholdPercent: 10, ramp: false, rampMax: 10, durationS: DURATION_S, agentMode: 'echo', warmupCalls: 0, callerNiceness: 5,
  }, io);
  const report = outcome.report;
  assert.ok(reportSchema.safeParse(report).success);
  const soak = report.soak;
  assert.ok(soak, 'a soak section');
  assert.is(soak.durationS, DURATION_S);
  assert.ok(soak.rss.length >= DURATION_S - 2, `about one sample a second (got ${soak.rss.length})`);
  for (const p of soak.rss) {
    assert.ok(p.rssMB > 0);
    assert.ok(p.heapUsedMB !== undefined && p.heapUsedMB > 0 && p.heapUsedMB < p.rssMB, 'heap in use is part of the resident set');
  }
  const times = soak.rss.map((p) => p.tS);
  assert.equal(times, [...times].sort((a, b) => a - b), 'samples in time order');
  assert.ok(Number.isFinite(soak.slopeMBPerMin));
  assert.ok(Number.isFinite(soak.secondHalfSlopeMBPerMin));
  assert.ok(Number.isFinite(soak.heapSlopeMBPerMin));
  assert.ok(report.calls.answered >= 1);
  assert.is(report.config.callerNiceness, 5, 'the callers\' priority is recorded');
  assert.match(out, /soak: 1 calls for 8 s, RSS slope -?[\d.]+ MB\/min over \d+ samples; second half: RSS -?[\d.]+ MB\/min, main-thread heap -?[\d.]+ MB\/min/);
});

test.run();
