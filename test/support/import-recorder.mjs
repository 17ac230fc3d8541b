// A module-resolution hook for tests (node --import ./test/support/import-recorder.mjs): appends every
// resolved file URL, one per line, to the file named by SMARTALEX_IMPORT_LOG, so a test can see which
// modules a command loads. Plain JavaScript: Node loads it before any TypeScript loader.
import { appendFileSync } from 'node:fs';
import { register } from 'node:module';
import { isMainThread } from 'node:worker_threads';

const log = process.env.SMARTALEX_IMPORT_LOG;
if (!log) throw new Error('import-recorder: set SMARTALEX_IMPORT_LOG to the file to append to');

/** Runs on the loader's thread: records what each import resolved to. */
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (resolved.url.startsWith('file:')) appendFileSync(log, `${resolved.url}\n`);
  return resolved;
}

// Loaded by --import on the main thread: install this same file as the hook (which Node runs on its loader thread).
if (isMainThread) register(import.meta.url);
