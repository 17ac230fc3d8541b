/**
 * Creating users: by invitation (a one-time token; accepting it sets the
 * password and creates the membership), or directly (the CLI's first owner),
 * which may set a password and always hands back a one-time setup token that
 * sets (or resets) the password. The same acceptance path serves both.
 */
import {
  auditInTx, claimInvitation, findInvitation, getUser, getUserByEmail, insertInvitation, insertUser, normaliseEmail, updateUser, withTenant,
  type Database, type Role, type UserRow,
} from '../../../storage/index.ts';
import { badRequest, conflict, notFound } from '../problem.ts';
import { hashPassword, passwordProblem } from './passwords.ts';
import { hashOneTimeToken, newOneTimeToken, tenantOfToken } from './one-time-tokens.ts';

export interface IssuedInvitation { id: string; token: string; expiresAt: Date; url?: string }

export function setupUrl(baseUrl: string | undefined, token: string): string | undefined {
  return baseUrl ? `${baseUrl}/v1/invitations/accept#token=${token}` : undefined;
}

function checkedPassword(password: string, email: string): void {
  const problem = passwordProblem(password, email);
  if (problem) throw badRequest(`The password ${problem}.`, [{ path: 'body.password', message: problem }]);
}

/** An invitation for `email` to join with `role`; 409 when the address is already a member. */
export async function invite(db: Database, tenantId: string, input: { email: string; role: Role; actor: string; sourceIp?: string; now: Date; ttlMs: number; baseUrl?: string | undefined }): Promise<IssuedInvitation> {
  const email = normaliseEmail(input.email);
  const { token, hash } = newOneTimeToken(tenantId);
  const expiresAt = new Date(input.now.getTime() + input.ttlMs);
  const row = await withTenant(db, tenantId, async (tx) => {
    if (await getUserByEmail(tx, email)) throw conflict('That address is already a member of this tenant.');
    const created = await insertInvitation(tx, { tenantId, email, role: input.role, tokenHash: hash, createdBy: input.actor, expiresAt });
    await auditInTx(tx, tenantId, { actor: input.actor, action: 'user.invite', target: `invitation:${created.id}`, detail: { role: input.role }, ...(input.sourceIp ? { sourceIp: input.sourceIp } : {}) });
    return created;
  });
  const url = setupUrl(input.baseUrl, token);
  return { id: row.id, token, expiresAt, ...(url ? { url } : {}) };
}

/**
 * A user created directly (no invitation to accept), with the password when one is given, plus a one-time setup
 * token that sets the password. 409 when the address is already a member.
 */
export async function createUserWithSetup(db: Database, tenantId: string, input: { email: string; role: Role; password?: string | undefined; actor: string; now: Date; ttlMs: number; baseUrl?: string | undefined }): Promise<{ user: UserRow; setup: IssuedInvitation }> {
  const email = normaliseEmail(input.email);
  if (input.password !== undefined) checkedPassword(input.password, email);
  const passwordHash = input.password !== undefined ? await hashPassword(input.password) : null;
  const { token, hash } = newOneTimeToken(tenantId);
  const expiresAt = new Date(input.now.getTime() + input.ttlMs);
  return withTenant(db, tenantId, async (tx) => {
    const user = await insertUser(tx, { tenantId, email, role: input.role, passwordHash });
    if (!user) throw conflict('That address is already a member of this tenant.');
    const row = await insertInvitation(tx, { tenantId, email, role: input.role, tokenHash: hash, userId: user.id, createdBy: input.actor, expiresAt });
    await auditInTx(tx, tenantId, { actor: input.actor, action: 'user.create', target: `user:${user.id}`, detail: { role: input.role, passwordSet: passwordHash !== null } });
    const url = setupUrl(input.baseUrl, token);
    return { user, setup: { id: row.id, token, expiresAt, ...(url ? { url } : {}) } };
  });
}

/** Redeems an invitation or setup token: sets the password (creating the user for an invitation). 404 for any unusable token. */
export async function acceptInvitation(db: Database, input: { token: string; password: string; now: Date; sourceIp?: string }): Promise<{ tenantId: string; user: UserRow }> {
  const tenantId = tenantOfToken(input.token);
  const unusable = notFound('The invitation is unknown, used or expired.');
  if (!tenantId) throw unusable;
  const hash = hashOneTimeToken(input.token);
  const found = await withTenant(db, tenantId, (tx) => findInvitation(tx, hash));
  if (!found || found.acceptedAt || found.expiresAt.getTime() <= input.now.getTime()) throw unusable;
  checkedPassword(input.password, found.email);
  const passwordHash = await hashPassword(input.password);
  return withTenant(db, tenantId, async (tx) => {
    if (!(await claimInvitation(tx, found.id, input.now))) throw unusable;
    let user: UserRow | undefined;
    if (found.userId) {
      user = await getUser(tx, found.userId);
      if (!user) throw unusable;
      user = await updateUser(tx, user.id, { passwordHash });
    } else {
      user = await insertUser(tx, { tenantId, email: found.email, role: found.role, passwordHash });
      if (!user) throw conflict('That address is already a member of this tenant.');
    }
    await auditInTx(tx, tenantId, { actor: `user:${user!.id}`, action: found.userId ? 'user.password.setup' : 'user.invitation.accept', target: `user:${user!.id}`, detail: { invitation: found.id }, ...(input.sourceIp ? { sourceIp: input.sourceIp } : {}) });
    return { tenantId, user: user! };
  });
}
