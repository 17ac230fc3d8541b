/**
 * The bench driver (tools/bench/driver.ts) is a separate process: the provider
 * simulators it starts listen on sockets owned by the driver's pid, not by
 * this (the server's) process, and they run in a worker thread of the
 * driver, not on its main thread (the callers'), and --caller-nice changes
 * the callers' thread only; it dies with its parent. A
 * driver that crashes or hangs while starting fails clearly and quickly
 * (exit code and its last output, or a timeout), never a hang, also through
 * runBench; so does a simulators' thread that crashes while starting, and
 * one that crashes later ends the driver with a clear error.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BenchDriverError, startBenchDriver, type BenchDriverOptions } from '../../../tools/bench/driver-client.ts';
import { runBench } from '../../../tools/bench/run.ts';

const FAKE = fileURLToPath(new URL('./fake-driver.ts', import.meta.url));
const FAKE_SIMULATORS = fileURLToPath(new URL('./fake-simulators.ts', import.meta.url));
const PARENT = fileURLToPath(new URL('./driver-parent.ts', import.meta.url));
const linux = process.platform === 'linux';
const silent = { write: () => true };

/** Whether `pid` runs; a zombie (exited, not yet reaped by whoever adopted it) counts as gone. */
function alive(pid: number): boolean {
  if (linux) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
    } catch {
      return false;
    }
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (!alive(pid)) return true;
    await sleep(50);
  }
  return !alive(pid);
}

/** Socket inodes listening on a TCP port (Linux /proc/net/tcp and tcp6). */
function listeningInodes(port: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(file, 'utf8'); } catch { continue; }
    for (const line of text.trim().split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1] ?? '';
      if (cols[3] === '0A' && parseInt(local.split(':')[1] ?? '', 16) === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** Whether process `pid` holds one of `inodes` open. */
function holdsSocket(pid: number, inodes: Set<string>): boolean {
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let link = '';
    try { link = readlinkSync(`/proc/${pid}/fd/${fd}`); } catch { continue; }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (m && inodes.has(m[1]!)) return true;
  }
  return false;
}

/** Fields of /proc/<pid>/task/<tid>/stat from field 3 on (index 0 is field 3). */
function threadStat(pid: number, tid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}

/** CPU ticks (fields 14 and 15, utime + stime) of one thread. */
function threadTicks(pid: number, tid: number): number {
  const fields = threadStat(pid, tid);
  return Number(fields[11]) + Number(fields[12]);
}

/** Nice value (field 19) of one thread. */
function threadNice(pid: number, tid: number): number {
  return Number(threadStat(pid, tid)[16]);
}

/** `action` fails with a BenchDriverError matching `pattern`, within `withinMs`. */
async function expectDriverError(action: () => Promise<unknown>, pattern: RegExp, withinMs = Infinity): Promise<BenchDriverError> {
  const began = Date.now();
  let failure: unknown;
  try {
    await action();
  } catch (error) {
    failure = error;
  }
  const elapsed = Date.now() - began;
  assert.ok(failure !== undefined, 'should have failed');
  assert.instance(failure, BenchDriverError);
  assert.match((failure as Error).message, pattern);
  assert.ok(elapsed < withinMs, `failed after ${elapsed} ms`);
  return failure as BenchDriverError;
}

/** runBench of one in-process call with the given driver. */
function runOneCall(driver: BenchDriverOptions): Promise<unknown> {
  return runBench({
    number: '1000', calls: 1, turns: 1, bargeIn: false, profile: 'instant', voiceThresholdDbfs: -45, turnTimeoutMs: 2000,
    bindAddress: '127.0.0.1', thresholdPercent: 10, ramp: false, rampMax: 1, driver: { output: silent, ...driver },
  }, { stdout: silent, stderr: { write: () => true, isTTY: false } });
}

test('the simulators run in the driver process, in its worker thread: the driver pid holds their ports, that thread serves them', async () => {
  const driver = await startBenchDriver({ output: silent });
  try {
    assert.ok(driver.pid > 0 && driver.pid !== process.pid);
    const sims = await driver.startSimulators('instant', { llmTtftMs: 5 }, 'driver-test-key');
    assert.is(sims.latency.llmTtftMs, 5, 'the knobs reach the driver');
    assert.ok(sims.thread.threadId > 0, 'a worker thread, not the main thread (threadId 0), runs them');
    const models = `${sims.openaiBaseUrl.replace(/\/$/, '')}/models`;
    const res = await fetch(models, { headers: { authorization: 'Bearer wrong-key' } }).catch(() => undefined);
    assert.ok(res, 'the OpenAI simulator answers over HTTP');
    if (linux) {
      for (const url of [sims.deepgramUrl, sims.openaiBaseUrl]) {
        const port = Number(new URL(url).port);
        const inodes = listeningInodes(port);
        assert.ok(inodes.size > 0, `something listens on ${port}`);
        assert.ok(holdsSocket(driver.pid, inodes), `the driver (pid ${driver.pid}) serves ${url}`);
        assert.not.ok(holdsSocket(process.pid, inodes), `this process does not serve ${url}`);
      }
      // The OS thread of the simulators is one of the driver's, not its main thread (tid = pid).
      const tid = sims.thread.tid;
      assert.ok(tid !== undefined && tid !== driver.pid, `simulators' thread ${tid}, driver ${driver.pid}`);
      assert.ok(readdirSync(`/proc/${driver.pid}/task`).includes(String(tid)), 'the thread belongs to the driver process');
      // And that thread does the serving: requests cost its CPU, not the driver main thread's (idle without a load).
      const before = { sims: threadTicks(driver.pid, tid), main: threadTicks(driver.pid, driver.pid) };
      for (let i = 0; i < 40; i++) {
        await Promise.all(Array.from({ length: 25 }, () => fetch(models, { headers: { authorization: 'Bearer wrong-key' } }).then((r) => r.arrayBuffer()).catch(() => undefined)));
      }
      const used = { sims: threadTicks(driver.pid, tid) - before.sims, main: threadTicks(driver.pid, driver.pid) - before.main };
      assert.ok(used.sims > used.main, `CPU ticks over 1000 requests: simulators' thread ${used.sims}, driver main thread ${used.main}`);
      // --caller-nice reaches the callers' thread (the driver's main thread) only; the simulators' thread keeps its priority.
      const nice = { main: threadNice(driver.pid, driver.pid), sims: threadNice(driver.pid, tid) };
      const callerNiceness = Math.min(19, nice.main + 1);
      await driver.runLoad({
        target: 'sip:127.0.0.1:9', number: '1000', calls: 0, turns: 1, bargeIn: false, voiceThresholdDbfs: -45, turnTimeoutMs: 1000, bindAddress: '127.0.0.1', callerNiceness,
      });
      assert.is(threadNice(driver.pid, driver.pid), callerNiceness, 'the callers\' thread runs at --caller-nice');
      assert.is(threadNice(driver.pid, tid), nice.sims, 'the simulators\' thread is unchanged');
    }
  } finally {
    await driver.close();
  }
  assert.ok(await waitGone(driver.pid, 5000), 'close() ends the driver');
});

test('a driver that crashes while loading fails at once with its exit code and last output', async () => {
  await expectDriverError(() => startBenchDriver({ entry: FAKE, args: ['crash'], readyTimeoutMs: 60_000, output: silent }), /exited with code 3 while starting up[\s\S]*boom/, 30_000);
});

test('a driver that dies while starting the simulators fails clearly', async () => {
  const driver = await startBenchDriver({ entry: FAKE, args: ['die-on-simulators'], output: silent });
  await expectDriverError(() => driver.startSimulators('instant', {}, 'k'), /exited with code 4 while starting the simulators[\s\S]*port in use/, 5000);
  await driver.close();
});

test('a simulators\' thread that crashes while starting fails at once with its error; the driver stays usable', async () => {
  for (const [mode, pattern] of [
    ['crash', /failed while starting the simulators: the provider simulators' thread crashed while starting: .*boom/],
    ['exit', /failed while starting the simulators: the provider simulators' thread ended while starting \(exit code 7\)/],
  ] as const) {
    const driver = await startBenchDriver({ args: ['--simulators-entry', FAKE_SIMULATORS, mode], output: silent });
    await expectDriverError(() => driver.startSimulators('instant', {}, 'k'), pattern, 10_000);
    // The driver itself is fine: it answers and closes.
    await driver.close();
    assert.ok(await waitGone(driver.pid, 5000), 'close() ends the driver');
  }
});

test('a simulators\' thread that crashes after it started ends the driver with a clear error', async () => {
  const driver = await startBenchDriver({ args: ['--simulators-entry', FAKE_SIMULATORS, 'crash-after-start'], output: silent });
  try {
    await driver.startSimulators('instant', {}, 'k');
    assert.ok(await waitGone(driver.pid, 10_000), 'the driver ended');
    await expectDriverError(
      () => driver.runLoad({ target: 'sip:127.0.0.1:9', number: '1000', calls: 1, turns: 1, bargeIn: false, voiceThresholdDbfs: -45, turnTimeoutMs: 1000, bindAddress: '127.0.0.1' }),
      // The reason follows the stage at once: it came over IPC before the exit, not only in the stderr tail.
      // "before" or "while": the parent may or may not have reaped the driver when the request starts.
      /exited with code 5 (before|while) running the calls: [^\n]*simulators' thread crashed: [^\n]*bang/,
    );
  } finally {
    await driver.close();
  }
});

test('a driver that never gets ready times out and is killed', async () => {
  const error = await expectDriverError(() => startBenchDriver({ entry: FAKE, args: ['silent'], readyTimeoutMs: 1500, output: silent }), /did not finish starting up within 1500 ms/, 30_000);
  const pid = Number(/pid (\d+)/.exec(error.message)?.[1]);
  assert.ok(pid > 0);
  assert.ok(await waitGone(pid, 5000), 'the hung driver was killed');
});

test('runBench: a driver dying during startup is a clear error, not a hang', async () => {
  await expectDriverError(() => runOneCall({ entry: FAKE, args: ['crash'] }), /bench driver .*exited with code 3 while starting up/, 30_000);
});

test('runBench: a simulators\' thread crashing during startup is a clear error, quickly', async () => {
  await expectDriverError(
    () => runOneCall({ args: ['--simulators-entry', FAKE_SIMULATORS, 'crash'] }),
    /starting the simulators: the provider simulators' thread crashed while starting: .*boom/, 15_000,
  );
});

test('the driver exits when its parent is killed', async () => {
  const parent = spawn(process.execPath, ['--import', 'tsx', PARENT], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const pid = await new Promise<number>((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error(`no driver pid from the parent: ${out}`)), 60_000);
      parent.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /driver (\d+)/.exec(out);
        if (m) { clearTimeout(timer); resolve(Number(m[1])); }
      });
      parent.on('exit', (code) => { clearTimeout(timer); reject(new Error(`parent exited (${code}): ${out}`)); });
    });
    assert.ok(alive(pid), 'the driver runs');
    parent.kill('SIGKILL');
    assert.ok(await waitGone(pid, 5000), `driver ${pid} outlived its parent`);
  } finally {
    parent.kill('SIGKILL');
  }
});

test.run();
