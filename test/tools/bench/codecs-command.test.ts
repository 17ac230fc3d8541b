import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = fileURLToPath(new URL('../../..', import.meta.url));

test('`smartalex bench-codecs` prints encode and decode cost per call-second of each codec and the machine, and writes them as JSON', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'smartalex-bench-codecs-'));
  try {
    const json = join(dir, 'codecs.json');
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [join(root, 'bin/smartalex.js'), 'bench-codecs', '--rounds', '2', '--seconds', '5', '--json', json], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      child.on('error', reject);
      child.on('close', (exit) => resolve({ code: exit, stdout: out }));
    });
    assert.is(code, 0);
    assert.match(stdout, /encode p50/);
    assert.match(stdout, /PCMU \(8 kHz\)/);
    assert.match(stdout, /G722 \(16 kHz\)/);
    assert.match(stdout, /machine: \d+ x /);
    const report = JSON.parse(await readFile(json, 'utf8')) as { rounds: number; codecs: Array<{ codec: string; sampleRate: number; encodeCpuUs: { count: number; p50: number; p99: number }; decodeCpuUs: { p50: number } }> };
    assert.is(report.rounds, 2);
    assert.equal(report.codecs.map((c) => [c.codec, c.sampleRate]), [['PCMU', 8000], ['PCMA', 8000], ['G722', 16000], ['Opus', 48000]]);
    for (const c of report.codecs) {
      assert.is(c.encodeCpuUs.count, 2);
      assert.ok(c.encodeCpuUs.p50 >= 0 && c.encodeCpuUs.p99 >= c.encodeCpuUs.p50);
    }
    const g722 = report.codecs.find((c) => c.codec === 'G722')!;
    assert.ok(g722.encodeCpuUs.p50 > 0 && g722.decodeCpuUs.p50 > 0, 'G.722 costs measurable CPU');
    const opus = report.codecs.find((c) => c.codec === 'Opus')!;
    assert.ok(opus.encodeCpuUs.p50 > 0 && opus.decodeCpuUs.p50 > 0, 'Opus costs measurable CPU');
    assert.match(stdout, /Opus \(48 kHz\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test.run();
