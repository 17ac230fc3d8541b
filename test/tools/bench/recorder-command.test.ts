import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../../..', import.meta.url));

test('`smartalex bench-recorder` prints median and p99 of the recorder costs and the machine, and writes them as JSON', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smartalex-bench-recorder-'));
  try {
    const json = join(dir, 'recorder.json');
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, 'bin/smartalex.js'), 'bench-recorder', '--rounds', '2', '--seconds', '20', '--redactions-per-minute', '9', '--json', json], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      child.on('error', reject);
      child.on('close', (exit) => resolve({ code: exit, stdout: out }));
    });
    assert.is(code, 0);
    assert.match(stdout, /median\s+p99/);
    assert.match(stdout, /recorder with PCI audio redaction/);
    assert.match(stdout, /hold window memory per call: 94 KiB/);
    assert.match(stdout, /machine: \d+ x /);
    const report = JSON.parse(await readFile(json, 'utf8')) as { rounds: number; heldBytesPerCall: number; encryptCpuUs: { count: number; p50: number; p99: number }; redactingRecorderCpuUs: { p50: number } };
    assert.is(report.rounds, 2);
    assert.is(report.encryptCpuUs.count, 2);
    assert.ok(report.encryptCpuUs.p50 > 0 && report.encryptCpuUs.p99 >= report.encryptCpuUs.p50);
    assert.ok(report.redactingRecorderCpuUs.p50 > 0);
    assert.is(report.heldBytesPerCall, 150 * 160 * 4);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
