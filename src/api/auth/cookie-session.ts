/**
 * A session carried in a cookie, for the browser console (/console): the
 * session token in `sa_session` (HttpOnly, SameSite=Strict, Secure under
 * HTTPS, Path=/), so page script never sees it. A cookie travels with every
 * request the browser makes, so every write authenticated by it must also
 * carry `X-CSRF-Token`: an HMAC of the session id under the server's session
 * secret (a signed double-submit token). The page reads it from the
 * `sa_csrf` cookie (not HttpOnly, same attributes); another origin can
 * neither read it nor compute it. Bearer credentials need none of this.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'sa_session';
export const CSRF_COOKIE = 'sa_csrf';
export const CSRF_HEADER = 'x-csrf-token';

/** Methods that change nothing, so need no CSRF token. */
const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export function csrfTokenFor(secret: Buffer, sessionId: string): string {
  return createHmac('sha256', secret).update(`csrf:${sessionId}`).digest('base64url');
}

/** One cookie's value from the request's Cookie header (the first of that name), or undefined. */
export function cookieOf(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (typeof header !== 'string') return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return /^[!-~]{1,4096}$/.test(value) ? value : undefined;
  }
  return undefined;
}

/** True when the request came over TLS (the cookie is then Secure). */
export function isHttps(request: FastifyRequest): boolean {
  return (request.socket as { encrypted?: boolean }).encrypted === true;
}

function cookie(name: string, value: string, opts: { httpOnly: boolean; secure: boolean; maxAgeS: number }): string {
  return [`${name}=${value}`, 'Path=/', `Max-Age=${opts.maxAgeS}`, 'SameSite=Strict', ...(opts.httpOnly ? ['HttpOnly'] : []), ...(opts.secure ? ['Secure'] : [])].join('; ');
}

/** Set-Cookie values for a new session: the token (HttpOnly) and its CSRF token (readable by the page). */
export function sessionCookies(secret: Buffer, session: { token: string; sessionId: string; expiresAt: Date }, opts: { secure: boolean; now: Date }): string[] {
  const maxAgeS = Math.max(1, Math.floor((session.expiresAt.getTime() - opts.now.getTime()) / 1000));
  return [
    cookie(SESSION_COOKIE, session.token, { httpOnly: true, secure: opts.secure, maxAgeS }),
    cookie(CSRF_COOKIE, csrfTokenFor(secret, session.sessionId), { httpOnly: false, secure: opts.secure, maxAgeS }),
  ];
}

/** Set-Cookie values that remove both cookies (logout). */
export function clearedSessionCookies(secure: boolean): string[] {
  return [cookie(SESSION_COOKIE, '', { httpOnly: true, secure, maxAgeS: 0 }), cookie(CSRF_COOKIE, '', { httpOnly: false, secure, maxAgeS: 0 })];
}

/** True when `request` may proceed with a cookie session: a safe method, or the right X-CSRF-Token. */
export function csrfSatisfied(request: FastifyRequest, secret: Buffer, sessionId: string): boolean {
  if (SAFE_METHODS.has(request.method)) return true;
  const presented = request.headers[CSRF_HEADER];
  if (typeof presented !== 'string') return false;
  const expected = Buffer.from(csrfTokenFor(secret, sessionId));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
