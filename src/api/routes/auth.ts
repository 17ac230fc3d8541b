/** Login and logout (POST /v1/auth/login, /v1/auth/logout). */
import { z } from 'zod';
import { auditInTx, revokeSession } from '../../../storage/index.ts';
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

export const authRoutes = [
  defineRoute({
    method: 'POST', url: '/auth/login', tag: 'auth', summary: 'Log in with e-mail and password (and a TOTP or recovery code when 2FA is on)',
    permission: 'public', bodyLimit: 4096,
    body: z.strictObject({
      email: emailSchema, password: passwordInput,
      tenantId: z.uuid().optional().describe('Which tenant, when the address is a member of several (default: the oldest membership the password matches)'),
      totp: totpCode.optional(), recoveryCode: recoveryCode.optional(),
    }),
    response: sessionOut,
    handler: async ({ body, facts }) => {
      const result = await login(facts, body);
      return {
        token: result.token, expiresAt: iso(result.session.expiresAt), sessionId: result.session.id, tenantId: result.tenantId,
        user: { id: result.user.id, email: result.user.email, role: result.user.role, totpEnabled: result.user.totpEnabled },
        mfaEnrolmentRequired: result.session.mfaPending,
      };
    },
  }),
  defineRoute({
    method: 'POST', url: '/auth/logout', tag: 'auth', summary: 'End the current session',
    permission: 'self', allowDuringMfaEnrolment: true, status: 204,
    body: z.strictObject({}).optional(),
    response: z.null(),
    handler: async ({ ctx }) => {
      const p = ctx.principal;
      if (p.kind !== 'user') return null; // an API key has no session to end
      await ctx.tenant(async (tx) => {
        await revokeSession(tx, p.userId, p.sessionId, ctx.now());
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'auth.logout', target: `session:${p.sessionId}`, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
];
