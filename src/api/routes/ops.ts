/**
 * The ops view's figures: the tenant's own turn latency percentiles over a
 * recent window (p50 / p99 of e2e, endpointing, STT, LLM, TTS and server
 * overhead, from the stored per-turn traces; analytics:read, like any
 * tenant analytics), and the latest `smartalex bench` reports from the
 * server's reports directory (ops:read, owners and admins: they describe
 * the server, not a tenant).
 */
import { z } from 'zod';
import { LATENCY_STAGES, turnLatencyPercentiles } from '../../../storage/index.ts';
import { latestBenchReports } from '../../ops/bench-reports.ts';
import { defineRoute } from '../route.ts';
import { served } from './resource-support.ts';

const stage = z.object({
  count: z.number().int().describe('Turns whose trace has this stage'),
  p50: z.number().nullable().describe('ms; null without samples'),
  p99: z.number().nullable(),
});

const latencySchema = z.object({
  since: z.string().describe('Start of the window (ISO 8601)'),
  windowMinutes: z.number().int(),
  turns: z.number().int().describe('Traced turns in the window'),
  stages: z.object(Object.fromEntries(LATENCY_STAGES.map((s) => [s, stage])) as Record<(typeof LATENCY_STAGES)[number], typeof stage>),
}).meta({ id: 'LatencyPercentiles' });

const benchMetric = z.object({
  name: z.string(), unit: z.string(), source: z.string(), description: z.string(),
  count: z.number(), p50: z.number(), p95: z.number(), p99: z.number(), max: z.number(),
});
const benchReportSchema = z.object({
  file: z.string().describe('Path under the reports directory'),
  startedAt: z.string(), durationS: z.number(), mode: z.string().nullable(), profile: z.string().nullable(), agentMode: z.string(),
  calls: z.object({ attempted: z.number(), answered: z.number(), failed: z.number(), turns: z.number(), turnsReplied: z.number() }),
  machine: z.object({ cpus: z.number().nullable(), cpuModel: z.string().nullable() }),
  metrics: z.array(benchMetric).describe('Each measured metric\'s summary (see docs/bench-report.md)'),
}).meta({ id: 'BenchReportSummary' });

export const opsRoutes = [
  defineRoute({
    method: 'GET', url: '/analytics/latency', tag: 'analytics', summary: 'Turn latency percentiles (p50, p99 per stage) over the last window, from the stored per-turn traces',
    permission: 'analytics:read',
    query: z.strictObject({ windowMinutes: z.coerce.number().int().min(1).max(7 * 24 * 60).default(60).describe('Default 60') }),
    response: latencySchema,
    handler: async ({ ctx, query }) => {
      const since = new Date(ctx.now().getTime() - query.windowMinutes * 60_000);
      const p = await served(() => turnLatencyPercentiles(ctx.db, ctx.tenantId, since));
      return { since: p.since.toISOString(), windowMinutes: query.windowMinutes, turns: p.turns, stages: p.stages };
    },
  }),
  defineRoute({
    method: 'GET', url: '/ops/bench-reports', tag: 'ops', summary: 'The latest `smartalex bench` reports in the server\'s reports directory (newest first)',
    permission: 'ops:read',
    query: z.strictObject({ limit: z.coerce.number().int().min(1).max(20).default(5) }),
    response: z.object({ directory: z.boolean().describe('False when no reports directory is configured'), items: z.array(benchReportSchema) }),
    handler: async ({ ctx, query }) => {
      const dir = ctx.deps.settings.benchReportsDir;
      return { directory: Boolean(dir), items: dir ? await latestBenchReports(dir, query.limit) : [] };
    },
  }),
];
