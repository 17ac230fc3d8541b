/**
 * The plain-text summary printed on stdout: one row per metric with count,
 * p50, p95, p99 and max, then calls, loss and the server side.
 */
import { METRIC_NAMES, type BenchReport } from './report-schema.ts';

function fmt(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  return value.toFixed(digits);
}

export function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ').trimEnd()).join('\n');
}

export function summaryText(report: BenchReport): string {
  const rows: string[][] = [['metric', 'unit', 'count', 'p50', 'p95', 'p99', 'max', 'source']];
  for (const name of METRIC_NAMES) {
    const m = report.metrics[name];
    const s = m.stats;
    rows.push([name, m.unit, s ? String(s.count) : '0', fmt(s?.p50), fmt(s?.p95), fmt(s?.p99), fmt(s?.max), s ? m.source : 'not measured']);
  }
  const c = report.calls;
  const rx = report.rtp.serverToCaller;
  const tx = report.rtp.callerToServer;
  const lines = [
    `smartalex bench: ${report.config.calls} calls x ${report.config.turns} turns over ${report.config.transport ?? 'sip'} against ${report.config.mode === 'in-process' ? `in-process server (${report.config.profile} profile, ${report.config.agent ?? 'conversation'} agent, ${report.config.database ?? 'pglite'} database)` : report.config.target}`,
    `agent mode (observed): ${report.agentMode}; ${report.agentModeEvidence}`,
    `calls: ${c.answered}/${c.attempted} answered, ${c.completed} completed, ${c.failed} failed${Object.keys(c.failures).length ? ` (${Object.entries(c.failures).map(([k, v]) => `${k}: ${v}`).join(', ')})` : ''}; turns ${c.turnsReplied}/${c.turns} replied; barge-ins ${c.bargeInsStopped}/${c.bargeIns} stopped`,
    '',
    formatTable(rows),
    '',
    `loss server->caller (caller view): ${fmt(rx.lossPercent, 3)}% of ${rx.expected ?? 0} packets`,
    tx.view === 'server-rtcp'
      ? `loss caller->server (server's RTCP): ${fmt(tx.lossPercent, 3)}% of ${tx.expected ?? 0} packets`
      : `loss caller->server: unknown (no RTCP report from the server; caller sent ${tx.packets} packets)`,
    report.server.inProcess
      ? `server${report.server.pid !== undefined ? ` (pid ${report.server.pid}, alone in its process: main thread + its own threads)` : ''}: CPU ${fmt(report.server.cpuMsPerCall, 0)} ms per call (${fmt(report.server.cpuPercentOfOneCore, 0)}% of one core), RSS peak ${fmt(report.server.rssPeakMB, 0)} MB; traces: ${report.server.traces} (${report.server.tracesNote})`
      : `server: remote (${report.server.note})`,
  ];
  const driver = report.benchDriver;
  if (driver) {
    lines.push(`bench driver (pid ${driver.pid}, separate process: ${driver.runs === 'callers+simulators' ? 'callers + provider simulators in a worker thread' : 'callers'}): CPU ${fmt(driver.cpuMsPerCall, 0)} ms per call (${fmt(driver.cpuPercentOfOneCore, 0)}% of one core), RSS peak ${fmt(driver.rssPeakMB, 0)} MB`);
  }
  const db = report.server.database;
  if (db) {
    const top = db.byStatement.slice(0, 3).map((b) => `${fmt(b.perCall, 1)}x ${b.statement.slice(0, 60)}`).join(' | ');
    lines.push(`database: ${db.backend}, ${fmt(db.statementsPerCall, 1)} statements and ${fmt(db.transactionsPerCall, 1)} transactions per call` +
      (db.statementMs !== null ? `, ${fmt(db.statementMs, 0)} ms in statements (max ${fmt(db.maxStatementMs, 1)} ms)` : '') +
      `; event-loop stalls > ${db.stalls.thresholdMs} ms: ${db.stalls.count} (${db.stalls.withDatabaseWork} during database work, max ${fmt(db.stalls.maxMs, 0)} ms)`);
    if (top) lines.push(`  most frequent: ${top}`);
  }
  const spec = report.server.speculation;
  if (spec) {
    lines.push(`speculative answers (started on the STT final during the hangover): ${spec.used} used, ${spec.wasted} wasted ` +
      `(${fmt(spec.wastedPercent, 1)}%, ${fmt(spec.wastedPerCall, 2)} per call; the providers bill wasted requests)`);
  }
  if (report.ramp) lines.push(`ramp: largest sustainable concurrency ${report.ramp.maxSustainableCalls} calls (${report.ramp.stoppedBecause})`);
  if (report.soak) {
    const s = report.soak;
    lines.push(`soak: ${s.calls} calls for ${s.durationS} s, RSS slope ${fmt(s.slopeMBPerMin, 3)} MB/min over ${s.rss.length} samples; second half: RSS ${fmt(s.secondHalfSlopeMBPerMin ?? null, 3)} MB/min, main-thread heap ${fmt(s.heapSlopeMBPerMin ?? null, 3)} MB/min`);
  }
  lines.push(`machine: ${report.machine.cpus} x ${report.machine.cpuModel}, ${report.machine.totalMemMB} MB, Node ${report.machine.nodeVersion}`);
  return lines.join('\n') + '\n';
}
