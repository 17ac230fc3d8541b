/**
 * The one way tests wait: poll a condition until it holds or a deadline
 * passes, then fail naming what was awaited. Never sleep and then assert: on
 * a busy 2-core CI machine a fixed sleep is either too short (flaky) or too
 * long (slow). Deadlines are generous because they only bound a failure.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  /** How long to keep trying (default 10 s). */
  timeoutMs?: number;
  /** Pause between tries (default 10 ms). */
  intervalMs?: number;
}

/** Resolves once `check` returns true (or a promise of true); throws `timed out waiting for <what>` after the deadline. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, options: PollOptions = {}): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${options.timeoutMs ?? 10_000} ms waiting for ${what}`);
    await sleep(options.intervalMs ?? 10);
  }
}

/** Resolves with the first defined value `get` returns; throws like waitFor after the deadline. */
export async function waitForValue<T>(what: string, get: () => T | undefined | Promise<T | undefined>, options: PollOptions = {}): Promise<T> {
  let value: T | undefined;
  await waitFor(what, async () => (value = await get()) !== undefined, options);
  return value as T;
}
