import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const child = fileURLToPath(new URL('./native-exit-child.ts', import.meta.url));

function exitStatusOf(...args: number[]): number | null {
  const run = spawnSync(process.execPath, ['--import', 'tsx', child, ...args.map(String)], { encoding: 'utf8', timeout: 60_000 });
  assert.is(run.signal, null, `the child was stopped (${run.signal}): ${run.stderr}`);
  return run.status;
}

test('a process that used native peers keeps the exit code its tests left: failing tests exit 1, not 0', () => {
  assert.is(exitStatusOf(1), 1);
  assert.is(exitStatusOf(0), 0);
});

test('an explicit code wins over process.exitCode', () => {
  assert.is(exitStatusOf(1, 0), 0);
  assert.is(exitStatusOf(0, 3), 3);
});

test.run();
