/**
 * Ending a process that has used node-datachannel.
 *
 * libdatachannel's native threads keep a process alive after its last peer
 * has closed, so a process that is done must exit explicitly. It must not
 * call `nodeDataChannel.cleanup()` first: in node-datachannel 0.33 that
 * closes every wrapper again, releasing the thread-safe callbacks of peers
 * and tracks already closed a second time, which aborts the process
 * ("napi_release_threadsafe_function ... Assertion failed"), crashes it
 * (SIGSEGV, futex errors) or hangs it, a few runs in ten. Exiting without
 * it is clean: the kernel reclaims the sockets and threads.
 */

/**
 * Exit with `code` (default: `process.exitCode`, read when the exit comes) after `delayMs`, letting pending
 * output and closes drain. `process.exit(undefined)` would not do: an argument given, even undefined,
 * replaces `process.exitCode`, so a test file whose tests failed (uvu sets `process.exitCode = 1`) exited 0.
 */
export function exitAfterNativePeers(options: { code?: number; delayMs?: number } = {}): void {
  setTimeout(() => {
    if (options.code === undefined) process.exit();
    else process.exit(options.code);
  }, options.delayMs ?? 200).unref();
}
