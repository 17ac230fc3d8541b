/**
 * The messages between `smartalex bench` (the parent, which holds the server
 * under test when in-process) and the bench driver (driver.ts, a child
 * process whose main thread runs the load generator and, in-process, whose
 * worker thread runs the provider simulators: simulator-thread.ts). Sent
 * over the fork IPC channel with `serialization: 'advanced'` (structured
 * clone), one request at a time:
 *
 *   driver -> ready
 *   parent -> start-simulators          driver -> simulators | failed
 *   parent -> run-load                  driver -> progress* then load-finished,
 *                                                 results* (chunks), load-done | failed
 *   parent -> close                     driver -> closed, then exits
 *
 * The driver exits on its own when the IPC channel closes (parent gone), and
 * with SIMULATORS_CRASHED_EXIT_CODE when its simulators' thread dies after it
 * started: it first sends `crashed` with the reason, then exits, so the
 * parent always has the cause before (IPC messages are delivered before the
 * child's 'close') or together with the exit it caused.
 *
 * Between the driver's main thread and its simulators' thread (a
 * worker_threads MessagePort): the start parameters go in workerData
 * (SimulatorWorkerData); the thread answers `started` or `failed`; on `close`
 * it stops the simulators and answers `closed`.
 */
import type { SimulatorLatency, SimulatorProfile } from '../simulators/index.ts';
import type { CallResult } from './caller.ts';
import type { LoadPlan } from './load.ts';

/** A load as the parent asks the driver for it: the load plan without callbacks, plus how the driver runs it. */
export type DriverLoadPlan = Omit<LoadPlan, 'signal' | 'onProgress'> & {
  /**
   * Nice value for the driver's callers thread (Linux: only that thread), so the instrument's own
   * timestamps and sends are not the first to wait when every core is busy. Undefined: unchanged.
   */
  callerNiceness?: number;
};

/** A load plan as it crosses the process boundary: `until` as time left, since performance.now() has another origin in the child. */
export type WireLoadPlan = Omit<DriverLoadPlan, 'until'> & { untilInMs?: number };

export interface SimulatorKnobs {
  sttFinalDelayMs?: number;
  llmTtftMs?: number;
  ttsTtfbMs?: number;
}

/** What the driver process itself used while it ran one load (its callers, plus the simulators' thread in-process). */
export interface DriverUsage {
  pid: number;
  /** process.cpuUsage() user + system of the driver over the load: all its threads (the callers' and the simulators'). */
  cpuMs: number;
  wallMs: number;
  rssBeforeMB: number;
  rssPeakMB: number;
  /** Whether the provider simulators ran in the driver (in its worker thread) during the load. */
  simulators: boolean;
}

export type ToDriver =
  | { type: 'start-simulators'; profile: SimulatorProfile; knobs: SimulatorKnobs; apiKey: string }
  | { type: 'run-load'; plan: WireLoadPlan }
  | { type: 'close' };

export type FromDriver =
  | { type: 'ready'; pid: number }
  | ({ type: 'simulators' } & StartedSimulators)
  | { type: 'progress'; callsStarted: number; callsDone: number; turnsDone: number }
  | { type: 'load-finished'; wallMs: number; usage: DriverUsage; callCount: number }
  | { type: 'results'; results: CallResult[] }
  | { type: 'load-done' }
  | { type: 'failed'; message: string }
  /** Unsolicited: the driver is about to exit because of this (sent before it exits). */
  | { type: 'crashed'; message: string }
  | { type: 'closed' };

/** Call results are sent after the load in chunks of this many calls, so a long soak is not one huge message. */
export const RESULT_CHUNK = 200;
/** Progress is sent at most this often (ms): it is read on the server's thread. */
export const PROGRESS_INTERVAL_MS = 200;

/** The driver's exit code when its simulators' thread dies after it started (the run is void: the server lost its providers). */
export const SIMULATORS_CRASHED_EXIT_CODE = 5;

/** The provider simulators, once they listen: their base URLs, latency and the thread that runs them. */
export interface StartedSimulators {
  deepgramUrl: string;
  openaiBaseUrl: string;
  latency: SimulatorLatency;
  /** The driver's thread that runs them (a worker thread, not the callers'). */
  thread: SimulatorThreadInfo;
}

/** Which thread of the driver runs the simulators. */
export interface SimulatorThreadInfo {
  /** worker_threads threadId (the driver's main thread is 0). */
  threadId: number;
  /** The OS thread id (Linux, from /proc/thread-self), so /proc/<pid>/task/<tid> is that thread; undefined elsewhere. */
  tid?: number;
}

/** workerData.mark of the simulators' thread (its entry module runs only when it sees it). */
export const SIMULATOR_WORKER_MARK = 'smartalex-bench-simulators';

export interface SimulatorWorkerData {
  mark: string;
  profile: SimulatorProfile;
  knobs: SimulatorKnobs;
  apiKey: string;
}

export type ToSimulatorThread = { type: 'close' };

export type FromSimulatorThread =
  | ({ type: 'started' } & StartedSimulators)
  | { type: 'failed'; message: string }
  /** Unsolicited: the driver is about to exit because of this (sent before it exits). */
  | { type: 'crashed'; message: string }
  | { type: 'closed' };
