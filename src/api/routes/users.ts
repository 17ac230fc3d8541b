/**
 * Users and invitations: list and read (users:read); invite, change role,
 * disable or delete (users:manage). Only an owner grants, changes or removes
 * the owner role, and the last owner cannot be demoted, disabled or deleted.
 * Accepting an invitation (public) sets the password. My own password change
 * ends my other sessions. Every change is audited.
 */
import { z } from 'zod';
import {
  auditInTx, countOwners, deleteInvitation, deleteUser, getUser, listInvitations, listUsersPage, revokeAllSessions, updateUser, type Tx, type UserRow,
} from '../../../storage/index.ts';
import { acceptInvitation, invite } from '../auth/accounts.ts';
import { hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.ts';
import type { ApiContext } from '../context.ts';
import { decodeCursor, pageOf, pageQuery, pageSchema } from '../pagination.ts';
import { canGrant } from '../permissions.ts';
import { badRequest, conflict, forbidden, notFound, unauthorized } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { emailSchema, iso, passwordInput, roleSchema, timestamp } from './common.ts';

const user = z.object({
  id: z.uuid(), email: z.string(), role: roleSchema, totpEnabled: z.boolean(), disabled: z.boolean(), createdAt: timestamp,
}).meta({ id: 'User' });

const view = (u: UserRow) => ({ id: u.id, email: u.email, role: u.role, totpEnabled: u.totpEnabled, disabled: u.disabledAt !== null, createdAt: iso(u.createdAt) });
const userParams = z.strictObject({ userId: z.uuid() });

/** The owner-role rules for changing or removing `target`; throws the problem when not allowed. */
async function checkOwnerRules(tx: Tx, ctx: ApiContext, target: UserRow, change: { role?: string; removes?: boolean }): Promise<void> {
  const touchesOwner = target.role === 'owner' || change.role === 'owner';
  if (touchesOwner && ctx.role !== 'owner') throw forbidden('Only an owner can grant, change or remove the owner role.');
  const losesOwner = target.role === 'owner' && !target.disabledAt && (change.removes || (change.role !== undefined && change.role !== 'owner'));
  if (losesOwner && await countOwners(tx) <= 1) throw conflict('The tenant\'s last owner cannot be demoted, disabled or deleted.');
}

const invitation = z.object({ id: z.uuid(), email: z.string(), role: roleSchema, createdAt: timestamp, expiresAt: timestamp }).meta({ id: 'Invitation' });

export const userRoutes = [
  defineRoute({
    method: 'GET', url: '/users', tag: 'users', summary: 'List users', permission: 'users:read',
    query: pageQuery.extend({ role: roleSchema.optional() }),
    response: pageSchema(user),
    handler: async ({ ctx, query }) => {
      const cursor = decodeCursor(query.cursor);
      const rows = await ctx.tenant((tx) => listUsersPage(tx, { limit: query.limit, cursor, role: query.role }));
      const page = pageOf(rows, query.limit, (u) => [u.createdAt, u.id]);
      return { items: page.items.map(view), nextCursor: page.nextCursor };
    },
  }),
  defineRoute({
    method: 'GET', url: '/users/:userId', tag: 'users', summary: 'One user', permission: 'users:read',
    params: userParams, response: user,
    handler: async ({ ctx, params }) => {
      const found = await ctx.tenant((tx) => getUser(tx, params.userId));
      if (!found) throw notFound();
      return view(found);
    },
  }),
  defineRoute({
    method: 'PATCH', url: '/users/:userId', tag: 'users', summary: 'Change a user\'s role, or disable / enable them (disabling ends their sessions)',
    permission: 'users:manage',
    params: userParams,
    body: z.strictObject({ role: roleSchema.optional(), disabled: z.boolean().optional() }).refine((b) => b.role !== undefined || b.disabled !== undefined, 'give role or disabled'),
    response: user,
    handler: async ({ ctx, params, body }) => ctx.tenant(async (tx) => {
      const target = await getUser(tx, params.userId);
      if (!target) throw notFound();
      await checkOwnerRules(tx, ctx, target, { ...(body.role ? { role: body.role } : {}), removes: body.disabled === true });
      const now = ctx.now();
      const updated = await updateUser(tx, target.id, {
        ...(body.role ? { role: body.role } : {}),
        ...(body.disabled !== undefined ? { disabledAt: body.disabled ? (target.disabledAt ?? now) : null } : {}),
      });
      if (body.role && body.role !== target.role) {
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'user.role.change', target: `user:${target.id}`, detail: { from: target.role, to: body.role }, sourceIp: ctx.sourceIp });
      }
      if (body.disabled !== undefined && body.disabled !== (target.disabledAt !== null)) {
        if (body.disabled) await revokeAllSessions(tx, target.id, now);
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: body.disabled ? 'user.disable' : 'user.enable', target: `user:${target.id}`, sourceIp: ctx.sourceIp });
      }
      return view(updated!);
    }),
  }),
  defineRoute({
    method: 'DELETE', url: '/users/:userId', tag: 'users', summary: 'Remove a user from the tenant', permission: 'users:manage', status: 204,
    params: userParams, response: z.null(),
    handler: async ({ ctx, params }) => {
      await ctx.tenant(async (tx) => {
        const target = await getUser(tx, params.userId);
        if (!target) throw notFound();
        await checkOwnerRules(tx, ctx, target, { removes: true });
        await deleteUser(tx, target.id);
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'user.delete', target: `user:${target.id}`, detail: { role: target.role }, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
  defineRoute({
    method: 'POST', url: '/me/password', tag: 'users', summary: 'Change my password (ends my other sessions)', permission: 'self', status: 204,
    bodyLimit: 4096,
    body: z.strictObject({ currentPassword: passwordInput, newPassword: passwordInput }), response: z.null(),
    handler: async ({ ctx, body }) => {
      if (ctx.principal.kind !== 'user') throw forbidden('This route is for a user session, not an API key.', 'user_session_required');
      const { userId, sessionId } = ctx.principal;
      const me = await ctx.tenant((tx) => getUser(tx, userId));
      if (!me?.passwordHash || !(await verifyPassword(me.passwordHash, body.currentPassword))) throw unauthorized('The current password is wrong.', 'invalid_credentials');
      const problem = passwordProblem(body.newPassword, me.email);
      if (problem) throw badRequest(`The password ${problem}.`, [{ path: 'body.newPassword', message: problem }]);
      const passwordHash = await hashPassword(body.newPassword);
      await ctx.tenant(async (tx) => {
        await updateUser(tx, userId, { passwordHash });
        const ended = await revokeAllSessions(tx, userId, ctx.now(), sessionId);
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'user.password.change', target: `user:${userId}`, detail: { sessionsEnded: ended }, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
  defineRoute({
    method: 'POST', url: '/invitations', tag: 'users', summary: 'Invite someone by e-mail: returns a one-time token (shown once) that sets their password',
    permission: 'users:manage', status: 201,
    body: z.strictObject({ email: emailSchema, role: roleSchema }),
    response: z.object({ id: z.uuid(), email: z.string(), role: roleSchema, token: z.string(), url: z.string().optional(), expiresAt: timestamp }),
    handler: async ({ ctx, body }) => {
      if (!canGrant(ctx.role, body.role)) throw forbidden('You cannot grant a role above your own.');
      const issued = await invite(ctx.db, ctx.tenantId, { email: body.email, role: body.role, actor: ctx.actor, sourceIp: ctx.sourceIp, now: ctx.now(), ttlMs: ctx.deps.settings.invitationTtlMs, baseUrl: ctx.deps.settings.publicBaseUrl });
      return { id: issued.id, email: body.email.trim().toLowerCase(), role: body.role, token: issued.token, ...(issued.url ? { url: issued.url } : {}), expiresAt: iso(issued.expiresAt) };
    },
  }),
  defineRoute({
    method: 'GET', url: '/invitations', tag: 'users', summary: 'Open invitations', permission: 'users:read',
    response: z.object({ items: z.array(invitation) }),
    handler: async ({ ctx }) => ({
      items: (await ctx.tenant((tx) => listInvitations(tx, 200))).map((i) => ({ id: i.id, email: i.email, role: i.role, createdAt: iso(i.createdAt), expiresAt: iso(i.expiresAt) })),
    }),
  }),
  defineRoute({
    method: 'DELETE', url: '/invitations/:invitationId', tag: 'users', summary: 'Withdraw an invitation', permission: 'users:manage', status: 204,
    params: z.strictObject({ invitationId: z.uuid() }), response: z.null(),
    handler: async ({ ctx, params }) => {
      await ctx.tenant(async (tx) => {
        if (!(await deleteInvitation(tx, params.invitationId))) throw notFound();
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: 'user.invitation.withdraw', target: `invitation:${params.invitationId}`, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
  defineRoute({
    method: 'POST', url: '/invitations/accept', tag: 'users', summary: 'Accept an invitation or a setup link: sets the password (then log in)',
    permission: 'public', bodyLimit: 4096,
    body: z.strictObject({ token: z.string().min(1).max(200), password: passwordInput }),
    response: z.object({ userId: z.uuid(), tenantId: z.uuid(), email: z.string() }),
    handler: async ({ facts, body }) => {
      const { tenantId, user: accepted } = await acceptInvitation(facts.db, { token: body.token, password: body.password, now: facts.now(), sourceIp: facts.sourceIp });
      return { userId: accepted.id, tenantId, email: accepted.email };
    },
  }),
];
