/**
 * Sessions: a user lists and revokes their own (devices: user agent, address,
 * created, last seen); user managers list and revoke another user's.
 */
import { z } from 'zod';
import { auditInTx, getUser, listSessions, revokeAllSessions, revokeSession, type SessionRow } from '../../../storage/index.ts';
import type { ApiContext } from '../context.ts';
import { forbidden, notFound } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { iso, timestamp } from './common.ts';

const sessionInfo = z.object({
  id: z.uuid(), current: z.boolean(), userAgent: z.string().nullable(), sourceIp: z.string().nullable(),
  createdAt: timestamp, lastSeenAt: timestamp, expiresAt: timestamp,
}).meta({ id: 'SessionInfo' });

function view(ctx: ApiContext, row: SessionRow) {
  const current = ctx.principal.kind === 'user' && ctx.principal.sessionId === row.id;
  return { id: row.id, current, userAgent: row.userAgent, sourceIp: row.sourceIp, createdAt: iso(row.createdAt), lastSeenAt: iso(row.lastSeenAt), expiresAt: iso(row.expiresAt) };
}

function selfUser(ctx: ApiContext): string {
  if (ctx.principal.kind !== 'user') throw forbidden('This route is for a user session, not an API key.', 'user_session_required');
  return ctx.principal.userId;
}

const sessionParams = z.strictObject({ sessionId: z.uuid() });
const userParams = z.strictObject({ userId: z.uuid() });

export const sessionRoutes = [
  defineRoute({
    method: 'GET', url: '/me/sessions', tag: 'sessions', summary: 'My live sessions (devices)', permission: 'self',
    response: z.object({ items: z.array(sessionInfo) }),
    handler: async ({ ctx }) => {
      const userId = selfUser(ctx);
      return { items: (await ctx.tenant((tx) => listSessions(tx, userId, ctx.now()))).map((r) => view(ctx, r)) };
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/me/sessions/:sessionId', tag: 'sessions', summary: 'Revoke one of my sessions', permission: 'self', status: 204,
    params: sessionParams, response: z.null(),
    handler: async ({ ctx, params }) => {
      const userId = selfUser(ctx);
      await ctx.tenant(async (tx) => {
        if (!(await revokeSession(tx, userId, params.sessionId, ctx.now()))) throw notFound();
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'session.revoke', target: `session:${params.sessionId}`, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/me/sessions', tag: 'sessions', summary: 'Revoke all my sessions (keepCurrent=true keeps this one)', permission: 'self',
    query: z.strictObject({ keepCurrent: z.enum(['true', 'false']).default('false') }),
    response: z.object({ revoked: z.number().int() }),
    handler: async ({ ctx, query }) => {
      const userId = selfUser(ctx);
      const except = query.keepCurrent === 'true' && ctx.principal.kind === 'user' ? ctx.principal.sessionId : undefined;
      const revoked = await ctx.tenant(async (tx) => {
        const n = await revokeAllSessions(tx, userId, ctx.now(), except);
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'session.revoke_all', target: `user:${userId}`, detail: { revoked: n, keptCurrent: except !== undefined }, sourceIp: ctx.sourceIp });
        return n;
      });
      return { revoked };
    },
  }),
  defineRoute({
    method: 'GET', url: '/users/:userId/sessions', tag: 'sessions', summary: "A user's live sessions", permission: 'users:manage',
    params: userParams, response: z.object({ items: z.array(sessionInfo) }),
    handler: async ({ ctx, params }) => ctx.tenant(async (tx) => {
      if (!(await getUser(tx, params.userId))) throw notFound();
      return { items: (await listSessions(tx, params.userId, ctx.now())).map((r) => view(ctx, r)) };
    }),
  }),
  defineRoute({
    method: 'DELETE', url: '/users/:userId/sessions', tag: 'sessions', summary: "Revoke all of a user's sessions", permission: 'users:manage',
    params: userParams, response: z.object({ revoked: z.number().int() }),
    handler: async ({ ctx, params }) => ctx.tenant(async (tx) => {
      if (!(await getUser(tx, params.userId))) throw notFound();
      const revoked = await revokeAllSessions(tx, params.userId, ctx.now());
      await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'session.revoke_all', target: `user:${params.userId}`, detail: { revoked }, sourceIp: ctx.sourceIp });
      return { revoked };
    }),
  }),
];
