/**
 * The JSON report's contract: built reports validate against the zod schema
 * and against the exported JSON Schema (checked with ajv, draft 2020-12);
 * the checked-in docs/bench-report.schema.json is up to date.
 */
import { readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Ajv2020 from 'ajv/dist/2020.js';
import { METRIC_NAMES, reportJsonSchema, reportSchema, type BenchReport } from '../../../tools/bench/report-schema.ts';
import { reportJsonSchemaText, SCHEMA_FILE } from '../../../tools/bench/write-schema.ts';
import { fakeReport } from './report-fixture.ts';

const ajv = new Ajv2020.default({ strict: false, allErrors: true });
const validate = ajv.compile(reportJsonSchema());

test('a built report passes the zod schema and the JSON Schema, with every metric present', () => {
  const report = JSON.parse(JSON.stringify(fakeReport([400, 420, 440]))) as BenchReport;
  assert.ok(reportSchema.safeParse(report).success);
  assert.ok(validate(report), JSON.stringify(validate.errors));
  assert.equal(Object.keys(report.metrics).sort(), [...METRIC_NAMES].sort());
  assert.is(report.metrics.e2eMs.stats?.count, 6);
  assert.is(report.metrics.overheadMs.stats, null);
  assert.ok((report.metrics.overheadMs.note ?? '').length > 0, 'an absent metric says why');
  assert.is(report.rtp.callerToServer.view, 'server-rtcp');
});

test('broken reports are rejected by both', () => {
  const base = JSON.parse(JSON.stringify(fakeReport([400])));
  const noMetric = structuredClone(base);
  delete noMetric.metrics.e2eMs;
  const badVersion = { ...structuredClone(base), version: 2 };
  const badStats = structuredClone(base);
  badStats.metrics.e2eMs.stats.p50 = 'fast';
  const badMode = { ...structuredClone(base), agentMode: 'psychic' };
  for (const broken of [noMetric, badVersion, badStats, badMode]) {
    assert.not.ok(reportSchema.safeParse(broken).success);
    assert.not.ok(validate(broken));
  }
});

test('docs/bench-report.schema.json is generated from the current schema (npx tsx tools/bench/write-schema.ts)', () => {
  assert.is(readFileSync(SCHEMA_FILE, 'utf8'), reportJsonSchemaText());
});

test.run();
