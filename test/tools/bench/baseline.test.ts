/**
 * --baseline: improvements and changes within the threshold pass; a p50 or
 * p99 regression beyond it is reported (and makes `bench` exit 3); a small
 * absolute wobble is not a regression; unreadable baselines fail clearly.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BaselineError, compareReports, comparisonText, readBaseline } from '../../../tools/bench/baseline.ts';
import { fakeReport } from './report-fixture.ts';

const e2e = Array.from({ length: 100 }, (_, i) => 400 + i);

test('an improvement is no regression', () => {
  const before = fakeReport(e2e);
  const after = fakeReport(e2e.map((v) => v - 100));
  const result = compareReports(before, after, 10);
  assert.is(result.regressions.length, 0);
  const row = result.rows.find((r) => r.metric === 'e2eMs' && r.stat === 'p50')!;
  assert.ok(row.changePercent < -15);
  assert.match(comparisonText(result, 10), /better/);
});

test('a regression beyond the threshold is reported, p50 and p99', () => {
  const before = fakeReport(e2e);
  const after = fakeReport(e2e.map((v) => v * 1.2));
  const result = compareReports(before, after, 10);
  assert.equal(result.regressions.map((r) => `${r.metric}.${r.stat}`), ['e2eMs.p50', 'e2eMs.p99']);
  assert.match(comparisonText(result, 10), /REGRESSION/);
  assert.match(comparisonText(result, 10), /2 regression\(s\) beyond 10%/);
});

test('a slower p99 alone is caught', () => {
  const before = fakeReport(e2e);
  const tail = e2e.map((v, i) => (i >= 98 ? v + 300 : v));
  const result = compareReports(before, fakeReport(tail), 10);
  assert.equal(result.regressions.map((r) => `${r.metric}.${r.stat}`), ['e2eMs.p99']);
});

test('within the threshold, or a tiny absolute change, is fine', () => {
  const before = fakeReport(e2e);
  assert.is(compareReports(before, fakeReport(e2e.map((v) => v * 1.05)), 10).regressions.length, 0);
  // Jitter 0.4 -> 0.8 ms is +100% but under the 1 ms floor.
  const jittery = fakeReport(e2e, { rxJitterMs: [0.4, 0.8, 1.6] });
  assert.is(compareReports(before, jittery, 10).regressions.length, 0);
  // The same change with a 0 floor counts.
  assert.ok(compareReports(before, jittery, 10, 0).regressions.some((r) => r.metric === 'rxPacingJitterMs'));
  // A higher threshold lets the 20% regression through.
  assert.is(compareReports(before, fakeReport(e2e.map((v) => v * 1.2)), 25).regressions.length, 0);
});

test('untracked metrics do not count; metrics missing on one side are listed', () => {
  const before = fakeReport(e2e);
  const after = fakeReport(e2e, { txJitterMs: [50, 60], setupAckToFirstAudioMs: undefined, greetingHeard: false });
  const result = compareReports(before, after, 10);
  assert.is(result.regressions.length, 0);
  assert.ok(result.missing.some((m) => m.startsWith('setupAckToFirstAudioMs')));
});

test('an in-process baseline from before minor 2 (server shared its process with the benchmark) is flagged', () => {
  const inProcess = (minorVersion: number | undefined) => {
    const r = fakeReport(e2e);
    return { ...r, minorVersion, config: { ...r.config, mode: 'in-process' as const } };
  };
  const old = compareReports(inProcess(1), inProcess(2), 10);
  assert.is(old.cautions.length, 1);
  assert.match(comparisonText(old, 10), /caution: the baseline predates minor 2/);
  assert.is(compareReports(inProcess(undefined), inProcess(2), 10).cautions.length, 1, 'no minorVersion reads as 0');
  assert.is(compareReports(inProcess(2), inProcess(2), 10).cautions.length, 0);
  assert.is(compareReports(fakeReport(e2e), fakeReport(e2e), 10).cautions.length, 0, 'target runs measure no server process');
});

test('readBaseline: validates, and explains what is wrong in one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-baseline-'));
  try {
    const good = join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(fakeReport(e2e)));
    assert.is(readBaseline(good).metrics.e2eMs.stats!.count, 200);
    const notJson = join(dir, 'bad.json');
    writeFileSync(notJson, '{nope');
    assert.throws(() => readBaseline(notJson), (e: Error) => e instanceof BaselineError && /is not JSON/.test(e.message));
    const oldVersion = join(dir, 'old.json');
    writeFileSync(oldVersion, JSON.stringify({ ...fakeReport(e2e), version: 0 }));
    assert.throws(() => readBaseline(oldVersion), /report version 0/);
    assert.throws(() => readBaseline(join(dir, 'missing.json')), /cannot read baseline .*ENOENT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
