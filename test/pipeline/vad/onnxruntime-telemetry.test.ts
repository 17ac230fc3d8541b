/**
 * ONNX Runtime's telemetry stays off wherever the VAD runs: a process that
 * scores audio with the Silero model leaves no device identifier, event
 * cache or debug log behind (the runtime would upload those events to
 * Microsoft's collector; pipeline/vad/onnxruntime-telemetry.ts).
 *
 * Each case runs in a child process with its own empty HOME,
 * XDG_CACHE_HOME and TMPDIR, the places the runtime writes to, so what it
 * leaves can be listed. The control loads the runtime bare (no opt-out) to
 * show that those listings do see its telemetry when it is on; it runs in an
 * empty network namespace (`unshare -n`), so it cannot upload anything.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, needExternal } from '../../support/external.ts';

const PROBE = process.env.SMARTALEX_TELEMETRY_PROBE;

if (PROBE === 'ours') {
  // What the server does: the shared model, one window scored, the thread released.
  const { SileroModel, defaultModelPath } = await import('../../../pipeline/vad/index.ts');
  const model = await SileroModel.open(defaultModelPath());
  const probability = await model.run(new Float32Array(256), 8000, model.newState(8000));
  await model.release();
  console.log(`scored ${probability.toFixed(3)}`);
  process.exit(0);
} else if (PROBE === 'bare') {
  // The runtime as any other program loads it, without the opt-out.
  const { InferenceSession } = await import('onnxruntime-node');
  const { defaultModelPath } = await import('../../../pipeline/vad/index.ts');
  const session = await InferenceSession.create(defaultModelPath());
  await session.release();
  console.log('loaded');
  process.exit(0);
}

const root = fileURLToPath(new URL('../../..', import.meta.url));
const self = fileURLToPath(import.meta.url);

interface Probe { code: number | null; output: string; left: string[] }

/** Runs this file as `probe` in a clean environment; lists every file it left in its HOME, cache and temp directories. */
async function runProbe(probe: 'ours' | 'bare', prefix: string[] = []): Promise<Probe> {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-ort-telemetry-'));
  try {
    for (const sub of ['home', 'cache', 'tmp']) mkdirSync(join(dir, sub));
    const command = [...prefix, process.execPath, '--import', 'tsx', self];
    const child = spawn(command[0]!, command.slice(1), {
      cwd: root,
      // Nothing inherited: in particular not ORT_DISABLE_TELEMETRY, whatever this process has.
      env: { PATH: process.env.PATH ?? '', HOME: join(dir, 'home'), XDG_CACHE_HOME: join(dir, 'cache'), TMPDIR: join(dir, 'tmp'), SMARTALEX_TELEMETRY_PROBE: probe },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // tsx keeps its compile cache in TMPDIR (tsx-<uid>/): that is the loader, not the runtime.
    const left = listFiles(dir).map((f) => relative(dir, f)).filter((f) => !/^tmp\/tsx-\d+\//.test(f));
    return { code, output, left };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listFiles(full));
    else out.push(full);
  }
  return out;
}

test('a process that runs the VAD leaves no telemetry identifier, event cache or debug log', async () => {
  const probe = await runProbe('ours');
  assert.is(probe.code, 0, probe.output);
  assert.match(probe.output, /scored 0\.\d{3}/);
  assert.equal(probe.left, [], `files left by ONNX Runtime: ${probe.left.join(', ')}`);
});

test('control: the same listing sees the runtime\'s telemetry files when it is loaded without the opt-out', async () => {
  const isolated = hasCommand('unshare') && process.getuid?.() === 0;
  if (!needExternal(isolated, 'unshare as root', 'the telemetry control (it must not reach the network)')) return;
  const probe = await runProbe('bare', ['unshare', '-n', '--']);
  assert.is(probe.code, 0, probe.output);
  assert.ok(
    probe.left.some((f) => f.startsWith('cache/Microsoft/DeveloperTools/.onnxruntime/')),
    `expected ONNX Runtime's telemetry cache under XDG_CACHE_HOME without the opt-out; it left: [${probe.left.join(', ')}]. If this runtime no longer has telemetry, the opt-out (pipeline/vad/onnxruntime-telemetry.ts) can be reviewed.`,
  );
});

test.run();
