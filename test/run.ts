/**
 * Test runner: every `*.test.ts` under test/ runs in its own tsx process, so a
 * suite that binds ports or opens databases cannot leak into the next one.
 * uvu sets a non-zero exit code when a suite fails; this runner collects them.
 *
 *   npm test                 all suites
 *   npm test -- sip rtp      only suites whose path contains "sip" or "rtp"
 */
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const filters = process.argv.slice(2);
// A bound for hangs, not a speed limit: the CLI suites spawn a process (and open PGlite) per command and take 2-3 minutes on a busy 2-core machine.
const perFileTimeoutMs = Number(process.env.SMARTALEX_TEST_TIMEOUT_MS ?? 420_000);
const concurrency = Number(process.env.SMARTALEX_TEST_JOBS ?? 2);
// How long a file's output may stay open after its process has exited (a process it started still holds it).
const lingerMs = Number(process.env.SMARTALEX_TEST_LINGER_MS ?? 10_000);
// Where the test files are found (the runner's own test points it at fixtures).
const testDir = process.env.SMARTALEX_TEST_DIR ?? join(root, 'test');

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) out.push(...findTests(full));
    else if (name.endsWith('.test.ts')) out.push(full);
  }
  return out.sort();
}

const files = findTests(testDir).filter(
  (f) => filters.length === 0 || filters.some((p) => relative(root, f).includes(p)),
);

interface Outcome { file: string; code: number | null; ms: number; output: string }

/** Process groups of the test files running now, ended with the runner if it is interrupted. */
const running = new Set<number>();
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try { process.kill(-pid, signal); } catch { /* the group has already ended */ }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => { for (const pid of running) killGroup(pid, 'SIGTERM'); process.exit(130); });
}

function runOne(file: string): Promise<Outcome> {
  const started = Date.now();
  return new Promise((resolve) => {
    // Its own process group: a hung file is killed with every process it started. Killing the file's process
    // alone left a child that held the runner's pipes (a WebRTC bench's callers), and the run never ended.
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const pid = child.pid!;
    running.add(pid);
    let output = '';
    let leftProcesses = false;
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => {
      output += `\n[runner] timed out after ${perFileTimeoutMs} ms\n`;
      killGroup(pid, 'SIGKILL');
    }, perFileTimeoutMs);
    let lingering: NodeJS.Timeout | undefined;
    child.on('exit', () => {
      // The output ends when every process holding it has: one the file started and left running is a leak.
      lingering = setTimeout(() => {
        leftProcesses = true;
        output += `\n[runner] processes the test started were still running ${lingerMs} ms after it ended (they held its output open): killed\n`;
        killGroup(pid, 'SIGKILL');
        child.stdout.destroy();
        child.stderr.destroy();
      }, lingerMs);
    });
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      clearTimeout(lingering);
      running.delete(pid);
      let code = leftProcesses && exitCode === 0 ? 1 : exitCode;
      // uvu's own count decides too: a file whose tests failed is a failure even if its process exited 0.
      const summary = /Total:\s+(\d+)\s+Passed:\s+(\d+)/.exec(output);
      if (code === 0 && summary && Number(summary[2]) < Number(summary[1])) {
        output += `\n[runner] uvu counted ${Number(summary[1]) - Number(summary[2])} failing test(s) but the process exited 0 (uvu runs none of a file's tests, silently, when a before hook throws)\n`;
        code = 1;
      }
      // Say how the process ended when it was not uvu's own exit (a native crash prints nothing).
      if (signal) output += `\n[runner] the test process was killed by ${signal}\n`;
      else if (code !== 0 && !/Total:/.test(output)) output += `\n[runner] the test process exited with code ${code} before uvu's summary\n`;
      resolve({ file: relative(root, file), code, ms: Date.now() - started, output });
    });
  });
}

const queue = [...files];
const outcomes: Outcome[] = [];
async function worker(): Promise<void> {
  for (let file = queue.shift(); file; file = queue.shift()) {
    const outcome = await runOne(file);
    outcomes.push(outcome);
    const mark = outcome.code === 0 ? 'ok  ' : 'FAIL';
    process.stdout.write(`${mark} ${outcome.file} (${outcome.ms} ms)\n`);
    if (outcome.code !== 0 || process.env.SMARTALEX_TEST_VERBOSE) process.stdout.write(outcome.output + '\n');
    else {
      // Loud notices (a suite that could not run a part) are shown even on success.
      for (const line of outcome.output.split('\n')) if (line.includes('NOT RUN')) process.stdout.write(`     ${line}\n`);
    }
  }
}
await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));

const failed = outcomes.filter((o) => o.code !== 0);
process.stdout.write(`\n${outcomes.length - failed.length}/${outcomes.length} test files passed\n`);
if (files.length === 0) { process.stdout.write('no test files matched\n'); process.exit(1); }
process.exit(failed.length ? 1 : 0);
