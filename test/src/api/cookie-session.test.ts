/**
 * The console's cookie session: cookie-login sets an HttpOnly, SameSite=Strict
 * session cookie (Secure only under HTTPS) and a readable CSRF cookie, never
 * the token in the body; the cookie authenticates reads; a write through the
 * cookie needs the matching X-CSRF-Token (missing, wrong or another session's
 * token: 403, nothing changed); an API key is never accepted as a cookie;
 * logout clears both cookies and the session is over.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { LightMyRequestResponse } from 'fastify';
import { apiHarness, PASSWORD } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';

function cookies(res: LightMyRequestResponse): Map<string, string> {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return new Map(list.map((c) => [c.slice(0, c.indexOf('=')), c]));
}
const valueOf = (setCookie: string): string => setCookie.slice(setCookie.indexOf('=') + 1, setCookie.indexOf(';'));

const [backend] = await backends();
test('cookie login, reads, CSRF-guarded writes and logout', async () => {
  const h = await apiHarness(await backend!.open());
  try {
    const tenant = await h.tenant();
    const user = await h.user(tenant, 'admin');
    const other = await h.user(tenant, 'admin');
    const login = await h.app.inject({ method: 'POST', url: '/v1/auth/cookie-login', payload: { email: user.email, password: PASSWORD } });
    assert.is(login.statusCode, 200, login.body);
    assert.not.ok('token' in login.json(), 'the token never reaches page script');
    const set = cookies(login);
    const session = set.get('sa_session')!;
    const csrf = set.get('sa_csrf')!;
    assert.match(session, /; HttpOnly/);
    assert.match(session, /; SameSite=Strict/);
    assert.not.match(session, /Secure/, 'plain HTTP on loopback: no Secure flag (the browser would drop it)');
    assert.not.match(csrf, /HttpOnly/, 'the page reads the CSRF token');
    const cookie = `sa_session=${valueOf(session)}; sa_csrf=${valueOf(csrf)}`;

    const me = await h.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } });
    assert.is(me.statusCode, 200);
    assert.is(me.json().email, user.email);

    const write = (headers: Record<string, string>) => h.app.inject({ method: 'POST', url: '/v1/agents', headers: { cookie, ...headers }, payload: { name: 'csrf-probe' } });
    const missing = await write({});
    assert.is(missing.statusCode, 403);
    assert.is(missing.json().code, 'csrf_token_invalid');
    assert.is((await write({ 'x-csrf-token': 'A'.repeat(43) })).statusCode, 403);
    const otherLogin = await h.app.inject({ method: 'POST', url: '/v1/auth/cookie-login', payload: { email: other.email, password: PASSWORD } });
    assert.is((await write({ 'x-csrf-token': valueOf(cookies(otherLogin).get('sa_csrf')!) })).statusCode, 403, "another session's token");
    const agents = await h.app.inject({ method: 'GET', url: '/v1/agents', headers: { cookie } });
    assert.equal(agents.json().items.filter((a: { name: string }) => a.name === 'csrf-probe'), [], 'refused writes changed nothing');
    assert.is((await write({ 'x-csrf-token': valueOf(csrf) })).statusCode, 201);

    const key = (await h.bearer(tenant, 'owner')).slice('Bearer '.length);
    assert.is((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie: `sa_session=${key}` } })).statusCode, 401, 'an API key is not a cookie credential');

    const logout = await h.app.inject({ method: 'POST', url: '/v1/auth/logout', headers: { cookie, 'x-csrf-token': valueOf(csrf) } });
    assert.is(logout.statusCode, 204);
    assert.match(cookies(logout).get('sa_session')!, /Max-Age=0/);
    assert.is((await h.app.inject({ method: 'GET', url: '/v1/me', headers: { cookie } })).statusCode, 401, 'the session is over');
  } finally {
    await h.close();
    await backend!.cleanup();
  }
});

test.run();
