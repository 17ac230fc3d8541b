/**
 * The parent's side of the bench driver (driver.ts): forks it with the tsx
 * loader, starts the provider simulators in it (in-process mode; they run in
 * a worker thread of the driver, its main thread runs the callers), runs
 * loads in it and closes it. One code path for both modes: with --target the driver
 * runs the callers only.
 *
 * Failure is never a hang: the startup handshake and the simulators have
 * timeouts; a driver that exits or crashes rejects whatever is pending with
 * its exit code and the tail of its stderr; close() kills a driver that does
 * not exit in time. The driver exits by itself when this process goes away
 * (it watches the IPC channel's 'disconnect').
 */
import { fork, type ChildProcess } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import type { SimulatorProfile } from '../simulators/index.ts';
import type { CallResult } from './caller.ts';
import type { DriverLoadPlan, DriverUsage, FromDriver, SimulatorKnobs, StartedSimulators, ToDriver, WireLoadPlan } from './driver-protocol.ts';
import { collectSamples, type LoadPlan, type LoadResult } from './load.ts';

export class BenchDriverError extends Error {
  override name = 'BenchDriverError';
}

export interface BenchDriverOptions {
  /** The driver's entry module (default driver.ts); tests substitute misbehaving ones. */
  entry?: string;
  /** Arguments for the entry (tests). */
  args?: string[];
  /** How long the driver may take to load and say it is ready (default 30 s). */
  readyTimeoutMs?: number;
  /** How long starting the simulators may take (default 30 s). */
  simulatorsTimeoutMs?: number;
  /** How long close() waits for the driver to exit before killing it (default 10 s). */
  closeTimeoutMs?: number;
  /** Where the driver's own stdout and stderr go (default this process's stderr, so stdout stays the summary). */
  output?: { write(text: string): unknown };
}

export interface DriverSimulators extends StartedSimulators {
  apiKey: string;
}

export interface DriverLoadResult extends LoadResult {
  driver: DriverUsage;
}

export interface DriverLoadHooks {
  onProgress?: LoadPlan['onProgress'];
  /** The driver finished the calls (its measurements are final); the results are still to cross. */
  onFinished?: () => void;
}

interface Pending {
  stage: string;
  onMessage(message: FromDriver): void;
  fail(error: Error): void;
}

const TAIL_CHARS = 2000;

/** The tsx loader, as a file URL, so the child finds it whatever its cwd and however this process was started (tsx CLI, --import tsx, or the register API of bin/smartalex.js). */
function tsxLoader(): string {
  return import.meta.resolve('tsx');
}

export class BenchDriver {
  private pending: Pending | undefined;
  private exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private readonly exited: Promise<void>;
  private stderrTail = '';
  private closing: Promise<void> | undefined;
  /** Why the driver is ending, when it said so (`crashed`) before exiting. */
  private crash: string | undefined;

  private constructor(private readonly child: ChildProcess, private readonly options: BenchDriverOptions) {
    const output = options.output ?? process.stderr;
    const keep = (chunk: Buffer): void => {
      const text = chunk.toString();
      output.write(text);
      this.stderrTail = (this.stderrTail + text).slice(-TAIL_CHARS);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('message', (message: FromDriver) => {
      // The exit follows; 'close' reports it to whatever is pending, with this reason.
      if (message.type === 'crashed') this.crash = message.message;
      else this.pending?.onMessage(message);
    });
    this.exited = new Promise((resolve) => {
      // 'close', not 'exit': its stdio has ended too, so the tail of its stderr is complete.
      child.on('close', (code, signal) => {
        this.exit = { code, signal };
        const pending = this.pending;
        pending?.fail(new BenchDriverError(`bench driver (pid ${child.pid ?? '?'}) ${this.exitText()} while ${pending.stage}${this.crashText()}${this.tailText()}`));
        resolve();
      });
    });
    child.on('error', (error) => this.pending?.fail(new BenchDriverError(`bench driver: ${error.message}`)));
  }

  /** Forks the driver and waits for it to be ready. */
  static async start(options: BenchDriverOptions = {}): Promise<BenchDriver> {
    const entry = options.entry ?? fileURLToPath(new URL('./driver.ts', import.meta.url));
    const child = fork(entry, options.args ?? [], {
      // Only the loader: the parent's flags (--cpu-prof, --inspect...) are about the server, not the driver.
      execArgv: ['--import', tsxLoader()],
      serialization: 'advanced',
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const driver = new BenchDriver(child, options);
    try {
      await driver.request<void>('starting up', undefined, options.readyTimeoutMs ?? 30_000, (message, done) => {
        if (message.type === 'ready') done();
      });
    } catch (error) {
      await driver.kill();
      throw error;
    }
    return driver;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** Starts the provider simulators in the driver (in-process mode). */
  async startSimulators(profile: SimulatorProfile, knobs: SimulatorKnobs, apiKey: string): Promise<DriverSimulators> {
    return this.request<DriverSimulators>('starting the simulators', { type: 'start-simulators', profile, knobs, apiKey }, this.options.simulatorsTimeoutMs ?? 30_000, (message, done) => {
      if (message.type === 'simulators') {
        const { type: _type, ...started } = message;
        done({ ...started, apiKey });
      }
    });
  }

  /** Runs one load in the driver: the same results as runLoad(plan), plus what the driver itself used. */
  async runLoad(plan: DriverLoadPlan, hooks: DriverLoadHooks = {}): Promise<DriverLoadResult> {
    const { until, ...rest } = plan;
    const wire: WireLoadPlan = { ...rest, ...(until !== undefined ? { untilInMs: Math.max(0, until - performance.now()) } : {}) };
    const results: CallResult[] = [];
    let finished: Extract<FromDriver, { type: 'load-finished' }> | undefined;
    await this.request<void>('running the calls', { type: 'run-load', plan: wire }, undefined, (message, done) => {
      if (message.type === 'progress') hooks.onProgress?.({ callsStarted: message.callsStarted, callsDone: message.callsDone, turnsDone: message.turnsDone });
      else if (message.type === 'load-finished') { finished = message; hooks.onFinished?.(); }
      else if (message.type === 'results') results.push(...message.results);
      else if (message.type === 'load-done') done();
    });
    if (!finished || results.length !== finished.callCount) {
      throw new BenchDriverError(`bench driver sent ${results.length} call results${finished ? ` of ${finished.callCount}` : ' without finishing'}`);
    }
    return { results, samples: collectSamples(results), wallMs: finished.wallMs, driver: finished.usage };
  }

  /** Stops the simulators and ends the driver; kills it if it does not exit in time. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.exit) return;
      const timeoutMs = this.options.closeTimeoutMs ?? 10_000;
      this.pending?.fail(new BenchDriverError(`bench driver: closed while ${this.pending.stage}`));
      if (this.child.connected) {
        this.child.send({ type: 'close' } satisfies ToDriver, (error) => { if (error) this.child.kill('SIGKILL'); });
      }
      const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.closing;
  }

  private async kill(): Promise<void> {
    if (this.exit) return;
    this.pending?.fail(new BenchDriverError(`bench driver: killed while ${this.pending.stage}`));
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Sends `message` (if any) and feeds the driver's messages to `handle` until it calls done, the driver fails, exits, or the timeout passes. */
  private async request<T>(stage: string, message: ToDriver | undefined, timeoutMs: number | undefined, handle: (message: FromDriver, done: (value: T) => void) => void): Promise<T> {
    // A driver that said it crashed, or whose channel is gone, is exiting: wait for the exit so the error names it.
    if (!this.exit && (this.crash !== undefined || (message && !this.child.connected))) await this.exitedWithin(this.options.closeTimeoutMs ?? 10_000);
    if (this.exit) throw new BenchDriverError(`bench driver (pid ${this.pid}) ${this.exitText()} before ${stage}${this.crashText()}${this.tailText()}`);
    if (this.pending) return Promise.reject(new BenchDriverError(`bench driver: ${stage} while ${this.pending.stage}`));
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const settle = (): void => {
        if (timer) clearTimeout(timer);
        this.pending = undefined;
      };
      this.pending = {
        stage,
        onMessage: (m) => {
          if (m.type === 'failed') { settle(); reject(new BenchDriverError(`bench driver failed while ${stage}: ${m.message}`)); return; }
          handle(m, (value) => { settle(); resolve(value); });
        },
        fail: (error) => { settle(); reject(error); },
      };
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          settle();
          reject(new BenchDriverError(`bench driver (pid ${this.pid}) did not finish ${stage} within ${timeoutMs} ms${this.tailText()}`));
          this.child.kill('SIGKILL');
        }, timeoutMs);
      }
      if (message) {
        this.child.send(message, (error) => {
          // A channel that closed under the send means the driver is exiting: 'close' fails the request with the exit and its reason.
          if (error && this.child.connected && this.pending?.stage === stage) this.pending.fail(new BenchDriverError(`bench driver: cannot send ${message.type}: ${error.message}`));
        });
      }
    });
  }

  /** Waits for the driver's exit; kills it if it has not exited within `ms`. */
  private async exitedWithin(ms: number): Promise<void> {
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  private crashText(): string {
    return this.crash === undefined ? '' : `: ${this.crash}`;
  }

  private exitText(): string {
    if (!this.exit) return 'is running';
    return this.exit.signal ? `was killed by ${this.exit.signal}` : `exited with code ${this.exit.code}`;
  }

  private tailText(): string {
    const tail = this.stderrTail.trim();
    return tail ? `; its last output:\n${tail.split('\n').slice(-12).join('\n')}` : '';
  }
}

export function startBenchDriver(options: BenchDriverOptions = {}): Promise<BenchDriver> {
  return BenchDriver.start(options);
}
