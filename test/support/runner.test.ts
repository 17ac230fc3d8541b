/**
 * The test runner (test/run.ts) on fixture files: a file that hangs is killed
 * with every process it started, and the run ends; a file that exits leaving
 * a process that holds its output is a failure, and that process is ended;
 * a file whose uvu count shows failures fails whatever its exit status. In
 * CI a WebRTC bench test hung and its callers' process, which had inherited
 * the runner's pipes, outlived the kill, so the run never ended.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './poll.ts';

const runner = fileURLToPath(new URL('../run.ts', import.meta.url));

/** A child that sleeps with the test's own stdout and stderr, its pid written to `pidFile`. */
const startSleeper = (pidFile: string): string => `
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
const sleeper = spawn('sleep', ['600'], { stdio: ['ignore', 'inherit', 'inherit'] });
writeFileSync(${JSON.stringify(pidFile)}, String(sleeper.pid));
sleeper.unref();
`;

const alive = (pid: number): boolean => { try { process.kill(pid, 0); return true; } catch { return false; } };

async function runFixtures(files: Record<string, string>, env: Record<string, string>): Promise<{ code: number | null; output: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-runner-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const child = spawn(process.execPath, ['--import', 'tsx', runner], {
    env: { ...process.env, SMARTALEX_TEST_DIR: dir, SMARTALEX_TEST_JOBS: '2', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  // A bound for this test itself: the runner must end on its own well before it.
  const code = await new Promise<number | null>((resolve, reject) => {
    const bound = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the runner did not end:\n${output}`)); }, 120_000);
    child.on('close', (c) => { clearTimeout(bound); resolve(c); });
  });
  return { code, output, dir };
}

test('a file that hangs is killed with the processes it started, and the run ends', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-runner-pids-'));
  const pidFile = join(dir, 'sleeper.pid');
  try {
    const run = await runFixtures({
      'hangs.test.ts': `${startSleeper(pidFile)}\nsetInterval(() => {}, 1000);\n`,
      'passes.test.ts': `console.log('  Total:     1\\n  Passed:    1');\n`,
    // The bound applies to both files: the one that passes must start (tsx) well inside it on a busy machine.
    }, { SMARTALEX_TEST_TIMEOUT_MS: '15000' });
    try {
      assert.is(run.code, 1, run.output);
      assert.match(run.output, /FAIL \S*hangs\.test\.ts/);
      assert.match(run.output, /\[runner\] timed out after 15000 ms/);
      assert.match(run.output, /ok {3}\S*passes\.test\.ts/);
      assert.match(run.output, /1\/2 test files passed/);
      const sleeper = Number(readFileSync(pidFile, 'utf8'));
      await waitFor('the hung file\'s child to be gone', () => !alive(sleeper));
    } finally { rmSync(run.dir, { recursive: true, force: true }); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a file that exits leaving a process that holds its output fails, and the process is ended', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-runner-pids-'));
  const pidFile = join(dir, 'sleeper.pid');
  try {
    const run = await runFixtures({
      'leaves.test.ts': `${startSleeper(pidFile)}\nconsole.log('  Total:     1\\n  Passed:    1');\n`,
    }, { SMARTALEX_TEST_LINGER_MS: '1000' });
    try {
      assert.is(run.code, 1, run.output);
      assert.match(run.output, /FAIL \S*leaves\.test\.ts/);
      assert.match(run.output, /\[runner\] processes the test started were still running 1000 ms after it ended/);
      const sleeper = Number(readFileSync(pidFile, 'utf8'));
      await waitFor('the left process to be gone', () => !alive(sleeper));
    } finally { rmSync(run.dir, { recursive: true, force: true }); }
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test('a file whose uvu count shows a failure fails even when it exits 0', async () => {
  const run = await runFixtures({
    'miscounted.test.ts': `console.log('  Total:     3\\n  Passed:    0');\nprocess.exit(0);\n`,
    'counted.test.ts': `console.log('  Total:     3\\n  Passed:    3');\n`,
  }, {});
  try {
    assert.is(run.code, 1, run.output);
    assert.match(run.output, /FAIL \S*miscounted\.test\.ts[\s\S]*\[runner\] uvu counted 3 failing test\(s\) but the process exited 0/);
    assert.match(run.output, /ok {3}\S*counted\.test\.ts/);
  } finally { rmSync(run.dir, { recursive: true, force: true }); }
});

test.run();
