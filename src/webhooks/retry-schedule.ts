/**
 * When a failed delivery is tried again: the Standard Webhooks schedule
 * (immediately, then 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 28 h in
 * all), each wait spread by +-20 % jitter so a receiver coming back is not hit
 * by every queued message at once. `random` is injectable for tests.
 */
export const RETRY_DELAYS_MS = [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000] as const;

/** The wait after the `attempts`-th failed attempt (1-based), or undefined once the schedule is used up (give up). */
export function retryDelayMs(attempts: number, random: () => number = Math.random, delays: readonly number[] = RETRY_DELAYS_MS): number | undefined {
  const base = delays[attempts - 1];
  if (base === undefined) return undefined;
  return Math.round(base * (0.8 + 0.4 * random()));
}
