/// <reference lib="dom" />
/**
 * Ops: this tenant's turn latency over the last hour (p50 and p99 per stage
 * from the stored traces, GET /v1/analytics/latency, refreshed every 30 s)
 * and, for owners and admins, the latest `smartalex bench` reports (GET
 * /v1/ops/bench-reports), each with its latency metrics plotted as SVG
 * drawn here (no chart library, nothing fetched from elsewhere).
 */
import { useEffect, useState } from 'preact/hooks';
import { api, messageOf } from '../api.ts';
import { formatTime } from '../format.ts';
import { can, type Me } from '../session.ts';

interface StageFigures { count: number; p50: number | null; p99: number | null }
interface Latency { since: string; windowMinutes: number; turns: number; stages: Record<string, StageFigures> }
interface BenchMetric { name: string; unit: string; source: string; description: string; count: number; p50: number; p95: number; p99: number; max: number }
interface BenchReport {
  file: string; startedAt: string; durationS: number; mode: string | null; profile: string | null; agentMode: string;
  calls: { attempted: number; answered: number; failed: number; turns: number; turnsReplied: number };
  machine: { cpus: number | null; cpuModel: string | null }; metrics: BenchMetric[];
}

const STAGES: [string, string][] = [['e2eMs', 'End to end'], ['endpointingMs', 'Endpointing'], ['sttFinalMs', 'STT final'], ['llmTtftMs', 'LLM first token'], ['ttsTtfbMs', 'TTS first byte'], ['overheadMs', 'Server overhead']];
const REFRESH_MS = 30_000;
const ms = (v: number | null): string => (v === null ? '—' : `${Math.round(v)} ms`);
/** A figure to one decimal at most (reports hold raw floats). */
const fig = (v: number): string => String(Math.round(v * 10) / 10);

/** Horizontal bars, p50 solid and p99 light behind it, on one scale; the numbers are in the table beside it too. */
function PercentilePlot(props: { title: string; rows: { label: string; p50: number; p99: number }[] }) {
  const max = Math.max(1, ...props.rows.map((r) => r.p99));
  const labelW = 150; const barW = 420; const rowH = 22; const height = props.rows.length * rowH + 24;
  const x = (v: number): number => labelW + (v / max) * barW;
  return (
    <svg class="plot" role="img" aria-label={props.title} viewBox={`0 0 ${labelW + barW + 90} ${height}`} width={labelW + barW + 90} height={height}>
      <title>{props.title}</title>
      {props.rows.map((r, i) => (
        <g key={r.label} transform={`translate(0 ${i * rowH})`}>
          <text x={labelW - 6} y={15} text-anchor="end">{r.label}</text>
          <rect class="p99" x={labelW} y={3} width={Math.max(1, x(r.p99) - labelW)} height={16} />
          <rect class="p50" x={labelW} y={3} width={Math.max(1, x(r.p50) - labelW)} height={16} />
          <text x={x(r.p99) + 4} y={15}>{Math.round(r.p50)} / {Math.round(r.p99)}</text>
        </g>
      ))}
      <g transform={`translate(${labelW} ${props.rows.length * rowH + 4})`}>
        <rect class="p50" x={0} y={4} width={12} height={12} /><text x={16} y={14}>p50</text>
        <rect class="p99" x={60} y={4} width={12} height={12} /><text x={76} y={14}>p99 (ms)</text>
      </g>
    </svg>
  );
}

function ServerLatency() {
  const [latency, setLatency] = useState<Latency | null>(null);
  const [error, setError] = useState('');
  useEffect(() => {
    const load = (): void => { api<Latency>('GET', '/v1/analytics/latency?windowMinutes=60').then(setLatency, (err) => setError(messageOf(err))); };
    load();
    const timer = setInterval(load, REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!latency) return <p>Loading…</p>;
  const plotted = STAGES.flatMap(([key, label]) => { const s = latency.stages[key]; return s && s.p50 !== null && s.p99 !== null ? [{ label, p50: s.p50, p99: s.p99 }] : []; });
  return (
    <div data-testid="server-latency">
      <p>{latency.turns} traced turn{latency.turns === 1 ? '' : 's'} since {formatTime(latency.since)}.</p>
      <table>
        <thead><tr><th scope="col">Stage</th><th scope="col">p50</th><th scope="col">p99</th><th scope="col">Turns</th></tr></thead>
        <tbody>{STAGES.map(([key, label]) => { const s = latency.stages[key]; return <tr key={key} data-stage={key}><th scope="row">{label}</th><td>{ms(s?.p50 ?? null)}</td><td>{ms(s?.p99 ?? null)}</td><td>{s?.count ?? 0}</td></tr>; })}</tbody>
      </table>
      {plotted.length > 0 && <PercentilePlot title="Turn latency, last hour: p50 and p99 per stage (ms)" rows={plotted} />}
    </div>
  );
}

function BenchReports() {
  const [reports, setReports] = useState<{ directory: boolean; items: BenchReport[] } | null>(null);
  const [error, setError] = useState('');
  useEffect(() => { api<{ directory: boolean; items: BenchReport[] }>('GET', '/v1/ops/bench-reports?limit=5').then(setReports, (err) => setError(messageOf(err))); }, []);
  if (error) return <p role="alert" class="error">{error}</p>;
  if (!reports) return <p>Loading…</p>;
  if (reports.items.length === 0) return <p>{reports.directory ? 'No bench report in the reports directory yet (smartalex bench --json <file>).' : 'No reports directory is configured (SMARTALEX_BENCH_REPORTS_DIR).'}</p>;
  return (
    <>
      {reports.items.map((r) => {
        const latencyMetrics = r.metrics.filter((m) => m.unit === 'ms');
        return (
          <article key={r.file} class="bench" data-testid="bench-report">
            <h3>{r.file}</h3>
            <p>{formatTime(r.startedAt)}, {Math.round(r.durationS)} s, {r.mode ?? '—'}{r.profile ? ` (${r.profile})` : ''}, agent {r.agentMode};
              {' '}{r.calls.answered}/{r.calls.attempted} calls answered, {r.calls.failed} failed, {r.calls.turnsReplied}/{r.calls.turns} turns replied;
              {' '}{r.machine.cpus ?? '?'} CPUs{r.machine.cpuModel ? ` (${r.machine.cpuModel})` : ''}.</p>
            {latencyMetrics.length > 0 && <PercentilePlot title={`${r.file}: p50 and p99 per metric (ms)`} rows={latencyMetrics.map((m) => ({ label: m.name, p50: m.p50, p99: m.p99 }))} />}
            <table>
              <thead><tr><th scope="col">Metric</th><th scope="col">Source</th><th scope="col">p50</th><th scope="col">p95</th><th scope="col">p99</th><th scope="col">max</th><th scope="col">n</th></tr></thead>
              <tbody>{r.metrics.map((m) => <tr key={m.name}><th scope="row" title={m.description}>{m.name}</th><td>{m.source}</td><td>{fig(m.p50)} {m.unit}</td><td>{fig(m.p95)}</td><td>{fig(m.p99)}</td><td>{fig(m.max)}</td><td>{m.count}</td></tr>)}</tbody>
            </table>
          </article>
        );
      })}
    </>
  );
}

export function OpsPage(props: { me: Me }) {
  return (
    <section>
      <h1>Ops</h1>
      <h2>Turn latency, last hour</h2>
      <ServerLatency />
      {can(props.me, 'ops:read') && (<><h2>Latest bench reports</h2><BenchReports /></>)}
    </section>
  );
}
