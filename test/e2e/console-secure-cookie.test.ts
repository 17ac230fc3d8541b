/**
 * The console's session cookie under HTTPS: the real server with its TLS
 * listener (SMARTALEX_HTTP_TLS_CERT/KEY, a throwaway certificate from
 * openssl) answers the console's cookie login with a session cookie that is
 * Secure, HttpOnly and SameSite=Strict, and a CSRF cookie that is Secure
 * and SameSite=Strict but readable by the page; the cookie then
 * authenticates over HTTPS, and logout clears both, still Secure.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createUserWithSetup } from '../../src/api/auth/accounts.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

const PASSWORD = 'Correct-Horse-7-Battery';
const run = needExternal(hasCommand('openssl'), 'openssl', 'the HTTPS session cookie test');

interface Answer { status: number; setCookie: string[]; body: string }

function call(port: number, ca: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca, servername: 'localhost', headers, timeout: 30_000 }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, setCookie: res.headers['set-cookie'] ?? [], body: text }));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(body);
  });
}

const named = (list: string[], name: string): string => list.find((c) => c.startsWith(`${name}=`)) ?? '';
const attributes = (setCookie: string): string[] => setCookie.split(';').slice(1).map((a) => a.trim().split('=')[0]!.toLowerCase());
const valueOf = (setCookie: string): string => setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));

const dir = mkdtempSync(join(tmpdir(), 'smartalex-console-https-'));
let t: TestServer | undefined;
let cert = '';

test.before(async () => {
  if (!run) return;
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', keyPath, '-out', certPath], { stdio: 'ignore' });
  cert = readFileSync(certPath, 'utf8');
  t = await startTestServer({ env: { SMARTALEX_HTTP_TLS_CERT: certPath, SMARTALEX_HTTP_TLS_KEY: keyPath } });
  await createUserWithSetup(t.db, t.tenantId, { email: 'owner@example.com', role: 'owner', password: PASSWORD, actor: 'test', now: new Date(), ttlMs: 3600_000 });
});

test.after(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

if (run) {
  test('over HTTPS the session cookie is Secure, HttpOnly and SameSite=Strict; logout clears it the same way', async () => {
    const port = t!.server.httpPort;
    const login = await call(port, cert, 'POST', '/v1/auth/cookie-login', { 'content-type': 'application/json' }, JSON.stringify({ email: 'owner@example.com', password: PASSWORD }));
    assert.is(login.status, 200, login.body);
    const session = named(login.setCookie, 'sa_session');
    const csrf = named(login.setCookie, 'sa_csrf');
    assert.ok(session && csrf, 'both cookies are set');
    assert.ok(attributes(session).includes('secure'), `Secure: ${session.replace(/=[^;]*/, '=…')}`);
    assert.ok(attributes(session).includes('httponly'), 'HttpOnly');
    assert.match(session, /;\s*SameSite=Strict(;|$)/);
    assert.ok(attributes(csrf).includes('secure'), 'the CSRF cookie is Secure too');
    assert.match(csrf, /;\s*SameSite=Strict(;|$)/);
    assert.not.ok(attributes(csrf).includes('httponly'), 'the page reads the CSRF token');

    const cookie = `sa_session=${valueOf(session)}; sa_csrf=${valueOf(csrf)}`;
    const me = await call(port, cert, 'GET', '/v1/me', { cookie });
    assert.is(me.status, 200, me.body);
    assert.is((JSON.parse(me.body) as { email: string }).email, 'owner@example.com');

    const logout = await call(port, cert, 'POST', '/v1/auth/logout', { cookie, 'x-csrf-token': valueOf(csrf) });
    assert.is(logout.status, 204, logout.body);
    const cleared = named(logout.setCookie, 'sa_session');
    assert.match(cleared, /Max-Age=0/);
    assert.ok(attributes(cleared).includes('secure') && attributes(cleared).includes('httponly'), 'the clearing cookie matches the one it replaces');
    assert.is((await call(port, cert, 'GET', '/v1/me', { cookie })).status, 401, 'the session is over');
  });
}

test.run();
