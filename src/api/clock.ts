/** Wall-clock time for the control plane, injectable so tests drive expiry without sleeping. */
export type Clock = () => Date;

export const systemClock: Clock = () => new Date();

/** A clock tests move by hand. */
export function manualClock(start = new Date('2026-01-01T00:00:00Z')): Clock & { advance(ms: number): void; set(at: Date): void } {
  let now = start.getTime();
  const clock = (() => new Date(now)) as Clock & { advance(ms: number): void; set(at: Date): void };
  clock.advance = (ms) => { now += ms; };
  clock.set = (at) => { now = at.getTime(); };
  return clock;
}
