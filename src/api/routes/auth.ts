/**
 * Login and logout (POST /v1/auth/login, /v1/auth/logout), and the browser
 * console's login (POST /v1/auth/cookie-login), whose session token goes
 * into an HttpOnly cookie instead of the body (auth/cookie-session.ts).
 */
import { z } from 'zod';
import { auditInTx, revokeSession } from '../../../storage/index.ts';
import { clearedSessionCookies, cookieOf, isHttps, sessionCookies, SESSION_COOKIE } from '../auth/cookie-session.ts';
import { login } from '../auth/login.ts';
import { defineRoute } from '../route.ts';
import { emailSchema, iso, passwordInput, recoveryCode, roleSchema, timestamp, totpCode } from './common.ts';

const sessionOut = z.object({
  token: z.string().describe('Send as `Authorization: Bearer <token>`'),
  expiresAt: timestamp.describe('Absolute end of the session (it also ends after the inactivity timeout)'),
  sessionId: z.uuid(),
  tenantId: z.uuid(),
  user: z.object({ id: z.uuid(), email: z.string(), role: roleSchema, totpEnabled: z.boolean() }),
  mfaEnrolmentRequired: z.boolean().describe('The tenant requires 2FA for this role: only /v1/me and /v1/me/totp work until it is enrolled'),
}).meta({ id: 'Session' });

const { token: _token, ...cookieSessionFields } = sessionOut.shape;
const cookieSessionOut = z.object(cookieSessionFields).meta({ id: 'CookieSession', description: 'The session token is in the HttpOnly sa_session cookie; send sa_csrf\'s value as X-CSRF-Token on writes' });

const loginBody = z.strictObject({
  email: emailSchema, password: passwordInput,
  tenantId: z.uuid().optional().describe('Which tenant, when the address is a member of several (default: the oldest membership the password matches)'),
  totp: totpCode.optional(), recoveryCode: recoveryCode.optional(),
});

function sessionView(result: Awaited<ReturnType<typeof login>>) {
  return {
    expiresAt: iso(result.session.expiresAt), sessionId: result.session.id, tenantId: result.tenantId,
    user: { id: result.user.id, email: result.user.email, role: result.user.role, totpEnabled: result.user.totpEnabled },
    mfaEnrolmentRequired: result.session.mfaPending,
  };
}

export const authRoutes = [
  defineRoute({
    method: 'POST', url: '/auth/login', tag: 'auth', summary: 'Log in with e-mail and password (and a TOTP or recovery code when 2FA is on)',
    permission: 'public', bodyLimit: 4096,
    body: loginBody,
    response: sessionOut,
    handler: async ({ body, facts }) => {
      const result = await login(facts, body);
      return { token: result.token, ...sessionView(result) };
    },
  }),
  defineRoute({
    method: 'POST', url: '/auth/cookie-login', tag: 'auth', summary: 'Log in for the browser console: the session travels in an HttpOnly, SameSite=Strict cookie',
    permission: 'public', bodyLimit: 4096,
    body: loginBody,
    response: cookieSessionOut,
    handler: async ({ body, facts, request, reply }) => {
      const result = await login(facts, body);
      reply.header('set-cookie', sessionCookies(facts.deps.sessionSecret, { token: result.token, sessionId: result.session.id, expiresAt: result.session.expiresAt }, { secure: isHttps(request), now: facts.now() }));
      reply.header('cache-control', 'no-store');
      return sessionView(result);
    },
  }),
  defineRoute({
    method: 'POST', url: '/auth/logout', tag: 'auth', summary: 'End the current session',
    permission: 'self', allowDuringMfaEnrolment: true, status: 204,
    body: z.strictObject({}).optional(),
    response: z.null(),
    handler: async ({ ctx, request, reply }) => {
      const p = ctx.principal;
      if (cookieOf(request, SESSION_COOKIE) !== undefined) reply.header('set-cookie', clearedSessionCookies(isHttps(request)));
      if (p.kind !== 'user') return null; // an API key has no session to end
      await ctx.tenant(async (tx) => {
        await revokeSession(tx, p.userId, p.sessionId, ctx.now());
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'auth.logout', target: `session:${p.sessionId}`, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
];
