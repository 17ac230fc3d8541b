/**
 * `smartalex bench-campaign` run small: it prints the pacing table (asked vs
 * achieved calls per second, gap median and p99), the webhook delivery
 * latency (median, p99) and the machine, and writes the same as JSON. Only
 * the report's shape and counts are checked: the figures themselves are the
 * benchmark's to report, not a test's to judge.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { CampaignBenchReport } from '../../../tools/bench/campaign.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));

test('`smartalex bench-campaign` prints asked vs achieved calls per second, webhook latency median and p99, the machine; --json the same', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smartalex-bench-campaign-'));
  try {
    const json = join(dir, 'campaign.json');
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, 'bin/smartalex.js'), 'bench-campaign', '--contacts', '5', '--rates', '20,50', '--hold-ms', '5', '--json', json], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      // A bound for a hung run only (a loaded machine is slow, never this slow).
      const guard = setTimeout(() => child.kill('SIGKILL'), 300_000);
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      child.on('error', reject);
      child.on('close', (exit) => { clearTimeout(guard); resolve({ code: exit, stdout: out }); });
    });
    assert.is(code, 0, stdout);
    assert.match(stdout, /asked\/s\s+achieved\/s\s+accuracy\s+gap median ms\s+gap p99 ms/);
    assert.match(stdout, /^\s+20\.00\s+\d+\.\d+\s+\d+\.\d%/m);
    assert.match(stdout, /^\s+50\.00\s+\d+\.\d+\s+\d+\.\d%/m);
    assert.match(stdout, /webhook delivery latency .*12 deliveries.*median [\d.]+ ms, p99 [\d.]+ ms/);
    assert.match(stdout, /machine: \d+ x /);
    const report = JSON.parse(await readFile(json, 'utf8')) as CampaignBenchReport;
    assert.equal(report.pacing.map((p) => [p.askedCps, p.dials, p.gapMs.count]), [[20, 5, 4], [50, 5, 4]]);
    for (const p of report.pacing) {
      assert.ok(p.achievedCps > 0 && Number.isFinite(p.achievedCps), `achieved ${p.achievedCps}`);
      assert.ok(Math.abs(p.accuracyPercent - (p.achievedCps / p.askedCps) * 100) < 1e-9);
      assert.ok(p.gapMs.p99 >= p.gapMs.p50);
    }
    assert.is(report.webhooks.delivered, 12, 'every contact\'s event and each campaign\'s completion');
    assert.is(report.webhooks.latencyMs.count, 12);
    assert.ok(report.webhooks.latencyMs.p50 >= 0 && report.webhooks.latencyMs.p99 >= report.webhooks.latencyMs.p50);
    assert.ok(report.machine.cpus >= 1 && typeof report.machine.nodeVersion === 'string');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
