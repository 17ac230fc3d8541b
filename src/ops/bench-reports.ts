/**
 * The latest `smartalex bench` reports for the ops view: the JSON files
 * (tools/bench/report-schema.ts, schema "smartalex-bench-report") in the
 * configured reports directory and its immediate subdirectories (run-all.sh
 * writes bench-results/<time>/*.json), newest first by modification time.
 * Only what the view shows is kept: when, against what, the call counts and
 * each metric's summary; files that are not bench reports are skipped. The
 * schema lives in tools/, which src/ does not import, so the few fields read
 * here are checked on their own.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';

const MAX_FILE_BYTES = 16 * 1024 * 1024;

const stats = z.object({ count: z.number(), p50: z.number(), p95: z.number(), p99: z.number(), max: z.number() });
const fileSchema = z.object({
  schema: z.literal('smartalex-bench-report'),
  version: z.number(),
  startedAt: z.string(),
  durationS: z.number(),
  machine: z.object({ cpus: z.number(), cpuModel: z.string() }).partial().optional(),
  config: z.object({ mode: z.string(), calls: z.number(), turns: z.number(), profile: z.string().nullable() }).partial(),
  agentMode: z.string(),
  calls: z.object({ attempted: z.number(), answered: z.number(), failed: z.number(), turns: z.number(), turnsReplied: z.number() }).partial(),
  metrics: z.record(z.string(), z.object({ unit: z.string(), source: z.string(), description: z.string(), stats: stats.nullable() }).partial()),
});

export interface BenchMetricSummary { name: string; unit: string; source: string; description: string; count: number; p50: number; p95: number; p99: number; max: number }
export interface BenchReportSummary {
  file: string; startedAt: string; durationS: number; mode: string | null; profile: string | null; agentMode: string;
  calls: { attempted: number; answered: number; failed: number; turns: number; turnsReplied: number };
  machine: { cpus: number | null; cpuModel: string | null };
  metrics: BenchMetricSummary[];
}

async function jsonFiles(dir: string): Promise<{ path: string; mtimeMs: number }[]> {
  const found: { path: string; mtimeMs: number }[] = [];
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isFile() && e.name.endsWith('.json')) found.push({ path, mtimeMs: (await stat(path)).mtimeMs });
    else if (e.isDirectory()) {
      for (const inner of await readdir(path, { withFileTypes: true }).catch(() => [])) {
        if (!inner.isFile() || !inner.name.endsWith('.json')) continue;
        const p = join(path, inner.name);
        found.push({ path: p, mtimeMs: (await stat(p)).mtimeMs });
      }
    }
  }
  return found.sort((a, b) => b.mtimeMs - a.mtimeMs);
}

function summarise(file: string, report: z.infer<typeof fileSchema>): BenchReportSummary {
  const metrics = Object.entries(report.metrics).flatMap(([name, m]) => (m.stats ? [{
    name, unit: m.unit ?? '', source: m.source ?? '', description: m.description ?? '',
    count: m.stats.count, p50: m.stats.p50, p95: m.stats.p95, p99: m.stats.p99, max: m.stats.max,
  }] : []));
  return {
    file, startedAt: report.startedAt, durationS: report.durationS, mode: report.config.mode ?? null, profile: report.config.profile ?? null, agentMode: report.agentMode,
    calls: { attempted: report.calls.attempted ?? 0, answered: report.calls.answered ?? 0, failed: report.calls.failed ?? 0, turns: report.calls.turns ?? 0, turnsReplied: report.calls.turnsReplied ?? 0 },
    machine: { cpus: report.machine?.cpus ?? null, cpuModel: report.machine?.cpuModel ?? null },
    metrics,
  };
}

/** Up to `limit` bench reports under `dir`, newest first (a missing directory is no report). */
export async function latestBenchReports(dir: string, limit: number): Promise<BenchReportSummary[]> {
  const out: BenchReportSummary[] = [];
  for (const { path } of await jsonFiles(dir)) {
    if (out.length >= limit) break;
    if ((await stat(path)).size > MAX_FILE_BYTES) continue;
    let parsed: unknown;
    try { parsed = JSON.parse(await readFile(path, 'utf8')); } catch { continue; }
    const report = fileSchema.safeParse(parsed);
    if (report.success) out.push(summarise(relative(dir, path), report.data));
  }
  return out;
}
