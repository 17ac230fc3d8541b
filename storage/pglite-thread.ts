/**
 * Embedded PGlite in its own worker thread. PGlite is Postgres compiled to
 * WASM and runs synchronously: on the main thread every statement holds the
 * event loop (10-30 ms under load), and with it the RTP pacer of every call.
 * Here the database runs in a worker and the main thread talks to it through
 * messages; `PGliteThread` offers the part of PGlite's client interface that
 * drizzle's pglite driver uses (`query`, `transaction`) plus `exec` and
 * `close`. PGlite's own `PGliteWorker` targets browser workers (Web Locks,
 * BroadcastChannel leader election), which Node 20 lacks, hence this module.
 *
 * A transaction holds its callback open in the worker until the main thread
 * says commit or rollback; PGlite serialises transactions itself. A
 * transaction may carry a setup statement (`withBeginSetup`: the tenant
 * scope's set_config) that the worker runs right after BEGIN, in the same
 * message: no round trip of its own.
 *
 * Booting the worker (tsx in a new thread, then PGlite's modules) costs about
 * 0.3 s on a quiet machine and seconds on a busy one, before PGlite even opens
 * the data directory. `prestartPGliteThread` boots one ahead of need, a spare
 * that waits for its data directory; the next PGliteThread adopts it. The CLI
 * starts one while the command's own modules load (src/cli/prestart.ts).
 */
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { startTsWorker } from '../media/worker-boot.ts';
import { PGlite, types, type Results } from '@electric-sql/pglite';
import { applyPGliteV8Workaround } from './pglite-v8-workaround.ts';

// Process-wide V8 flag, set before the first PGlite thread starts (see the module).
if (isMainThread) applyPGliteV8Workaround();

const MARK = 'smartalex-pglite-thread';

type RowMode = 'array' | 'object';
type ToWorker =
  | { id: number; type: 'query'; tx?: number; sql: string; params?: unknown[]; rowMode?: RowMode }
  | { id: number; type: 'exec'; tx?: number; sql: string }
  | { id: number; type: 'begin'; tx: number; setup?: BeginSetup }
  | { id: number; type: 'end'; tx: number; commit: boolean }
  | { id: number; type: 'close' }
  /** To a spare: the database to open (first message, once). */
  | { id: 0; type: 'open'; dataDir?: string };
/** A request before it gets its id (Omit distributed over the union). */
type Request = ToWorker extends infer T ? (T extends unknown ? Omit<T, 'id'> : never) : never;
type FromWorker =
  | { id: number; ok: true; value?: unknown }
  | { id: number; ok: false; error: SerializedError }
  | { id: 0; ready: true }
  | { id: 0; ready: false; error: SerializedError };

interface SerializedError { message: string; [field: string]: unknown }

/** A statement run right after BEGIN, inside the transaction. */
export interface BeginSetup { sql: string; params: unknown[] }

/** Postgres error fields worth carrying across (DatabaseError's). */
const ERROR_FIELDS = ['code', 'severity', 'detail', 'hint', 'schema', 'table', 'column', 'constraint', 'routine'] as const;

function serializeError(error: unknown): SerializedError {
  if (!(error instanceof Error)) return { message: String(error) };
  const out: SerializedError = { message: error.message, name: error.name };
  for (const f of ERROR_FIELDS) {
    const v = (error as unknown as Record<string, unknown>)[f];
    if (v !== undefined) out[f] = v;
  }
  return out;
}

function reviveError(e: SerializedError): Error {
  const error = new Error(e.message);
  Object.assign(error, e);
  return error;
}

export interface PGliteThreadOptions {
  /** Directory of the database files; undefined keeps it in memory. */
  dataDir?: string;
}

interface TxHandle {
  query<T>(sql: string, params?: unknown[], options?: { rowMode?: RowMode }): Promise<Results<T>>;
  exec(sql: string): Promise<Results[]>;
}

/** A worker booted ahead of need (prestartPGliteThread), waiting for its data directory; gone once it exits. */
let spare: Worker | undefined;

/**
 * Boots a PGlite thread's worker now, for the next PGliteThread to adopt. The spare does not keep the process
 * alive (unref'd until adopted) and opens nothing until adopted, so a process that never opens the embedded
 * database exits as it would have, with nothing to clean up. At most one spare; a no-op if one is waiting.
 */
export function prestartPGliteThread(): void {
  if (spare || !isMainThread) return;
  const worker = startTsWorker(import.meta.url, { workerData: { mark: MARK, spare: true } });
  worker.unref();
  worker.on('error', () => undefined); // a spare that failed to boot is replaced by a fresh worker when needed
  worker.once('exit', () => { if (spare === worker) spare = undefined; });
  spare = worker;
}

/** A spare is booted (or booting) and not yet adopted. */
export function spareWaiting(): boolean {
  return spare !== undefined;
}

/** The spare worker, handed to one taker (undefined when none is waiting). */
function takeSpare(): Worker | undefined {
  const taken = spare;
  spare = undefined;
  taken?.ref();
  return taken;
}

/** The main thread's end: a PGlite-shaped client whose work happens in the worker. */
export class PGliteThread implements TxHandle {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private nextTx = 1;
  private closing: Promise<void> | undefined;
  /** Taken by the next transaction() (see withBeginSetup). */
  private beginSetup: (BeginSetup & { taken: boolean }) | undefined;
  readonly waitReady: Promise<void>;
  closed = false;

  constructor(options: PGliteThreadOptions = {}) {
    const adopted = takeSpare();
    this.worker = adopted ?? startTsWorker(import.meta.url, { workerData: { mark: MARK, dataDir: options.dataDir } });
    if (adopted) adopted.postMessage({ id: 0, type: 'open', ...(options.dataDir !== undefined ? { dataDir: options.dataDir } : {}) } satisfies ToWorker);
    this.waitReady = new Promise<void>((resolve, reject) => {
      this.worker.once('message', (msg: FromWorker) => {
        if ('ready' in msg && msg.ready) resolve();
        else reject(reviveError('error' in msg ? msg.error : { message: 'PGlite thread did not start' }));
        this.worker.on('message', (m: FromWorker) => this.settle(m));
      });
      this.worker.once('error', reject);
    });
    this.worker.on('error', (error) => this.failAll(error));
    this.worker.on('exit', (code) => {
      this.closed = true;
      this.failAll(new Error(`PGlite thread exited (code ${code})`));
    });
  }

  query<T>(sql: string, params?: unknown[], options?: { rowMode?: RowMode }): Promise<Results<T>> {
    return this.call({ type: 'query', sql, ...(params ? { params } : {}), ...(options?.rowMode ? { rowMode: options.rowMode } : {}) }) as Promise<Results<T>>;
  }

  exec(sql: string): Promise<Results[]> {
    return this.call({ type: 'exec', sql }) as Promise<Results[]>;
  }

  /**
   * Calls `start`, which must open one transaction synchronously (drizzle's db.transaction() does, before its
   * first await), and hands that transaction `setup` to run right after its BEGIN, in the worker. `setup.taken`
   * tells the transaction's callback whether that happened (if not, it must run the statement itself).
   */
  withBeginSetup<T>(setup: BeginSetup & { taken: boolean }, start: () => T): T {
    this.beginSetup = setup;
    try {
      return start();
    } finally {
      this.beginSetup = undefined;
    }
  }

  async transaction<T>(work: (tx: TxHandle) => Promise<T>): Promise<T> {
    const tx = this.nextTx++;
    const setup = this.beginSetup;
    this.beginSetup = undefined;
    if (setup) setup.taken = true;
    // Not awaited: the worker queues this transaction's statements until it has begun, saving a
    // round trip per transaction; a failure to begin surfaces on the first statement or the end.
    const begun = this.call({ type: 'begin', tx, ...(setup ? { setup: { sql: setup.sql, params: setup.params } } : {}) });
    begun.catch(() => undefined);
    const handle: TxHandle = {
      query: <R>(sql: string, params?: unknown[], options?: { rowMode?: RowMode }) =>
        this.call({ type: 'query', tx, sql, ...(params ? { params } : {}), ...(options?.rowMode ? { rowMode: options.rowMode } : {}) }) as Promise<Results<R>>,
      exec: (sql: string) => this.call({ type: 'exec', tx, sql }) as Promise<Results[]>,
    };
    let result: T;
    try {
      result = await work(handle);
    } catch (error) {
      await this.call({ type: 'end', tx, commit: false }).catch(() => undefined);
      throw error;
    }
    await begun;
    await this.call({ type: 'end', tx, commit: true });
    return result;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      if (this.closed) return;
      await this.call({ type: 'close' }).catch(() => undefined);
      this.closed = true;
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private call(message: Request): Promise<unknown> {
    if (this.closed) return Promise.reject(new Error('the database is closed'));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id });
    });
  }

  private settle(msg: FromWorker): void {
    const waiter = this.pending.get(msg.id);
    if (!waiter) return;
    this.pending.delete(msg.id);
    if ('ok' in msg && msg.ok) waiter.resolve(msg.value);
    else waiter.reject(reviveError('error' in msg ? msg.error : { message: 'unknown PGlite thread error' }));
  }

  private failAll(error: Error): void {
    for (const waiter of this.pending.values()) waiter.reject(error);
    this.pending.clear();
  }
}

// ---------------------------------------------------------------- worker side

/** drizzle's pglite driver keeps dates, timestamps and intervals as strings: same here, for every query. */
const identity = (value: string): string => value;
const DRIZZLE_PARSERS = Object.fromEntries(
  [types.TIMESTAMP, types.TIMESTAMPTZ, types.INTERVAL, types.DATE, 1231, 1115, 1185, 1187, 1182].map((oid) => [oid, identity]),
);

const ROLLBACK = Symbol('rollback');

async function serve(dataDir: string | undefined): Promise<void> {
  const port = parentPort!;
  let db: PGlite;
  try {
    db = dataDir ? new PGlite(dataDir, { parsers: DRIZZLE_PARSERS }) : new PGlite({ parsers: DRIZZLE_PARSERS });
    await db.waitReady;
  } catch (error) {
    port.postMessage({ id: 0, ready: false, error: serializeError(error) } satisfies FromWorker);
    return;
  }
  interface OpenTx { ready: Promise<TxHandle>; decide: (commit: boolean) => void; done: Promise<void> }
  const open = new Map<number, OpenTx>();
  const reply = (id: number, work: () => Promise<unknown>): void => {
    work().then(
      (value) => port.postMessage({ id, ok: true, value } satisfies FromWorker),
      (error: unknown) => port.postMessage({ id, ok: false, error: serializeError(error) } satisfies FromWorker),
    );
  };
  const target = async (tx: number | undefined): Promise<TxHandle> => {
    if (tx === undefined) return db as unknown as TxHandle;
    const entry = open.get(tx);
    if (!entry) throw new Error('the transaction has already ended');
    return entry.ready;
  };
  port.on('message', (msg: ToWorker) => {
    switch (msg.type) {
      case 'query':
        reply(msg.id, async () => {
          const result = await (await target(msg.tx)).query(msg.sql, msg.params, msg.rowMode ? { rowMode: msg.rowMode } : undefined);
          return { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows };
        });
        break;
      case 'exec':
        reply(msg.id, async () => (await (await target(msg.tx)).exec(msg.sql)).map((r) => ({ rows: r.rows, fields: r.fields, affectedRows: r.affectedRows })));
        break;
      case 'begin': {
        let started!: (tx: TxHandle) => void;
        let failed!: (error: unknown) => void;
        const ready = new Promise<TxHandle>((resolve, reject) => { started = resolve; failed = reject; });
        ready.catch(() => undefined);
        let decide!: (commit: boolean) => void;
        const decision = new Promise<boolean>((resolve) => { decide = resolve; });
        const setup = msg.setup;
        const done = db.transaction(async (tx) => {
          if (setup) await tx.query(setup.sql, setup.params);
          started(tx as unknown as TxHandle);
          if (!(await decision)) throw ROLLBACK;
        }).then(() => undefined);
        done.catch((error: unknown) => failed(error)); // a transaction that could not begin
        open.set(msg.tx, { ready, decide, done });
        reply(msg.id, () => ready.then(() => undefined));
        break;
      }
      case 'end':
        reply(msg.id, async () => {
          const entry = open.get(msg.tx);
          if (!entry) return;
          entry.decide(msg.commit);
          try {
            await entry.done;
          } catch (error) {
            if (error !== ROLLBACK) throw error;
          } finally {
            open.delete(msg.tx);
          }
        });
        break;
      case 'close':
        reply(msg.id, () => db.close());
        break;
    }
  });
  port.postMessage({ id: 0, ready: true } satisfies FromWorker);
}

const boot = (isMainThread ? null : workerData) as { mark?: string; dataDir?: string; spare?: boolean } | null;
if (boot?.mark === MARK) {
  if (boot.spare) {
    // A spare: booted ahead of need; the first message says which database to open.
    const open = await new Promise<Extract<ToWorker, { type: 'open' }>>((resolve) => parentPort!.once('message', resolve));
    await serve(open.dataDir);
  } else {
    await serve(boot.dataDir);
  }
}
