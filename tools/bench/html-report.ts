/**
 * --html: one self-contained HTML file (inline CSS and SVG, no scripts, no
 * external assets) with the summary table and, per metric with samples, a
 * histogram and a CDF plot drawn from the report's raw samples.
 */
import { METRIC_NAMES, type BenchReport, type MetricEntry } from './report-schema.ts';
import { cdf, histogram } from './stats.ts';

const W = 420;
const H = 200;
const PAD = { left: 48, right: 12, top: 12, bottom: 32 };

function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function num(v: number | null | undefined, digits = 1): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

function axes(xMin: number, xMax: number, yLabel: string, yMaxLabel: string, unit: string): string {
  const x0 = PAD.left, y0 = H - PAD.bottom, x1 = W - PAD.right, y1 = PAD.top;
  return `<line x1="${x0}" y1="${y0}" x2="${x1}" y2="${y0}" class="axis"/><line x1="${x0}" y1="${y0}" x2="${x0}" y2="${y1}" class="axis"/>`
    + `<text x="${x0}" y="${H - 10}" class="tick">${esc(num(xMin))}</text><text x="${x1}" y="${H - 10}" class="tick" text-anchor="end">${esc(num(xMax))} ${esc(unit)}</text>`
    + `<text x="${x0 - 4}" y="${y1 + 8}" class="tick" text-anchor="end">${esc(yMaxLabel)}</text><text x="${x0 - 4}" y="${y0}" class="tick" text-anchor="end">0</text>`
    + `<text x="12" y="${(y0 + y1) / 2}" class="tick" transform="rotate(-90 12 ${(y0 + y1) / 2})" text-anchor="middle">${esc(yLabel)}</text>`;
}

export function histogramSvg(samples: readonly number[], unit: string): string {
  const bins = histogram(samples, 30);
  if (bins.length === 0) return '';
  const lo = bins[0]!.from, hi = bins[bins.length - 1]!.to;
  const maxCount = Math.max(...bins.map((b) => b.count));
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const span = hi - lo || 1;
  const bars = bins.map((b) => {
    const x = PAD.left + ((b.from - lo) / span) * plotW;
    const w = Math.max(1, ((b.to - b.from) / span) * plotW - 1);
    const h = (b.count / maxCount) * plotH;
    return `<rect x="${x.toFixed(1)}" y="${(H - PAD.bottom - h).toFixed(1)}" width="${(bins.length === 1 ? plotW : w).toFixed(1)}" height="${h.toFixed(1)}" class="bar"><title>${esc(`${num(b.from)}-${num(b.to)} ${unit}: ${b.count}`)}</title></rect>`;
  }).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="histogram">${axes(lo, hi, 'count', String(maxCount), unit)}${bars}</svg>`;
}

export function cdfSvg(samples: readonly number[], unit: string): string {
  const points = cdf(samples, 300);
  if (points.length === 0) return '';
  const lo = Math.min(points[0]!.value, 0), hi = points[points.length - 1]!.value;
  const span = hi - lo || 1;
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const xy = (v: number, f: number): string => `${(PAD.left + ((v - lo) / span) * plotW).toFixed(1)},${(H - PAD.bottom - f * plotH).toFixed(1)}`;
  let path = `M${xy(points[0]!.value, 0)}`;
  let prev = 0;
  for (const p of points) {
    path += ` L${xy(p.value, prev)} L${xy(p.value, p.fraction)}`;
    prev = p.fraction;
  }
  const p99y = (H - PAD.bottom - 0.99 * plotH).toFixed(1);
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="CDF">${axes(lo, hi, 'fraction', '1', unit)}`
    + `<line x1="${PAD.left}" y1="${p99y}" x2="${W - PAD.right}" y2="${p99y}" class="guide"><title>p99</title></line><path d="${path}" class="cdf"/></svg>`;
}

function metricSection(name: string, m: MetricEntry): string {
  if (m.samples.length === 0) return '';
  return `<section><h3>${esc(name)} <small>${esc(m.description)}</small></h3>`
    + `<p>p50 ${num(m.stats?.p50)} · p95 ${num(m.stats?.p95)} · p99 ${num(m.stats?.p99)} · max ${num(m.stats?.max)} ${esc(m.unit)} (${m.stats?.count ?? 0} samples${m.samplesTruncated ? `, plotted from ${m.samples.length}` : ''})</p>`
    + `<div class="plots">${histogramSvg(m.samples, m.unit)}${cdfSvg(m.samples, m.unit)}</div></section>`;
}

/** Server CPU and memory, and what they include; the bench driver's own use beside them. */
function serverParagraph(report: BenchReport): string {
  const s = report.server;
  const server = s.inProcess
    ? `<p>Server${s.pid !== undefined ? ` (pid ${s.pid})` : ''}: CPU ${num(s.cpuMsPerCall, 0)} ms per call (${num(s.cpuPercentOfOneCore, 0)}% of one core), RSS peak ${num(s.rssPeakMB, 0)} MB. <small>${esc(s.note)}</small></p>`
    : `<p>Server: remote. <small>${esc(s.note)}</small></p>`;
  const d = report.benchDriver;
  const driver = d
    ? `<p>Bench driver (pid ${d.pid}, ${esc(d.runs === 'callers+simulators' ? 'callers + provider simulators in a worker thread' : 'callers')}): CPU ${num(d.cpuMsPerCall, 0)} ms per call (${num(d.cpuPercentOfOneCore, 0)}% of one core), RSS peak ${num(d.rssPeakMB, 0)} MB. <small>${esc(d.note)}</small></p>`
    : '';
  return server + driver;
}

export function renderHtml(report: BenchReport): string {
  const rows = METRIC_NAMES.map((n) => {
    const m = report.metrics[n];
    const s = m.stats;
    return `<tr><td>${esc(n)}</td><td>${esc(m.unit)}</td><td>${s?.count ?? 0}</td><td>${num(s?.p50)}</td><td>${num(s?.p95)}</td><td>${num(s?.p99)}</td><td>${num(s?.max)}</td><td>${esc(s ? m.source : 'not measured')}</td><td>${esc(m.note ?? '')}</td></tr>`;
  }).join('\n');
  const c = report.calls;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>smartalex bench ${esc(report.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}
td:first-child,th:first-child,td:last-child{text-align:left}small{color:#666;font-weight:normal}.plots{display:flex;gap:1em;flex-wrap:wrap}
.axis{stroke:#444}.tick{font-size:10px;fill:#444}.bar{fill:#4a7fb5}.cdf{fill:none;stroke:#c0392b;stroke-width:1.5}.guide{stroke:#aaa;stroke-dasharray:3 3}
</style></head><body>
<h1>smartalex bench</h1>
<p>${esc(report.startedAt)} · ${report.durationS.toFixed(0)} s · ${esc(report.config.mode === 'in-process' ? `in-process server, ${report.config.profile} profile` : report.config.target)} · ${report.config.calls} calls × ${report.config.turns} turns</p>
<p>Machine: ${report.machine.cpus} × ${esc(report.machine.cpuModel)}, ${report.machine.totalMemMB} MB, Node ${esc(report.machine.nodeVersion)}</p>
<p>Agent mode (observed on the wire): <b>${esc(report.agentMode)}</b> (${esc(report.agentModeEvidence)})</p>
<p>Calls: ${c.answered}/${c.attempted} answered, ${c.completed} completed, ${c.failed} failed; turns ${c.turnsReplied}/${c.turns} replied; barge-ins ${c.bargeInsStopped}/${c.bargeIns} stopped.
Loss server→caller ${num(report.rtp.serverToCaller.lossPercent, 3)}% (caller view); caller→server ${report.rtp.callerToServer.view === 'server-rtcp' ? `${num(report.rtp.callerToServer.lossPercent, 3)}% (server RTCP)` : 'unknown (no RTCP report)'}.</p>
${serverParagraph(report)}
<table><thead><tr><th>metric</th><th>unit</th><th>count</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>source</th><th>note</th></tr></thead><tbody>
${rows}
</tbody></table>
${report.ramp ? `<h2>Ramp</h2><p>Largest sustainable concurrency: <b>${report.ramp.maxSustainableCalls}</b> (${esc(report.ramp.stoppedBecause)})</p>` : ''}
${report.soak ? `<h2>Soak</h2><p>RSS slope ${num(report.soak.slopeMBPerMin, 3)} MB/min over ${report.soak.durationS} s; second half: RSS ${num(report.soak.secondHalfSlopeMBPerMin ?? null, 3)} MB/min, main-thread heap ${num(report.soak.heapSlopeMBPerMin ?? null, 3)} MB/min</p>` : ''}
<h2>Distributions</h2>
${METRIC_NAMES.map((n) => metricSection(n, report.metrics[n])).join('\n')}
</body></html>
`;
}
