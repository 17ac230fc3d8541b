/**
 * The ops view's routes: GET /v1/analytics/latency computes p50 / p99 of each
 * stage over the window's stored turn traces (only the caller's tenant's,
 * stages missing from a trace left out, turns outside the window left out);
 * GET /v1/ops/bench-reports lists the reports directory's bench reports
 * newest first (one directory down included, other JSON skipped), owners and
 * admins only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addTranscriptTurn, startCall } from '../../../storage/index.ts';
import { apiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

const [backend] = await backends();

function report(startedAt: string, e2eP50: number) {
  const stats = (p50: number) => ({ count: 10, mean: p50, min: p50 / 2, p50, p95: p50 * 1.5, p99: p50 * 2, max: p50 * 3 });
  return {
    schema: 'smartalex-bench-report', version: 1, startedAt, finishedAt: startedAt, durationS: 12,
    machine: { cpuModel: 'test cpu', cpus: 2 }, config: { mode: 'in-process', calls: 4, turns: 3, profile: 'typical' }, agentMode: 'conversation',
    calls: { attempted: 4, answered: 4, completed: 4, failed: 0, turns: 12, turnsReplied: 12 },
    metrics: {
      e2eMs: { unit: 'ms', source: 'caller', description: 'end of speech to first audio', tracked: true, stats: stats(e2eP50), samples: [], samplesTruncated: false },
      bargeInStopMs: { unit: 'ms', source: 'caller', description: 'not measured', tracked: true, stats: null, samples: [], samplesTruncated: false },
    },
  };
}

test('latency percentiles over the window, per stage, only this tenant\'s', async () => {
  const h = await apiHarness(await backend!.open());
  try {
    const tenant = await h.tenant();
    const other = await h.tenant('other');
    const call = async (tenantId: string) => (await startCall(h.db, tenantId, { agentId: null, direction: 'inbound', fromUri: 'sip:a@b', toUri: 'sip:c@d', sipCallId: randomUUID() })).id;
    const callId = await call(tenant);
    for (let i = 1; i <= 100; i++) {
      await addTranscriptTurn(h.db, tenant, {
        callId, seq: i, speaker: 'agent', redacted: { text: 'ok', entities: [] },
        latency: { e2eMs: i * 10, endpointingMs: 200, llmTtftMs: i, ttsTtfbMs: 50, overheadMs: 5, ...(i % 2 ? { sttFinalMs: 100 } : {}) },
      });
    }
    await addTranscriptTurn(h.db, tenant, { callId, seq: 101, speaker: 'caller', redacted: { text: 'no trace', entities: [] } });
    const otherCall = await call(other);
    await addTranscriptTurn(h.db, other, { callId: otherCall, seq: 1, speaker: 'agent', redacted: { text: 'x', entities: [] }, latency: { e2eMs: 99_999 } });

    const viewer = await h.bearer(tenant, 'viewer');
    const res = await h.app.inject({ method: 'GET', url: '/v1/analytics/latency', headers: { authorization: viewer } });
    assert.is(res.statusCode, 200, res.body);
    const body = res.json() as { windowMinutes: number; turns: number; stages: Record<string, { count: number; p50: number | null; p99: number | null }> };
    assert.is(body.windowMinutes, 60);
    assert.is(body.turns, 100, 'traced turns of this tenant only');
    assert.is(body.stages.e2eMs!.count, 100);
    assert.is(body.stages.e2eMs!.p50, 505, 'continuous median of 10..1000');
    assert.ok(Math.abs(body.stages.e2eMs!.p99! - 990.1) < 1e-6, String(body.stages.e2eMs!.p99));
    assert.is(body.stages.sttFinalMs!.count, 50, 'a stage missing from a trace is left out, not zero');
    assert.is(body.stages.sttFinalMs!.p50, 100);
    assert.is(body.stages.endpointingMs!.p99, 200);

    h.clock.advance(2 * 3600_000);
    const later = (await h.app.inject({ method: 'GET', url: '/v1/analytics/latency?windowMinutes=60', headers: { authorization: viewer } })).json() as typeof body;
    assert.is(later.turns, 0, 'two hours on, the window is empty');
    assert.equal(later.stages.e2eMs, { count: 0, p50: null, p99: null });
  } finally {
    await h.close();
    await backend!.cleanup();
  }
});

test('bench reports: newest first, one directory down, non-reports skipped; owners and admins only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-bench-reports-'));
  const h = await apiHarness(await backend!.open(), { settings: { benchReportsDir: dir } });
  try {
    mkdirSync(join(dir, '20261204-120000'));
    writeFileSync(join(dir, 'old.json'), JSON.stringify(report('2026-12-01T00:00:00Z', 300)));
    writeFileSync(join(dir, '20261204-120000', 'lag.json'), JSON.stringify(report('2026-12-04T12:00:00Z', 400)));
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'not a report' }));
    writeFileSync(join(dir, 'broken.json'), '{');
    utimesSync(join(dir, 'old.json'), new Date('2026-12-01T00:00:00Z'), new Date('2026-12-01T00:00:00Z'));
    const tenant = await h.tenant();
    const res = await h.app.inject({ method: 'GET', url: '/v1/ops/bench-reports', headers: { authorization: await h.bearer(tenant, 'admin') } });
    assert.is(res.statusCode, 200, res.body);
    const body = res.json() as { directory: boolean; items: { file: string; startedAt: string; metrics: { name: string; p50: number; p99: number }[] }[] };
    assert.is(body.directory, true);
    assert.equal(body.items.map((r) => r.file), [join('20261204-120000', 'lag.json'), 'old.json']);
    assert.equal(body.items[0]!.metrics.map((m) => m.name), ['e2eMs'], 'a metric without stats is left out');
    assert.is(body.items[0]!.metrics[0]!.p99, 800);
    for (const role of ['manager', 'viewer'] as const) {
      const refused = await h.app.inject({ method: 'GET', url: '/v1/ops/bench-reports', headers: { authorization: await h.bearer(tenant, role) } });
      assert.is(refused.statusCode, 403, role);
    }
  } finally {
    await h.close();
    await backend!.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
