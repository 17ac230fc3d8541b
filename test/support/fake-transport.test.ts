/**
 * The fake transport's real-time pacer after a stall of the test process: like
 * the RTP session's playout, the caller audio of the skipped ticks is delivered
 * at once on its own 20 ms slots (at most MAX_CATCH_UP_FRAMES of them), so a
 * short stall leaves no gap in the frame clock and a long one leaves a gap of
 * what is beyond the bound; no caller audio is lost either way. The stalls are
 * busy-waits in a frame listener; a busier machine only makes them longer, and
 * the checks read the delay each stall really caused.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FakeTransport, MAX_CATCH_UP_FRAMES } from './fake-transport.ts';

interface Delivered { index: number; timeMs: number; wallMs: number }

/** Scripted frames carry their 1-based index in every sample, so the order they arrive in can be read back. */
function numberedCallerAudio(frames: number): Int16Array {
  const pcm = new Int16Array(frames * 160);
  for (let i = 0; i < frames; i++) pcm.fill(i + 1, i * 160, (i + 1) * 160);
  return pcm;
}

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

/**
 * Runs `frames` numbered frames in real time. At each index of `stalls` the process stalls (busy) on the first
 * frame from there on that is its tick's own, not one caught up after an earlier delay (so what follows it is
 * the next tick's doing); returns what arrived and the 1-based frames that were stalled on.
 */
async function runWithStalls(frames: number, stalls: ReadonlyArray<{ from: number; ms: number }>): Promise<{ delivered: Delivered[]; stalledOn: number[] }> {
  const t = new FakeTransport(8000, 'realtime');
  const delivered: Delivered[] = [];
  const stalledOn: number[] = [];
  t.onFrame((f) => {
    if (f.kind !== 'audio' || f.pcm[0] === 0) return;
    const index = f.pcm[0]!;
    delivered.push({ index, timeMs: f.timeMs, wallMs: performance.now() });
    const next = stalls[stalledOn.length];
    const ownTick = t.now() - f.timeMs < 20; // a caught-up frame is stamped at least one slot back
    if (next && index >= next.from && ownTick) {
      stalledOn.push(index);
      busyWait(next.ms);
    }
  });
  t.say(numberedCallerAudio(frames));
  t.start();
  try {
    await t.waitFor(() => delivered.length >= frames, 30_000, 'every scripted frame');
  } finally {
    t.close();
  }
  return { delivered, stalledOn };
}

test('a stall within the catch-up bound leaves no gap in the frame clock; a longer one leaves only what is beyond it; no audio is lost', async () => {
  const { delivered, stalledOn } = await runWithStalls(80, [{ from: 10, ms: 100 }, { from: 30, ms: 320 }]);
  assert.equal(delivered.map((d) => d.index), Array.from({ length: 80 }, (_, i) => i + 1), 'every caller frame, once, in order');
  for (let i = 1; i < delivered.length; i++) {
    assert.ok(delivered[i]!.timeMs >= delivered[i - 1]!.timeMs + 20 - 1e-6, `frame ${i + 1} starts after frame ${i} ends`);
  }
  assert.is(stalledOn.length, 2, 'both stalls happened');
  const bound = MAX_CATCH_UP_FRAMES * 20;
  /** The frame-clock gap after frame `n` (1-based) and the wall time its stall held up the next frame. */
  const after = (n: number): { gap: number; delay: number } => ({
    gap: delivered[n]!.timeMs - (delivered[n - 1]!.timeMs + 20),
    delay: delivered[n]!.wallMs - delivered[n - 1]!.wallMs,
  });
  const short = after(stalledOn[0]!);
  assert.ok(short.delay >= 100, 'the first stall held the pacer up');
  // A stall under the bound is caught up to within the 20 ms slot the late tick fell in. A machine busy enough
  // to stretch it past the bound must still show no more gap than the delay beyond it.
  assert.ok(short.gap < 20 || short.gap <= short.delay - bound, `after a ${short.delay.toFixed(0)} ms stall the frame clock jumped ${short.gap.toFixed(1)} ms`);
  const long = after(stalledOn[1]!);
  assert.ok(long.delay >= 320, 'the second stall held the pacer up');
  assert.ok(long.gap >= 20 && long.gap <= long.delay - bound, `after a ${long.delay.toFixed(0)} ms stall the gap is ${long.gap.toFixed(1)} ms: what lies beyond the ${bound} ms bound`);
  // The late tick's frames: the caught-up ones on consecutive slots up to its own.
  const burst = delivered.slice(stalledOn[1]!, stalledOn[1]! + MAX_CATCH_UP_FRAMES + 1);
  for (let i = 1; i < burst.length; i++) assert.ok(Math.abs(burst[i]!.timeMs - burst[i - 1]!.timeMs - 20) < 1e-6, 'the burst lies on consecutive 20 ms slots');
});

test.run();
