import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));

function runCli(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    child.stdin.end(stdin);
  });
}

test('smartalex redact: one JSON line per input line with typed entities; ordinary numbers kept', async () => {
  const input = [
    'my card is four one one one one one one one one one one one one one one one expiring oh nine twenty seven',
    'my social is 123-45-6789',
    'email john dot smith at gmail dot com or call plus four four double seven double zero nine double zero nine double zero',
    '',
    'two tickets for order 12 please',
  ].join('\n') + '\n';
  const { code, stdout, stderr } = await runCli(['redact'], input);
  assert.is(code, 0, stderr);
  const lines = stdout.trimEnd().split('\n').map((l) => JSON.parse(l) as { text: string; entities: { type: string; start: number; end: number }[] });
  assert.is(lines.length, 5);
  for (const line of lines) {
    assert.equal(Object.keys(line).sort(), ['entities', 'text']);
    for (const e of line.entities) assert.is(line.text.slice(e.start, e.end), `[${e.type}]`);
  }
  assert.equal(lines[0]!.entities.map((e) => e.type), ['CARD', 'CARD_EXPIRY']);
  assert.is(lines[1]!.text, 'my social is [SSN]');
  assert.equal(lines[2]!.entities.map((e) => e.type), ['EMAIL', 'PHONE']);
  assert.equal(lines[3], { text: '', entities: [] });
  assert.equal(lines[4], { text: 'two tickets for order 12 please', entities: [] });
  assert.not.match(stdout + stderr, /4111|123-45|smith/);
});

test('smartalex redact: empty input writes nothing and exits 0', async () => {
  const { code, stdout } = await runCli(['redact'], '');
  assert.is(code, 0);
  assert.is(stdout, '');
});

test.run();
