/**
 * A bad path in the configuration ends `smartalex serve` with one line naming
 * the setting and exit code 2, never a stack trace: a data directory that is
 * a file or cannot be created, a TLS certificate or key path that cannot be
 * read or is not PEM. The checks themselves (src/startup-checks.ts) directly.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config.ts';
import { checkStartupPaths } from '../../src/startup-checks.ts';
import { root } from './cli/targets.ts';

const dir = mkdtempSync(join(tmpdir(), 'smartalex-startup-errors-'));
const aFile = join(dir, 'a-file');
writeFileSync(aFile, 'not a directory\n');
const notPem = join(dir, 'not-pem.txt');
writeFileSync(notPem, 'hello\n');
const goodDir = join(dir, 'data');
mkdirSync(goodDir);

function serve(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_HTTP_PORT: '0',
        SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_SIP_PORT: '0', SMARTALEX_LOG_LEVEL: 'info', ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

const oneLine = (r: { code: number | null; stdout: string; stderr: string }, pattern: RegExp): void => {
  assert.is(r.code, 2, `exit code (stderr: ${r.stderr})`);
  assert.is(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, pattern);
  assert.not.match(r.stderr, /\n\s+at /);
  assert.not.match(r.stdout, /smartalex media server started/);
};

test('serve: a data directory that is a file is one line naming SMARTALEX_DATA_DIR, exit 2', async () => {
  oneLine(await serve({ SMARTALEX_DATA_DIR: aFile }), /^smartalex: configuration error: SMARTALEX_DATA_DIR: .*a-file is not a directory\n$/);
});

test('serve: a data directory that cannot be created is one line naming SMARTALEX_DATA_DIR, exit 2', async () => {
  oneLine(await serve({ SMARTALEX_DATA_DIR: join(aFile, 'data') }), /^smartalex: configuration error: SMARTALEX_DATA_DIR: cannot create .* \(ENOTDIR\)\n$/);
});

test('serve: a TLS certificate path that does not exist is one line naming SMARTALEX_SIP_TLS_CERT, exit 2', async () => {
  const r = await serve({ SMARTALEX_DATA_DIR: goodDir, SMARTALEX_SIP_TLS_PORT: '0', SMARTALEX_SIP_TLS_CERT: join(dir, 'missing-cert.pem'), SMARTALEX_SIP_TLS_KEY: notPem });
  oneLine(r, /^smartalex: configuration error: SMARTALEX_SIP_TLS_CERT: cannot read .*missing-cert\.pem \(ENOENT\)\n$/);
});

const config = (over: Record<string, string | undefined>) => ({ SMARTALEX_DATA_DIR: goodDir, SMARTALEX_SIP_TLS_CERT: undefined, SMARTALEX_SIP_TLS_KEY: undefined, ...over });
const throwsNaming = (over: Record<string, string | undefined>, pattern: RegExp): void => {
  assert.throws(() => checkStartupPaths(config(over)), (e: unknown) => e instanceof ConfigError && pattern.test((e as Error).message));
};

test('checks: a missing data directory is created (mode 0700); files and unreadable paths are named', () => {
  const fresh = join(dir, 'fresh', 'data');
  checkStartupPaths(config({ SMARTALEX_DATA_DIR: fresh }));
  checkStartupPaths(config({})); // an existing directory passes
  throwsNaming({ SMARTALEX_DATA_DIR: aFile }, /^SMARTALEX_DATA_DIR: .* is not a directory$/);
  throwsNaming({ SMARTALEX_SIP_TLS_CERT: notPem, SMARTALEX_SIP_TLS_KEY: notPem }, /^SMARTALEX_SIP_TLS_CERT: .*not-pem\.txt is not a PEM file$/);
  throwsNaming({ SMARTALEX_SIP_TLS_CERT: '-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n', SMARTALEX_SIP_TLS_KEY: goodDir }, /^SMARTALEX_SIP_TLS_KEY: cannot read .* \(EISDIR\)$/);
  // Inline PEM that OpenSSL cannot use: named, without echoing the PEM.
  const bogus = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n';
  throwsNaming({ SMARTALEX_SIP_TLS_CERT: bogus, SMARTALEX_SIP_TLS_KEY: bogus.replaceAll('CERTIFICATE', 'PRIVATE KEY') }, /^SMARTALEX_SIP_TLS_CERT: the certificate and SMARTALEX_SIP_TLS_KEY do not form a usable pair \((?!.*bm90)/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
