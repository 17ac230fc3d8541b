/**
 * --baseline: compares a run with an earlier report, metric by metric (the
 * ones marked tracked), on p50 and p99. Every tracked metric is "lower is
 * better". A change is a regression when it is worse by more than the
 * threshold percent AND by more than an absolute floor (default 1 ms), so a
 * 0.1 -> 0.2 ms jitter wobble is not a "100% regression".
 */
import { readFileSync } from 'node:fs';
import { METRIC_NAMES, REPORT_VERSION, reportSchema, type BenchReport, type MetricName } from './report-schema.ts';
import { formatTable } from './summary-table.ts';

export interface Comparison {
  metric: MetricName;
  stat: 'p50' | 'p99';
  before: number;
  after: number;
  changePercent: number;
  regression: boolean;
}

export interface ComparisonResult {
  rows: Comparison[];
  regressions: Comparison[];
  /** Tracked metrics measured in one run but not the other. */
  missing: string[];
  /** What makes the two runs measure differently (printed with the table). */
  cautions: string[];
}

/** Since minor 2 the in-process server runs alone in its process (callers and simulators in the bench driver). */
const SEPARATE_DRIVER_MINOR = 2;

export function compareReports(baseline: BenchReport, current: BenchReport, thresholdPercent = 10, minDelta = 1): ComparisonResult {
  const rows: Comparison[] = [];
  const missing: string[] = [];
  for (const metric of METRIC_NAMES) {
    const cur = current.metrics[metric];
    const base = baseline.metrics[metric];
    if (!cur?.tracked) continue;
    if (!cur.stats || !base?.stats) {
      if (cur.stats || base?.stats) missing.push(`${metric} (${cur.stats ? 'not in the baseline' : 'not measured in this run'})`);
      continue;
    }
    for (const stat of ['p50', 'p99'] as const) {
      const before = base.stats[stat];
      const after = cur.stats[stat];
      const changePercent = before === 0 ? (after === 0 ? 0 : Infinity) : ((after - before) / Math.abs(before)) * 100;
      const regression = changePercent > thresholdPercent && after - before > minDelta;
      rows.push({ metric, stat, before, after, changePercent, regression });
    }
  }
  const cautions: string[] = [];
  const separate = (r: BenchReport): boolean => (r.minorVersion ?? 0) >= SEPARATE_DRIVER_MINOR;
  if (baseline.config.mode === 'in-process' && current.config.mode === 'in-process' && separate(baseline) !== separate(current)) {
    const older = separate(baseline) ? 'this run' : 'the baseline';
    cautions.push(`${older} predates minor ${SEPARATE_DRIVER_MINOR}: its in-process server shared its process with the callers and the simulators, so its eventLoopLagMs and server CPU/RSS are not the server's alone`);
  }
  const [before, after] = [baseline.config.transport ?? 'sip', current.config.transport ?? 'sip'];
  if (before !== after) cautions.push(`the baseline came in over ${before}, this run over ${after}: the difference includes the transport's own cost`);
  return { rows, regressions: rows.filter((r) => r.regression), missing, cautions };
}

export function comparisonText(result: ComparisonResult, thresholdPercent: number): string {
  const table = [['metric', 'stat', 'baseline', 'now', 'change', ''], ...result.rows.map((r) => [
    r.metric, r.stat, r.before.toFixed(1), r.after.toFixed(1),
    Number.isFinite(r.changePercent) ? `${r.changePercent >= 0 ? '+' : ''}${r.changePercent.toFixed(1)}%` : 'new',
    r.regression ? 'REGRESSION' : r.changePercent < 0 ? 'better' : '',
  ])];
  const lines = [`against baseline (regression: worse by > ${thresholdPercent}% and > 1 unit):`, formatTable(table)];
  if (result.missing.length) lines.push(`not compared: ${result.missing.join('; ')}`);
  for (const caution of result.cautions) lines.push(`caution: ${caution}`);
  lines.push(result.regressions.length ? `${result.regressions.length} regression(s) beyond ${thresholdPercent}%` : 'no regression beyond the threshold');
  return lines.join('\n') + '\n';
}

export class BaselineError extends Error {
  override name = 'BaselineError';
}

/** Reads and validates a baseline report; a clear one-line error when it is not one. */
export function readBaseline(path: string): BenchReport {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new BaselineError(code ? `cannot read baseline ${path} (${code})` : `baseline ${path} is not JSON`);
  }
  const version = (data as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version !== REPORT_VERSION) throw new BaselineError(`baseline ${path} is report version ${version}; this bench writes version ${REPORT_VERSION}`);
  const parsed = reportSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new BaselineError(`baseline ${path} is not a bench report: ${issue.path.join('.') || 'root'}: ${issue.message}`);
  }
  return parsed.data;
}
