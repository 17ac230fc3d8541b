/**
 * The tenant's own turn latency over a recent window: p50 and p99 of each
 * stage (DESIGN.md vocabulary) across the stored per-turn traces
 * (transcript_turns.latency), computed in Postgres (percentile_cont, so the
 * rows never leave the database). Only turns that carry a trace count; a
 * stage missing from a trace (e.g. no STT on an echo agent) is left out of
 * that stage's figures, not counted as zero.
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { rows } from '../migrate.ts';
import { withTenant } from '../tenant-scope.ts';

export const LATENCY_STAGES = ['e2eMs', 'endpointingMs', 'sttFinalMs', 'llmTtftMs', 'ttsTtfbMs', 'overheadMs'] as const;
export type LatencyStage = (typeof LATENCY_STAGES)[number];

export interface StagePercentiles { count: number; p50: number | null; p99: number | null }
export interface LatencyPercentiles { since: Date; turns: number; stages: Record<LatencyStage, StagePercentiles> }

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export async function turnLatencyPercentiles(db: Database, tenantId: string, since: Date): Promise<LatencyPercentiles> {
  // One pass per stage over the window's traced turns; the stage names are constants, never input.
  const stageColumns = LATENCY_STAGES.map((s) => sql`
    count(((latency->>${s})::float8)) as ${sql.identifier(`${s}_n`)},
    percentile_cont(0.5) within group (order by (latency->>${s})::float8) as ${sql.identifier(`${s}_p50`)},
    percentile_cont(0.99) within group (order by (latency->>${s})::float8) as ${sql.identifier(`${s}_p99`)}`);
  const result = await withTenant(db, tenantId, (tx) => tx.execute(sql`
    select count(*) as turns, ${sql.join(stageColumns, sql`, `)}
    from transcript_turns
    where at >= ${since.toISOString()}::timestamptz and latency is not null and jsonb_typeof(latency) = 'object'`));
  const row = rows<Record<string, unknown>>(result)[0] ?? {};
  const stages = Object.fromEntries(LATENCY_STAGES.map((s) => [s, {
    count: Number(row[`${s}_n`] ?? 0), p50: num(row[`${s}_p50`]), p99: num(row[`${s}_p99`]),
  }])) as Record<LatencyStage, StagePercentiles>;
  return { since, turns: Number(row.turns ?? 0), stages };
}
