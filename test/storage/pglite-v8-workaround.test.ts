/**
 * The PGlite V8 workaround (storage/pglite-v8-workaround.ts): on a V8 with the
 * process-wide tiered wasm-to-JS wrapper cache (Node 24), PGlite compiles no
 * wrapper once the workaround is applied (so none is freed, where V8 can abort
 * the process), and does without it: the control shows the probe can fail.
 * Read from V8's own code log of a child process. On an older V8 (Node 20) the
 * workaround does not apply and sets nothing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyPGliteV8Workaround, v8HasTieredImportWrappers } from '../../storage/pglite-v8-workaround.ts';

const probe = fileURLToPath(new URL('./fixtures/pglite-wrapper-probe.ts', import.meta.url));

/** Compiled wasm-to-JS wrappers in the probe's V8 code log, with the workaround on or off. */
async function wrappersCompiled(mode: 'on' | 'off'): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-v8log-'));
  try {
    const log = join(dir, 'v8.log');
    const child = spawn(process.execPath, ['--log-code', `--logfile=${log}`, '--no-logfile-per-isolate', '--import', 'tsx', probe, mode], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.is(code, 0, `the probe (${mode}) failed: ${stderr.slice(-2000)}`);
    return readFileSync(log, 'utf8').split('\n').filter((line) => line.startsWith('code-creation,') && line.split(',')[6] === 'wasm-to-js').length;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('which V8 has the tiered wrapper cache', () => {
  assert.ok(v8HasTieredImportWrappers('13.6.233.17-node.53'));
  assert.not.ok(v8HasTieredImportWrappers('11.3.244.8-node.33'));
  assert.not.ok(v8HasTieredImportWrappers('12.4.254.21-node.33'));
});

if (v8HasTieredImportWrappers()) {
  test(`V8 ${process.versions.v8}: with the workaround PGlite compiles no wasm-to-JS wrapper; without it, it does`, async () => {
    const without = await wrappersCompiled('off');
    assert.ok(without > 0, 'the control: PGlite tiers its import wrappers up when nothing stops it');
    assert.is(await wrappersCompiled('on'), 0);
  });
} else {
  test(`V8 ${process.versions.v8}: the workaround does not apply`, () => {
    assert.is(applyPGliteV8Workaround(), false);
  });
}

test.run();
