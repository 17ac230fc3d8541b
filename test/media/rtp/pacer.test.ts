import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Pacer, sharedPacer } from '../../../media/rtp/pacer.ts';

/** A fake monotonic clock with one pending timer, advanced by hand. */
function fakeClock() {
  let now = 1000;
  let pending: { fn: () => void; at: number } | undefined;
  const delays: number[] = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, delay: number) => { delays.push(delay); pending = { fn, at: now + delay }; return pending; },
    clearTimer: () => { pending = undefined; },
    /** Advance to the pending timer's time plus `lateBy` ms and fire it. */
    fire(lateBy = 0) { const p = pending!; now = p.at + lateBy; pending = undefined; p.fn(); },
    get pending() { return pending; },
    delays,
  };
}

test('ticks are anchored to the clock: a late wake-up shortens the next wait (no drift)', () => {
  const c = fakeClock();
  const ticks: Array<[number, number]> = [];
  const pacer = new Pacer({ now: c.now, setTimer: c.setTimer, clearTimer: c.clearTimer });
  pacer.add((tick, due) => ticks.push([tick, due]));
  assert.is(c.delays[0], 20);
  c.fire(7); // woke at 1027 for the tick due at 1020
  assert.equal(ticks, [[1, 1020]]);
  assert.is(c.delays[1], 13); // next due at 1040
  c.fire(0);
  c.fire(0);
  assert.equal(ticks.map((t) => t[1]), [1020, 1040, 1060]);
  assert.is(pacer.stats.skippedTicks, 0);
});

test('a long stall catches up a few ticks at once and skips the rest', () => {
  const c = fakeClock();
  const ticks: number[] = [];
  const pacer = new Pacer({ now: c.now, setTimer: c.setTimer, clearTimer: c.clearTimer, maxCatchUpTicks: 3 });
  pacer.add((tick) => ticks.push(tick));
  c.fire(0);
  assert.equal(ticks, [1]);
  c.fire(200); // due 1040, woke at 1240: ticks 2..12 are owed
  assert.equal(ticks, [1, 10, 11, 12]);
  assert.is(pacer.stats.skippedTicks, 8);
  c.fire(0);
  assert.equal(ticks.at(-1), 13);
});

test('one timer drives every handler; removing the last stops the clock', () => {
  const c = fakeClock();
  const pacer = new Pacer({ now: c.now, setTimer: c.setTimer, clearTimer: c.clearTimer });
  const seen: string[] = [];
  const offA = pacer.add(() => seen.push('a'));
  const offB = pacer.add(() => { throw new Error('boom'); });
  pacer.add(() => seen.push('c'));
  assert.is(c.delays.length, 1);
  c.fire();
  assert.equal(seen, ['a', 'c']);
  assert.is(pacer.stats.handlerErrors, 1);
  offA();
  offB();
  assert.is(pacer.handlerCount, 1);
  pacer.remove(pacer['handlers'][0]!);
  assert.is(c.pending, undefined);
});

test('the real shared pacer ticks and lets the process exit', async () => {
  const p = sharedPacer();
  assert.is(sharedPacer(), p);
  let n = 0;
  await new Promise<void>((resolve) => {
    const off = p.add(() => { if (++n === 3) { off(); resolve(); } });
  });
  assert.is(n, 3);
  assert.is(p.handlerCount, 0);
});

test.run();
