/**
 * Configuration: each bad setting stops start-up with one ConfigError line that
 * names the setting and what is expected, and never echoes a secret; the
 * optional JSON config file (SMARTALEX_CONFIG) is read and the environment
 * overrides it; the real CLI exits 2 with that single line on stderr.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from '../../src/config.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    assert.instance(error, ConfigError);
    return error as ConfigError;
  }
  assert.unreachable(`no ConfigError for ${JSON.stringify(Object.keys(env))}`);
  throw new Error('unreachable');
}

test('defaults: embedded database in ./data, HTTP 8080, SIP 5060', () => {
  const config = loadConfig({});
  assert.is(config.SMARTALEX_HTTP_PORT, 8080);
  assert.is(config.SMARTALEX_SIP_PORT, 5060);
  assert.is(config.SMARTALEX_DATA_DIR, './data');
  assert.is(config.DATABASE_URL, undefined);
  assert.is(config.SMARTALEX_DB_APP_ROLE, 'smartalex_app');
  assert.is(config.SMARTALEX_DEMO, true);
});

test('the media thread is on by default and can be turned off', () => {
  assert.is(loadConfig({}).SMARTALEX_MEDIA_THREAD, true);
  assert.is(loadConfig({ SMARTALEX_MEDIA_THREAD: 'false' }).SMARTALEX_MEDIA_THREAD, false);
  assert.is(loadConfig({ SMARTALEX_MEDIA_THREAD: '0' }).SMARTALEX_MEDIA_THREAD, false);
  assert.match(configError({ SMARTALEX_MEDIA_THREAD: 'sometimes' }).message, /^SMARTALEX_MEDIA_THREAD: must be one of/);
});

test('the media thread priority is unset by default, a nice value -20..19 when given', () => {
  assert.is(loadConfig({}).SMARTALEX_MEDIA_THREAD_NICE, undefined);
  assert.is(loadConfig({ SMARTALEX_MEDIA_THREAD_NICE: '-10' }).SMARTALEX_MEDIA_THREAD_NICE, -10);
  assert.match(configError({ SMARTALEX_MEDIA_THREAD_NICE: '30' }).message, /^SMARTALEX_MEDIA_THREAD_NICE: /);
  assert.match(configError({ SMARTALEX_MEDIA_THREAD_NICE: 'high' }).message, /^SMARTALEX_MEDIA_THREAD_NICE: /);
});

test('SIP digest algorithms: MD5 alone by default (what deployed UAs answer), any order or SHA-256 alone when set', () => {
  assert.equal(loadConfig({}).SMARTALEX_SIP_DIGEST_ALGORITHMS, ['MD5']);
  assert.equal(loadConfig({ SMARTALEX_SIP_DIGEST_ALGORITHMS: 'SHA-256' }).SMARTALEX_SIP_DIGEST_ALGORITHMS, ['SHA-256']);
  assert.equal(loadConfig({ SMARTALEX_SIP_DIGEST_ALGORITHMS: 'sha-256, md5' }).SMARTALEX_SIP_DIGEST_ALGORITHMS, ['SHA-256', 'MD5']);
  assert.match(configError({ SMARTALEX_SIP_DIGEST_ALGORITHMS: 'SHA-1' }).message, /^SMARTALEX_SIP_DIGEST_ALGORITHMS: must be MD5, SHA-256 or both, comma-separated, in challenge order: unknown digest algorithm "SHA-1".* \(got "SHA-1"\)$/);
  assert.match(configError({ SMARTALEX_SIP_DIGEST_ALGORITHMS: 'MD5,MD5' }).message, /listed twice/);
  assert.match(configError({ SMARTALEX_SIP_DIGEST_ALGORITHMS: 'MD5,' }).message, /^SMARTALEX_SIP_DIGEST_ALGORITHMS: /);
});

test('the public base URL: unset by default; http(s) origin with an optional path, trailing slash dropped; nothing else', () => {
  assert.is(loadConfig({}).SMARTALEX_PUBLIC_BASE_URL, undefined);
  assert.is(loadConfig({ SMARTALEX_PUBLIC_BASE_URL: 'https://media.example.com/' }).SMARTALEX_PUBLIC_BASE_URL, 'https://media.example.com');
  assert.is(loadConfig({ SMARTALEX_PUBLIC_BASE_URL: 'https://media.example.com:8443/smartalex/' }).SMARTALEX_PUBLIC_BASE_URL, 'https://media.example.com:8443/smartalex');
  assert.is(loadConfig({ SMARTALEX_PUBLIC_BASE_URL: 'http://203.0.113.7:8080' }).SMARTALEX_PUBLIC_BASE_URL, 'http://203.0.113.7:8080');
  for (const bad of ['media.example.com', 'ftp://media.example.com', 'https://user:pw@media.example.com', 'https://media.example.com/?a=1', 'https://media.example.com/#x', 'javascript:alert(1)']) {
    assert.match(configError({ SMARTALEX_PUBLIC_BASE_URL: bad }).message, /^SMARTALEX_PUBLIC_BASE_URL: must be an http:\/\/ or https:\/\/ URL without credentials, query or fragment/, bad);
  }
  assert.not.match(configError({ SMARTALEX_PUBLIC_BASE_URL: 'https://user:hunter2@media.example.com' }).message, /hunter2/, 'credentials echoed');
});

test('outgoing SIP TLS verifies the peer by default; verification can be turned off explicitly', () => {
  assert.is(loadConfig({}).SMARTALEX_SIP_TLS_VERIFY, true);
  assert.is(loadConfig({}).SMARTALEX_SIP_TLS_CA, undefined);
  assert.is(loadConfig({ SMARTALEX_SIP_TLS_VERIFY: 'false' }).SMARTALEX_SIP_TLS_VERIFY, false);
  assert.match(configError({ SMARTALEX_SIP_TLS_VERIFY: 'lax' }).message, /^SMARTALEX_SIP_TLS_VERIFY: must be one of/);
});

test('SMARTALEX_SIP_TLS_CA is a PEM file (or PEM text) of certificates; anything else stops start-up with one line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-config-'));
  try {
    const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
    const file = join(dir, 'ca.pem');
    writeFileSync(file, pem);
    assert.is(loadConfig({ SMARTALEX_SIP_TLS_CA: file }).SMARTALEX_SIP_TLS_CA, file);
    assert.is(loadConfig({ SMARTALEX_SIP_TLS_CA: pem }).SMARTALEX_SIP_TLS_CA, pem);
    const missing = configError({ SMARTALEX_SIP_TLS_CA: join(dir, 'missing.pem') }).message;
    assert.match(missing, /^SMARTALEX_SIP_TLS_CA: must be a readable PEM file of CA certificates/);
    assert.not.match(missing, /\n/);
    const notPem = join(dir, 'key.txt');
    writeFileSync(notPem, 'not a certificate');
    assert.match(configError({ SMARTALEX_SIP_TLS_CA: notPem }).message, /^SMARTALEX_SIP_TLS_CA: must be a readable PEM file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIP limits: defaults, overrides, and bad values named', () => {
  const defaults = loadConfig({});
  assert.is(defaults.SMARTALEX_SIP_MESSAGE_TIMEOUT_S, 5);
  assert.is(defaults.SMARTALEX_SIP_MAX_CONNECTIONS, 1000);
  assert.is(defaults.SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE, 64);
  assert.is(defaults.SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS, 5000);
  const set = loadConfig({
    SMARTALEX_SIP_MESSAGE_TIMEOUT_S: '2.5', SMARTALEX_SIP_MAX_CONNECTIONS: '50',
    SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE: '4', SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS: '100',
  });
  assert.is(set.SMARTALEX_SIP_MESSAGE_TIMEOUT_S, 2.5);
  assert.is(set.SMARTALEX_SIP_MAX_CONNECTIONS, 50);
  assert.is(set.SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE, 4);
  assert.is(set.SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS, 100);
  assert.match(configError({ SMARTALEX_SIP_MESSAGE_TIMEOUT_S: '0' }).message, /^SMARTALEX_SIP_MESSAGE_TIMEOUT_S: /);
  assert.match(configError({ SMARTALEX_SIP_MESSAGE_TIMEOUT_S: '3600' }).message, /^SMARTALEX_SIP_MESSAGE_TIMEOUT_S: /);
  assert.match(configError({ SMARTALEX_SIP_MAX_CONNECTIONS: 'many' }).message, /^SMARTALEX_SIP_MAX_CONNECTIONS: /);
  assert.match(configError({ SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE: '0' }).message, /^SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE: /);
  assert.match(configError({ SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE: '2.5' }).message, /^SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE: /);
  assert.match(configError({ SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS: '-1' }).message, /^SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS: /);
});

test('the WebRTC ICE port range: unset by default, both ends or neither, min at most max', () => {
  const defaults = loadConfig({});
  assert.is(defaults.SMARTALEX_WEBRTC_PORT_MIN, undefined);
  assert.is(defaults.SMARTALEX_WEBRTC_PORT_MAX, undefined);
  const set = loadConfig({ SMARTALEX_WEBRTC_PORT_MIN: '50000', SMARTALEX_WEBRTC_PORT_MAX: '50099' });
  assert.is(set.SMARTALEX_WEBRTC_PORT_MIN, 50000);
  assert.is(set.SMARTALEX_WEBRTC_PORT_MAX, 50099);
  assert.match(configError({ SMARTALEX_WEBRTC_PORT_MIN: '50000' }).message, /^SMARTALEX_WEBRTC_PORT_MIN: set it together with SMARTALEX_WEBRTC_PORT_MAX/);
  assert.match(configError({ SMARTALEX_WEBRTC_PORT_MIN: '50100', SMARTALEX_WEBRTC_PORT_MAX: '50000' }).message, /^SMARTALEX_WEBRTC_PORT_MIN: must be 1-65535 and at most/);
  assert.match(configError({ SMARTALEX_WEBRTC_PORT_MIN: 'low', SMARTALEX_WEBRTC_PORT_MAX: '50000' }).message, /^SMARTALEX_WEBRTC_PORT_MIN: /);
});

test('port 0 (an ephemeral port) is accepted', () => {
  assert.is(loadConfig({ SMARTALEX_HTTP_PORT: '0', SMARTALEX_SIP_PORT: '0' }).SMARTALEX_HTTP_PORT, 0);
});

const badSettings: { name: string; env: Record<string, string>; setting: string; expected: RegExp }[] = [
  { name: 'a port that is not a number', env: { SMARTALEX_HTTP_PORT: 'http' }, setting: 'SMARTALEX_HTTP_PORT', expected: /port number 0-65535/ },
  { name: 'a port above 65535', env: { SMARTALEX_SIP_PORT: '70000' }, setting: 'SMARTALEX_SIP_PORT', expected: /port number 0-65535/ },
  { name: 'a negative port', env: { SMARTALEX_HTTP_PORT: '-1' }, setting: 'SMARTALEX_HTTP_PORT', expected: /port number 0-65535/ },
  { name: 'a fractional port', env: { SMARTALEX_HTTP_PORT: '80.5' }, setting: 'SMARTALEX_HTTP_PORT', expected: /port number 0-65535/ },
  { name: 'a blank port', env: { SMARTALEX_HTTP_PORT: '  ' }, setting: 'SMARTALEX_HTTP_PORT', expected: /port number 0-65535/ },
  { name: 'an RTP range with min above max', env: { SMARTALEX_RTP_PORT_MIN: '30000', SMARTALEX_RTP_PORT_MAX: '20000' }, setting: 'SMARTALEX_RTP_PORT_MIN', expected: /below SMARTALEX_RTP_PORT_MAX/ },
  { name: 'an empty RTP range', env: { SMARTALEX_RTP_PORT_MIN: '20000', SMARTALEX_RTP_PORT_MAX: '20000' }, setting: 'SMARTALEX_RTP_PORT_MIN', expected: /below SMARTALEX_RTP_PORT_MAX/ },
  { name: 'a log level pino does not know', env: { SMARTALEX_LOG_LEVEL: 'loud' }, setting: 'SMARTALEX_LOG_LEVEL', expected: /one of .*"info"/ },
  { name: 'a non-boolean demo flag', env: { SMARTALEX_DEMO: 'maybe' }, setting: 'SMARTALEX_DEMO', expected: /one of .*"false"/ },
  { name: 'an invalid role name', env: { SMARTALEX_DB_APP_ROLE: 'App; drop' }, setting: 'SMARTALEX_DB_APP_ROLE', expected: /Postgres role name/ },
  { name: 'TLS with a certificate and no key', env: { SMARTALEX_SIP_TLS_CERT: '/etc/cert.pem' }, setting: 'SMARTALEX_SIP_TLS_CERT', expected: /SMARTALEX_SIP_TLS_KEY/ },
];

for (const c of badSettings) {
  test(`rejected: ${c.name}`, () => {
    const error = configError(c.env);
    assert.ok(error.message.startsWith(`${c.setting}: `), error.message);
    assert.match(error.message, c.expected);
    assert.not.match(error.message, /\n/);
  });
}

const secrets: { name: string; env: Record<string, string>; setting: string; expected: RegExp; secret: string }[] = [
  { name: 'a DATABASE_URL that is not postgres://', env: { DATABASE_URL: 'mysql://admin:hunter2-secret@db/app' }, setting: 'DATABASE_URL', expected: /postgres:\/\/ URL/, secret: 'hunter2-secret' },
  { name: 'an app DATABASE_URL that is not postgres://', env: { SMARTALEX_APP_DATABASE_URL: 'http://app:s3cr3t-pass@db' }, setting: 'SMARTALEX_APP_DATABASE_URL', expected: /postgres:\/\/ URL/, secret: 's3cr3t-pass' },
  { name: 'a master key of the wrong length', env: { SMARTALEX_MASTER_KEY: 'c2VjcmV0LW1hc3Rlci1rZXk=' }, setting: 'SMARTALEX_MASTER_KEY', expected: /32 bytes as base64 .* or hex/, secret: 'c2VjcmV0LW1hc3Rlci1rZXk' },
  { name: 'a master key that is neither base64 nor hex', env: { SMARTALEX_MASTER_KEY: 'not a key!!' }, setting: 'SMARTALEX_MASTER_KEY', expected: /32 bytes/, secret: 'not a key' },
];

for (const c of secrets) {
  test(`rejected without echoing the secret: ${c.name}`, () => {
    const error = configError(c.env);
    assert.ok(error.message.startsWith(`${c.setting}: `), error.message);
    assert.match(error.message, c.expected);
    assert.not.ok(error.message.includes(c.secret), `secret echoed: ${error.message}`);
    assert.not.match(error.message, /\n/);
  });
}

test('a well-formed master key is accepted, hex or base64', () => {
  assert.is(loadConfig({ SMARTALEX_MASTER_KEY: 'ab'.repeat(32) }).SMARTALEX_MASTER_KEY, 'ab'.repeat(32));
  const b64 = Buffer.alloc(32, 7).toString('base64');
  assert.is(loadConfig({ SMARTALEX_MASTER_KEY: b64 }).SMARTALEX_MASTER_KEY, b64);
});

test('the config file is read and the environment overrides it', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-config-'));
  try {
    const file = join(dir, 'config.json');
    writeFileSync(file, JSON.stringify({ SMARTALEX_HTTP_PORT: 9090, SMARTALEX_LOG_LEVEL: 'debug', SMARTALEX_DEMO: false, SMARTALEX_DATA_DIR: '/srv/smartalex' }));
    const fromFile = loadConfig({ SMARTALEX_CONFIG: file });
    assert.is(fromFile.SMARTALEX_HTTP_PORT, 9090);
    assert.is(fromFile.SMARTALEX_LOG_LEVEL, 'debug');
    assert.is(fromFile.SMARTALEX_DEMO, false);
    assert.is(fromFile.SMARTALEX_DATA_DIR, '/srv/smartalex');
    const overridden = loadConfig({ SMARTALEX_CONFIG: file, SMARTALEX_HTTP_PORT: '7070', SMARTALEX_LOG_LEVEL: '' });
    assert.is(overridden.SMARTALEX_HTTP_PORT, 7070);
    assert.is(overridden.SMARTALEX_LOG_LEVEL, 'debug', 'an empty variable does not override the file');
    // A bad value in the file is reported like one in the environment.
    writeFileSync(file, JSON.stringify({ SMARTALEX_RTP_PORT_MIN: 5, SMARTALEX_RTP_PORT_MAX: 4 }));
    assert.match(configError({ SMARTALEX_CONFIG: file }).message, /^SMARTALEX_RTP_PORT_MIN: must be below/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreadable or malformed config file is a ConfigError naming SMARTALEX_CONFIG', () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-config-'));
  try {
    assert.match(configError({ SMARTALEX_CONFIG: join(dir, 'missing.json') }).message, /^SMARTALEX_CONFIG: cannot read config file /);
    const file = join(dir, 'config.json');
    writeFileSync(file, '{"SMARTALEX_HTTP_PORT": 80,');
    assert.match(configError({ SMARTALEX_CONFIG: file }).message, /^SMARTALEX_CONFIG: .* must be a JSON object of settings/);
    writeFileSync(file, '[1, 2]');
    assert.match(configError({ SMARTALEX_CONFIG: file }).message, /^SMARTALEX_CONFIG: .* must be a JSON object of settings/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function runServe(env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('`smartalex serve` with a bad setting exits 2 with one line on stderr', async () => {
  const result = await runServe({ SMARTALEX_HTTP_PORT: 'eighty', SMARTALEX_DATA_DIR: join(tmpdir(), 'smartalex-never-created') });
  assert.is(result.code, 2);
  assert.is(result.stdout, '');
  assert.is(result.stderr, 'smartalex: configuration error: SMARTALEX_HTTP_PORT: must be a port number 0-65535 (got "eighty")\n');
});

test('`smartalex serve` with a bad secret exits 2 without printing it', async () => {
  const result = await runServe({ DATABASE_URL: 'mysql://root:topsecret-pw@db/x' });
  assert.is(result.code, 2);
  assert.is(result.stderr.split('\n').filter(Boolean).length, 1);
  assert.match(result.stderr, /^smartalex: configuration error: DATABASE_URL: must be a postgres:\/\/ URL\n$/);
  assert.not.ok(result.stderr.includes('topsecret-pw'));
});

test.run();
