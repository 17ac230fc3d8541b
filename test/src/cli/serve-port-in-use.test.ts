/**
 * `smartalex serve` against a port another process already holds: the real
 * CLI exits 2 with one line on stderr naming the setting and the port (like
 * every configuration error), for SIP UDP, SIP TCP, SIP TLS and HTTP; never an
 * unhandled 'error' event and a stack trace.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hasCommand, needExternal } from '../../support/external.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-port-in-use-'));
test.after(() => rmSync(dataDir, { recursive: true, force: true }));

function serve(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '',
        SMARTALEX_DATA_DIR: dataDir, SMARTALEX_DEMO: 'false', SMARTALEX_LOG_LEVEL: 'silent', SMARTALEX_MEDIA_THREAD: 'false',
        SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_SIP_HOST: '127.0.0.1',
        SMARTALEX_HTTP_PORT: '0', SMARTALEX_SIP_PORT: '0', SMARTALEX_SIP_TLS_PORT: '0',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    // A server that started despite the occupied port would run until killed: the assertions below then fail.
    const timer = setTimeout(() => child.kill('SIGKILL'), 90_000);
    child.on('error', reject);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stderr }); });
  });
}

async function occupyTcp(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const address = server.address();
  return { port: typeof address === 'object' && address ? address.port : 0, server };
}

async function occupyUdp(): Promise<{ port: number; socket: UdpSocket }> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  return { port: socket.address().port, socket };
}

function assertOneLine(result: { code: number | null; stderr: string }, line: string): void {
  assert.is(result.stderr, `smartalex: configuration error: ${line}\n`);
  assert.is(result.code, 2);
}

test('SIP UDP port in use: exit 2, one line naming SMARTALEX_SIP_PORT and the port', async () => {
  const { port, socket } = await occupyUdp();
  try {
    assertOneLine(await serve({ SMARTALEX_SIP_PORT: String(port) }), `SMARTALEX_SIP_PORT: SIP UDP port ${port} on 127.0.0.1 is already in use`);
  } finally { socket.close(); }
});

test('SIP TCP port in use (UDP free): exit 2, one line naming SMARTALEX_SIP_PORT and the port', async () => {
  const { port, server } = await occupyTcp();
  try {
    assertOneLine(await serve({ SMARTALEX_SIP_PORT: String(port) }), `SMARTALEX_SIP_PORT: SIP TCP port ${port} on 127.0.0.1 is already in use`);
  } finally { server.close(); }
});

test('HTTP port in use: exit 2, one line naming SMARTALEX_HTTP_PORT and the port', async () => {
  const { port, server } = await occupyTcp();
  try {
    assertOneLine(await serve({ SMARTALEX_HTTP_PORT: String(port) }), `SMARTALEX_HTTP_PORT: HTTP port ${port} on 127.0.0.1 is already in use`);
  } finally { server.close(); }
});

if (needExternal(hasCommand('openssl'), 'openssl', 'the SIP TLS port-in-use test')) {
  test('SIP TLS port in use: exit 2, one line naming SMARTALEX_SIP_TLS_PORT and the port', async () => {
    const certFile = join(dataDir, 'cert.pem');
    const keyFile = join(dataDir, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=smartalex-test'], { stdio: 'ignore', timeout: 60_000 });
    const { port, server } = await occupyTcp();
    try {
      const result = await serve({ SMARTALEX_SIP_TLS_PORT: String(port), SMARTALEX_SIP_TLS_CERT: certFile, SMARTALEX_SIP_TLS_KEY: keyFile });
      assertOneLine(result, `SMARTALEX_SIP_TLS_PORT: SIP TLS port ${port} on 127.0.0.1 is already in use`);
    } finally { server.close(); }
  });
}

test.run();
