/**
 * The bench driver: a child process of `smartalex bench` (forked by
 * driver-client.ts) that runs the benchmark's load generator (the SIP/RTP
 * callers, load.ts) and, in-process mode, the provider simulators. The server
 * under test then has its process to itself, so its CPU, RSS and event-loop
 * lag (server-probe.ts) are its own, as in production where the providers are
 * remote and the callers are carriers.
 *
 * Protocol: driver-protocol.ts. It exits when told to close, and on its own
 * when the IPC channel to the parent closes (the parent exited or was killed).
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import type { AllSimulators } from '../../pipeline/simulators/index.ts';
import { RESULT_CHUNK, PROGRESS_INTERVAL_MS, type DriverUsage, type FromDriver, type ToDriver, type WireLoadPlan } from './driver-protocol.ts';
import { runLoad } from './load.ts';

const MB = 1024 * 1024;

function send(message: FromDriver): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected || !process.send) { resolve(); return; }
    try {
      // The callback fires once the message is handed to the channel (backpressure for the result chunks).
      process.send(message, undefined, {}, () => resolve());
    } catch {
      resolve();
    }
  });
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

let simulators: AllSimulators | undefined;
let busy = false;

async function startSimulators(message: Extract<ToDriver, { type: 'start-simulators' }>): Promise<void> {
  if (simulators) throw new Error('the simulators are already running');
  // Loaded only when asked: with --target the driver runs callers only.
  const { startAllSimulators } = await import('../../pipeline/simulators/index.ts');
  const knobs = Object.fromEntries(Object.entries(message.knobs).filter(([, v]) => v !== undefined));
  simulators = await startAllSimulators(message.profile, { ...knobs, apiKey: message.apiKey });
  await send({ type: 'simulators', deepgramUrl: simulators.deepgram.url, openaiBaseUrl: simulators.openai.baseUrl, latency: { ...simulators.latency } });
}

async function load(plan: WireLoadPlan): Promise<void> {
  const { untilInMs, ...rest } = plan;
  let last = 0;
  let trailing: NodeJS.Timeout | undefined;
  let latest: { callsStarted: number; callsDone: number; turnsDone: number } | undefined;
  const flush = (): void => {
    trailing = undefined;
    if (!latest) return;
    last = performance.now();
    void send({ type: 'progress', ...latest });
    latest = undefined;
  };
  const rssBeforeMB = process.memoryUsage.rss() / MB;
  let rssPeakMB = rssBeforeMB;
  const rssTimer = setInterval(() => { rssPeakMB = Math.max(rssPeakMB, process.memoryUsage.rss() / MB); }, 1000);
  const cpuStart = process.cpuUsage();
  const wallStart = performance.now();
  let result;
  try {
    result = await runLoad({
      ...rest,
      ...(untilInMs !== undefined ? { until: performance.now() + untilInMs } : {}),
      onProgress: (p) => {
        latest = p;
        if (performance.now() - last >= PROGRESS_INTERVAL_MS) flush();
        else trailing ??= setTimeout(flush, PROGRESS_INTERVAL_MS);
      },
    });
  } finally {
    clearInterval(rssTimer);
    if (trailing) clearTimeout(trailing);
  }
  const cpu = process.cpuUsage(cpuStart);
  const wallMs = performance.now() - wallStart;
  rssPeakMB = Math.max(rssPeakMB, process.memoryUsage.rss() / MB);
  flush();
  const usage: DriverUsage = { pid: process.pid, cpuMs: (cpu.user + cpu.system) / 1000, wallMs, rssBeforeMB, rssPeakMB, simulators: simulators !== undefined };
  // Measurement is over: the parent stops its server probe on this, before the results cross.
  await send({ type: 'load-finished', wallMs: result.wallMs, usage, callCount: result.results.length });
  for (let i = 0; i < result.results.length; i += RESULT_CHUNK) await send({ type: 'results', results: result.results.slice(i, i + RESULT_CHUNK) });
  await send({ type: 'load-done' });
}

async function close(): Promise<void> {
  const sims = simulators;
  simulators = undefined;
  await sims?.close().catch(() => undefined);
  await send({ type: 'closed' });
  process.exit(0);
}

async function onMessage(message: ToDriver): Promise<void> {
  if (message.type === 'close') { await close(); return; }
  if (busy) { await send({ type: 'failed', message: `bench driver: ${message.type} while another request runs` }); return; }
  busy = true;
  try {
    if (message.type === 'start-simulators') await startSimulators(message);
    else await load(message.plan);
  } catch (error) {
    await send({ type: 'failed', message: errorText(error) });
  } finally {
    busy = false;
  }
}

function main(): void {
  if (!process.send) {
    process.stderr.write('this is the bench driver; `smartalex bench` starts it (it needs an IPC channel)\n');
    process.exit(2);
  }
  // The parent is gone (exited, crashed or killed): so is the benchmark.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (message: ToDriver) => { void onMessage(message); });
  void send({ type: 'ready', pid: process.pid });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
