/**
 * Keeps PGlite off a V8 crash in Node.js 24 (V8 13.6). PGlite is PostgreSQL
 * compiled to WebAssembly and calls back into JavaScript through many imports.
 * After 1000 calls through one import, V8 replaces the import's generic
 * wrapper with a compiled one (Runtime_TierUpWasmToJSWrapper) in a cache
 * shared by every thread of the process, and frees the wrapper code nothing
 * uses any more. With PGlite running in worker threads, that free can abort
 * the whole process:
 *
 *   Check failed: jit_page_->allocations_.erase(addr) == 1.   (or jit_page.has_value())
 *     ThreadIsolation::UnregisterWasmAllocation <- WasmCodeAllocator::FreeCode
 *     <- WasmImportWrapperCache::Free <- WasmEngine::FreeDeadCode
 *     <- WasmCode::DecrementRefCount <- Runtime_TierUpWasmToJSWrapper
 *
 * (the CI's Node 24 run of a test file, and a 30-worker PGlite script on this
 * project's machine, symbolised against the node binary). It is open upstream
 * (nodejs/node#64500, electric-sql/pglite#1053), with no fixed release.
 *
 * The workaround: an unreachable tier-up budget, so wrappers are never
 * compiled and so never freed; the calls keep the generic wrapper. Measured on
 * the 2-core machine: PGlite inserts and point selects in a worker, 4 runs of
 * 6000 each, median 188 us per query without it and 193 us with it (noise of
 * the same size). V8 flags are process-wide and this one is read when a
 * module is instantiated, so it is set from the main thread before the first
 * PGlite thread starts; NODE_OPTIONS does not accept it, and the `smartalex`
 * command, the server and the tests all open the database through this
 * module's caller. Older V8 (Node 20) has neither the bug nor the flag.
 */
import { setFlagsFromString } from 'node:v8';

/** Calls through one import before V8 would compile a wrapper for it: never. */
const NEVER = 2_147_483_647;
/** The first V8 with a process-wide, tiered wasm-to-JS wrapper cache (Node 24 ships 13.6). */
const FIRST_AFFECTED_V8 = 13;

let applied: boolean | undefined;

/** True when this V8 has the tiered wrapper cache the workaround concerns. */
export function v8HasTieredImportWrappers(v8Version = process.versions.v8): boolean {
  return Number.parseInt(v8Version, 10) >= FIRST_AFFECTED_V8;
}

/** Applies the workaround once per process, before any PGlite module is instantiated; true when it applies here. */
export function applyPGliteV8Workaround(): boolean {
  applied ??= v8HasTieredImportWrappers() && (setFlagsFromString(`--wasm-wrapper-tiering-budget=${NEVER}`), true);
  return applied;
}
