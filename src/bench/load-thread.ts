/**
 * Runs the benchmark callers in a worker thread, so that in-process they do
 * not share the server's event loop: a server stall then shows up in the
 * server's numbers, not as late timestamps in the caller's. The worker loads
 * TypeScript through tsx's register API (workers do not inherit the main
 * thread's loader hooks in Node 20).
 */
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import type { CallResult } from './caller.ts';
import { collectSamples, runLoad, type LoadPlan, type LoadResult } from './load.ts';

type ThreadPlan = Omit<LoadPlan, 'signal' | 'onProgress'>;
type FromWorker =
  | { type: 'progress'; callsStarted: number; callsDone: number; turnsDone: number }
  | { type: 'done'; results: CallResult[]; wallMs: number }
  | { type: 'error'; message: string };

const MARK = 'smartalex-bench-load';

export function runLoadInThread(plan: LoadPlan): Promise<LoadResult> {
  const { signal: _signal, onProgress, ...threadPlan } = plan;
  const tsx = import.meta.resolve('tsx/esm/api');
  const self = import.meta.url;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
  const worker = new Worker(boot, { eval: true, workerData: { mark: MARK, plan: threadPlan satisfies ThreadPlan } });
  return new Promise<LoadResult>((resolve, reject) => {
    let settled = false;
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'progress') onProgress?.({ callsStarted: msg.callsStarted, callsDone: msg.callsDone, turnsDone: msg.turnsDone });
      else if (msg.type === 'done') {
        settled = true;
        resolve({ results: msg.results, samples: collectSamples(msg.results), wallMs: msg.wallMs });
        void worker.terminate();
      } else {
        settled = true;
        reject(new Error(msg.message));
      }
    });
    worker.on('error', (error) => { if (!settled) { settled = true; reject(error); } });
    worker.on('exit', (code) => { if (!settled) { settled = true; reject(new Error(`benchmark caller thread exited with code ${code}`)); } });
  });
}

if (!isMainThread && parentPort && (workerData as { mark?: string } | null)?.mark === MARK) {
  const port = parentPort;
  const plan = (workerData as { plan: ThreadPlan }).plan;
  runLoad({ ...plan, onProgress: (p) => port.postMessage({ type: 'progress', ...p } satisfies FromWorker) })
    .then((load) => port.postMessage({ type: 'done', results: load.results, wallMs: load.wallMs } satisfies FromWorker))
    .catch((error: unknown) => port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies FromWorker));
}
