/**
 * The in-process probe's settle: a benchmark window starts only once the
 * calls before it (the warm-up's) are over on the server, and ends only once
 * its own are, so one window never counts another's hang-up. Unit level:
 * a server whose busy count falls to 0 settles; one stuck past the bound
 * reports what is left; a probe with no busy source has nothing to wait for.
 * The whole path (warm-up, window, database statements) is
 * call-statements.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InProcessProbe } from '../../../tools/bench/server-probe.ts';

test('settle resolves with 0 once the server has nothing in progress', async () => {
  let busy = 2;
  const timer = setInterval(() => { if (busy > 0) busy--; }, 30);
  try {
    const probe = new InProcessProbe({ busy: () => busy });
    assert.is(await probe.settle(30_000), 0);
    assert.is(busy, 0, 'settled before the server was idle');
  } finally {
    clearInterval(timer);
  }
});

test('settle gives up at its bound and says how much was still in progress', async () => {
  const probe = new InProcessProbe({ busy: () => 3 });
  assert.is(await probe.settle(100), 3);
});

test('a probe without a busy source settles at once', async () => {
  assert.is(await new InProcessProbe({}).settle(30_000), 0);
});

test.run();
