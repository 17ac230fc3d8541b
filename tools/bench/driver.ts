/**
 * The bench driver: a child process of `smartalex bench` (forked by
 * driver-client.ts) that runs the benchmark's load generator (the SIP/RTP
 * callers, load.ts) and, in-process mode, the provider simulators. The server
 * under test then has its process to itself, so its CPU, RSS and event-loop
 * lag (server-probe.ts) are its own, as in production where the providers are
 * remote and the callers are carriers.
 *
 * Threads: the main thread runs the callers only; the simulators run in a
 * worker thread (simulator-thread.ts). The callers are the measuring
 * instrument (they timestamp the server's packets as their callbacks run),
 * so their event loop must not wait behind the simulators' work.
 *
 * Protocol: driver-protocol.ts. It exits when told to close, on its own
 * when the IPC channel to the parent closes (the parent exited or was
 * killed), and with SIMULATORS_CRASHED_EXIT_CODE when the simulators' thread
 * dies after it started (a crash while starting is a `failed` answer).
 *
 * Arguments (tests only): `--simulators-entry FILE [ARG...]` runs FILE as
 * the simulators' thread, with the ARGs in its process.argv.
 */
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import {
  RESULT_CHUNK, PROGRESS_INTERVAL_MS, SIMULATORS_CRASHED_EXIT_CODE, type DriverUsage, type FromDriver, type ToDriver, type WireLoadPlan,
} from './driver-protocol.ts';
import { runLoad } from './load.ts';
import { SimulatorThread } from './simulator-thread.ts';
import { setPriority } from 'node:os';

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

let simulators: SimulatorThread | undefined;
let busy = false;
let closing = false;

/** `--simulators-entry FILE [ARG...]` (tests): a substitute for the simulators' thread. */
function simulatorEntry(argv: readonly string[]): { entry?: string; argv?: string[] } {
  const i = argv.indexOf('--simulators-entry');
  if (i < 0 || argv[i + 1] === undefined) return {};
  return { entry: argv[i + 1]!, argv: argv.slice(i + 2) };
}

async function startSimulators(message: Extract<ToDriver, { type: 'start-simulators' }>): Promise<void> {
  if (simulators) throw new Error('the simulators are already running');
  // With --target there is no simulators' thread: the driver runs callers only.
  const thread = new SimulatorThread({ profile: message.profile, knobs: message.knobs, apiKey: message.apiKey, ...simulatorEntry(process.argv.slice(2)) });
  simulators = thread;
  // After it started, the simulators are the server's providers: without them the run is void. Say why and end (the parent sees the code and this line).
  // The reason crosses the IPC channel first, so the parent has it before it learns of the exit.
  thread.onCrash((error) => {
    if (closing) return;
    closing = true;
    const exit = (): never => process.exit(SIMULATORS_CRASHED_EXIT_CODE);
    setTimeout(exit, 1000); // should the channel or stderr never drain
    void send({ type: 'crashed', message: error.message }).then(() => process.stderr.write(`bench driver: ${error.message}\n`, exit));
  });
  let started;
  try {
    started = await thread.started;
  } catch (error) {
    if (simulators === thread) simulators = undefined;
    await thread.stop(1000);
    throw error;
  }
  await send({ type: 'simulators', ...started });
}

async function load(plan: WireLoadPlan): Promise<void> {
  const { untilInMs, callerNiceness, ...rest } = plan;
  if (callerNiceness !== undefined) {
    // The simulators' thread already exists, so only the callers' thread (this one) changes priority.
    try { setPriority(callerNiceness); } catch (error) { process.stderr.write(`bench driver: could not set the callers' priority to nice ${callerNiceness}: ${(error as NodeJS.ErrnoException).code ?? String(error)}\n`); }
  }
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
  closing = true;
  const sims = simulators;
  simulators = undefined;
  await sims?.stop().catch(() => undefined);
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
