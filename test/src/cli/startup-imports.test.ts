/**
 * What a `smartalex` command loads before it runs: the operator commands
 * (tenants, numbers, users, keys...) must not pay for the call path. The
 * providers' SDKs alone (Deepgram, OpenAI) were two thirds of the modules an
 * `agent create` or `number add` loaded, about a second on a busy machine per
 * command. Each command loads its heavy part when it runs (`call`, `serve`,
 * the benchmarks; test/src/cli/call-compliance.test.ts and
 * test/e2e/cli-call.test.ts run `call` through the CLI); the rest share a
 * small graph.
 *
 * Read with a resolve hook (test/support/import-recorder.mjs) in a child
 * process, so the check sees the modules Node really loads, packages
 * included, not a reading of the sources.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const recorder = join(root, 'test/support/import-recorder.mjs');

/** The call path: what only `call`, `serve` and the benchmarks need. */
const CALL_PATH: Array<[string, RegExp]> = [
  ['the Deepgram SDK', /\/node_modules\/@deepgram\//],
  ['the OpenAI SDK', /\/node_modules\/openai\//],
  ['the providers', /\/pipeline\/providers\//],
  ['the call manager', /\/src\/calls\//],
  ['the server', /\/src\/server\.ts$/],
  ['the WebRTC stack', /\/node_modules\/(werift|node-datachannel)\//],
  // Not the call path, but as heavy and needed only with SMARTALEX_RECORDINGS_S3_BUCKET (src/recordings/vault-setup.ts).
  ['the AWS S3 SDK', /\/node_modules\/@aws-sdk\//],
];

/** Runs `node [--import tsx] --import <recorder> <entry> <args>` and returns the loaded modules (paths under the project). */
async function modulesLoadedBy(nodeArgs: string[], args: string[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-imports-'));
  const log = join(dir, 'imports.txt');
  try {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', recorder, ...nodeArgs, ...args], {
        cwd: root,
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SMARTALEX_DATA_DIR: join(dir, 'data'), SMARTALEX_IMPORT_LOG: log },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
      child.on('error', reject);
      child.on('close', (exit) => { clearTimeout(timer); resolve({ code: exit, stderr: err }); });
    });
    assert.is(code, 0, `the command failed: ${stderr}`);
    const rootUrl = pathToFileURL(root.endsWith('/') ? root : `${root}/`).href;
    const shown = (url: string): string => (url.startsWith(rootUrl) ? `/${url.slice(rootUrl.length)}` : fileURLToPath(url));
    return [...new Set(readFileSync(log, 'utf8').split('\n').filter(Boolean))].map(shown);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function callPathIn(modules: string[]): string[] {
  const found: string[] = [];
  for (const [name, pattern] of CALL_PATH) {
    const hit = modules.find((m) => pattern.test(m));
    if (hit) found.push(`${name} (${hit})`);
  }
  return found;
}

for (const [entry, nodeArgs] of [
  ['src/cli/main.ts (the server\'s commands)', ['--import', 'tsx', 'src/cli/main.ts']],
  ['bin/smartalex.js (with the benchmarks)', ['bin/smartalex.js']],
] as const) {
  test(`${entry}: the operator commands load none of the call path`, async () => {
    const modules = await modulesLoadedBy([...nodeArgs], ['tenant', 'create', '--help']);
    // The listing works: the commands' own graph is in it.
    for (const expected of [/\/src\/cli\/admin\.ts$/, /\/storage\/index\.ts$/, /\/node_modules\/drizzle-orm\//, /\/src\/resources\/agents\.ts$/]) {
      assert.ok(modules.some((m) => expected.test(m)), `expected a module matching ${expected} among the ${modules.length} loaded`);
    }
    assert.equal(callPathIn(modules), [], 'loaded at start-up');
  });
}

test.run();
