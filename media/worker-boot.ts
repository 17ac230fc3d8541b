/**
 * A worker thread whose entry module is TypeScript: the one way this project
 * starts one (the media thread, the embedded database's thread, the
 * benchmark's simulator thread). Workers do not inherit the main thread's tsx
 * loader in Node 20, so the worker boots from a small eval string that
 * registers tsx (tsx/esm/api), then imports the entry. On the ground floor
 * (media/) so that every floor may use it.
 */
import { pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** `entry`: a URL, a file URL string or a file path. */
export function startTsWorker(entry: URL | string, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const tsx = import.meta.resolve('tsx/esm/api');
  const url = entry instanceof URL ? entry.href : entry.startsWith('file:') ? entry : pathToFileURL(entry).href;
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); })`;
  return new Worker(boot, { ...options, eval: true });
}
