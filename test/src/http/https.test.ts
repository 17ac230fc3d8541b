/**
 * HTTPS: with a certificate (a throwaway one from openssl) the HTTP server
 * speaks TLS only, 1.2 at least (a TLS 1.1 client is refused; a modern one
 * gets 1.3), with HSTS and the usual security headers on every answer,
 * /healthz, /readyz, /metrics and /v1 included. Plain HTTP off loopback is a
 * configuration error unless explicitly allowed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { request as plainRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../../../src/config.ts';
import { createHttpServer } from '../../../src/http/server.ts';
import { createLogger } from '../../../src/log.ts';
import { checkStartupPaths } from '../../../src/startup-checks.ts';

function throwawayCertificate(dir: string): { cert: string; key: string; certPath: string; keyPath: string } {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  return { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8'), certPath, keyPath };
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; protocol: string | null; body: string }

function get(port: number, path: string, ca: string, tls: { maxVersion?: 'TLSv1.1' | 'TLSv1.3' } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, ca, servername: 'localhost', timeout: 5000, ...(tls.maxVersion ? { maxVersion: tls.maxVersion, minVersion: 'TLSv1' as const } : {}) }, (res) => {
      let body = '';
      const protocol = (res.socket as TLSSocket).getProtocol();
      res.on('data', (chunk: Buffer) => { body += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, protocol, body }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const dir = mkdtempSync(join(tmpdir(), 'smartalex-https-'));
const pem = throwawayCertificate(dir);

test('with a certificate: HTTPS only, TLS 1.3 negotiated, TLS 1.1 refused, HSTS and security headers everywhere', async () => {
  const app = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: { database: () => true }, tls: { cert: pem.cert, key: pem.key } });
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const port = (app.server.address() as { port: number }).port;
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await get(port, path, pem.cert);
      assert.is(res.status, 200, path);
      assert.is(res.protocol, 'TLSv1.3', path);
      assert.is(res.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains', path);
      assert.is(res.headers['x-content-type-options'], 'nosniff', path);
      assert.is(res.headers['x-frame-options'], 'SAMEORIGIN', path);
      assert.match(String(res.headers['content-security-policy']), /default-src 'none'/, path);
    }
    let refused: unknown;
    await get(port, '/healthz', pem.cert, { maxVersion: 'TLSv1.1' }).catch((error: unknown) => { refused = error; });
    assert.ok(refused, 'a TLS 1.1 client is refused');
    // Plain HTTP to the TLS port gets no HTTP answer.
    const plain = await new Promise<number | string>((resolve) => {
      const req = plainRequest({ host: '127.0.0.1', port, path: '/healthz', timeout: 5000 }, (res) => { res.resume(); resolve(res.statusCode ?? 0); });
      req.on('error', (error) => resolve(error.message));
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.end();
    });
    assert.not.equal(plain, 200);
  } finally {
    await app.close();
  }
});

test('plain HTTP: loopback by default; another address needs TLS or SMARTALEX_HTTP_ALLOW_PLAIN=true', () => {
  assert.is(loadConfig({}).SMARTALEX_HTTP_HOST, '127.0.0.1');
  assert.throws(() => loadConfig({ SMARTALEX_HTTP_HOST: '0.0.0.0' }), (e: Error) => e instanceof ConfigError && e.message.startsWith('SMARTALEX_HTTP_HOST: plain HTTP is served on loopback only'));
  assert.is(loadConfig({ SMARTALEX_HTTP_HOST: '0.0.0.0', SMARTALEX_HTTP_ALLOW_PLAIN: 'true' }).SMARTALEX_HTTP_ALLOW_PLAIN, true);
  assert.is(loadConfig({ SMARTALEX_HTTP_HOST: '0.0.0.0', SMARTALEX_HTTP_TLS_CERT: pem.certPath, SMARTALEX_HTTP_TLS_KEY: pem.keyPath }).SMARTALEX_HTTP_TLS_CERT, pem.certPath);
  for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) assert.ok(loadConfig({ SMARTALEX_HTTP_HOST: host }), host);
  assert.throws(() => loadConfig({ SMARTALEX_HTTP_TLS_CERT: pem.certPath }), (e: Error) => e.message.startsWith('SMARTALEX_HTTP_TLS_CERT: HTTPS needs both'));
  // A certificate and key that do not belong together stop start-up naming the setting.
  const other = throwawayCertificate(mkdtempSync(join(dir, 'other-')));
  assert.throws(() => checkStartupPaths({ SMARTALEX_DATA_DIR: dir, SMARTALEX_SIP_TLS_CERT: undefined, SMARTALEX_SIP_TLS_KEY: undefined, SMARTALEX_HTTP_TLS_CERT: pem.certPath, SMARTALEX_HTTP_TLS_KEY: other.keyPath }),
    (e: Error) => e.message.startsWith('SMARTALEX_HTTP_TLS_CERT: the certificate and SMARTALEX_HTTP_TLS_KEY do not form a usable pair'));
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
