/**
 * The bench driver's side of its simulators' thread: a worker thread
 * (simulator-worker.ts) that runs the provider simulators, so the driver's
 * main thread runs the SIP/RTP callers alone. The callers timestamp each
 * packet of the server's audio when its 'message' callback runs: every
 * millisecond their event loop spends elsewhere (websocket frames of every
 * call's audio into the STT simulator, TTS audio generation) would be read as
 * the server's pacing jitter.
 *
 * The worker loads TypeScript itself (workers do not inherit the tsx loader
 * in Node 20): media/worker-boot.ts.
 *
 * Failure is never a hang: `started` rejects when the thread fails to start
 * the simulators, throws, or exits before it said `started`; a crash after
 * that goes to `onCrash`. stop() asks the thread to close the simulators and
 * terminates it if it does not end in time.
 */
import type { Worker } from 'node:worker_threads';
import type { SimulatorProfile } from '../simulators/index.ts';
import { startTsWorker } from '../../media/worker-boot.ts';
import {
  SIMULATOR_WORKER_MARK, type FromSimulatorThread, type SimulatorKnobs, type SimulatorWorkerData, type StartedSimulators, type ToSimulatorThread,
} from './driver-protocol.ts';

export class SimulatorThreadError extends Error {
  override name = 'SimulatorThreadError';
}

export interface SimulatorThreadOptions {
  profile: SimulatorProfile;
  knobs: SimulatorKnobs;
  apiKey: string;
  /** The worker's entry module, a path or file URL (default simulator-worker.ts); tests substitute misbehaving ones. */
  entry?: string;
  /** Extra process.argv for the worker (tests: the fault a substitute entry plays). */
  argv?: string[];
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class SimulatorThread {
  /** Resolves once the simulators listen; rejects if the thread fails or dies first. */
  readonly started: Promise<StartedSimulators>;
  private readonly worker: Worker;
  private state: 'starting' | 'running' | 'stopping' | 'exited' = 'starting';
  private error: Error | undefined;
  private settleStarted!: { resolve: (s: StartedSimulators) => void; reject: (e: Error) => void };
  private crashHandler: ((error: SimulatorThreadError) => void) | undefined;
  private closedAck: (() => void) | undefined;
  private readonly exited: Promise<void>;
  private stopping: Promise<void> | undefined;

  constructor(options: SimulatorThreadOptions) {
    const data: SimulatorWorkerData = { mark: SIMULATOR_WORKER_MARK, profile: options.profile, knobs: options.knobs, apiKey: options.apiKey };
    this.started = new Promise((resolve, reject) => { this.settleStarted = { resolve, reject }; });
    this.started.catch(() => undefined);
    this.worker = startTsWorker(options.entry ?? new URL('./simulator-worker.ts', import.meta.url), { workerData: data, argv: options.argv ?? [] });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: FromSimulatorThread) => this.onMessage(message));
    this.worker.on('error', (error) => { this.error ??= error; });
    this.worker.on('messageerror', (error) => { this.error ??= error; void this.worker.terminate(); });
    this.worker.on('exit', (code) => this.onExit(code));
  }

  /** Called once if the thread dies after it started the simulators (not when stopped). */
  onCrash(handler: (error: SimulatorThreadError) => void): void {
    this.crashHandler = handler;
  }

  /** Closes the simulators and ends the thread; terminates it after timeoutMs. Safe to call twice. */
  stop(timeoutMs = 5000): Promise<void> {
    this.stopping ??= this.doStop(timeoutMs);
    return this.stopping;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    if (this.state === 'exited') return;
    const wasStarting = this.state === 'starting';
    this.state = 'stopping';
    if (wasStarting) this.settleStarted.reject(new SimulatorThreadError('the simulators\' thread was stopped while starting'));
    const acked = new Promise<void>((resolve) => { this.closedAck = resolve; });
    this.worker.postMessage({ type: 'close' } satisfies ToSimulatorThread);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs); });
    // Still starting, it does not listen for `close` yet: terminate it at once.
    if (!wasStarting) await Promise.race([acked, this.exited, timedOut]);
    clearTimeout(timer);
    await this.worker.terminate();
    await this.exited;
  }

  private onMessage(message: FromSimulatorThread): void {
    if (message.type === 'started') {
      if (this.state !== 'starting') return;
      this.state = 'running';
      const { type: _type, ...started } = message;
      this.settleStarted.resolve(started);
    } else if (message.type === 'failed') {
      if (this.state === 'starting') {
        this.state = 'stopping';
        this.settleStarted.reject(new SimulatorThreadError(`the provider simulators failed to start: ${message.message}`));
      }
    } else if (message.type === 'closed') {
      this.closedAck?.();
    }
  }

  private onExit(code: number): void {
    const was = this.state;
    this.state = 'exited';
    if (was === 'starting') {
      const why = this.error ? `crashed while starting: ${errorText(this.error)}` : `ended while starting (exit code ${code})`;
      this.settleStarted.reject(new SimulatorThreadError(`the provider simulators' thread ${why}`));
    } else if (was === 'running') {
      const why = this.error ? `crashed: ${errorText(this.error)}` : `ended unexpectedly (exit code ${code})`;
      this.crashHandler?.(new SimulatorThreadError(`the provider simulators' thread ${why}`));
    }
  }
}
