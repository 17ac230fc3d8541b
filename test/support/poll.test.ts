/** The poll helper waits for a condition that turns true later, and fails naming what it waited for. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { waitFor, waitForValue } from './poll.ts';

test('waitFor resolves once the condition holds', async () => {
  let n = 0;
  await waitFor('three tries', () => ++n >= 3, { intervalMs: 1 });
  assert.is(n, 3);
});

test('waitFor accepts an async condition and waitForValue returns the first defined value', async () => {
  let n = 0;
  assert.is(await waitForValue('a value', async () => (++n >= 2 ? `v${n}` : undefined), { intervalMs: 1 }), 'v2');
});

test('waitFor fails after its deadline, naming what it waited for', async () => {
  try {
    await waitFor('the impossible', () => false, { timeoutMs: 30, intervalMs: 5 });
    assert.unreachable('should have timed out');
  } catch (error) {
    assert.match((error as Error).message, /timed out after 30 ms waiting for the impossible/);
  }
});

test.run();
