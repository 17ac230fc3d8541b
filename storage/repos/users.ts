/**
 * Control-plane users (one row per tenant membership: e-mail, role, Argon2id
 * password hash, sealed TOTP secret), their one-time recovery codes, and
 * invitations / setup links. Callers pass a Tx from withTenant (so a change
 * and its audit entry commit together); login, which happens before a tenant
 * is known, goes through the directory function smartalex_find_login.
 */
import { and, asc, desc, eq, isNull, lt, or, sql } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { rows } from '../migrate.ts';
import { invitations, tenants, userRecoveryCodes, users } from '../schema.ts';
import { afterCursor, keysetOrder, type Cursor } from '../keyset.ts';
import { withoutTenant } from '../tenant-scope.ts';
import type { Role } from './tenants.ts';

export type UserRow = typeof users.$inferSelect;
export type InvitationRow = typeof invitations.$inferSelect;

/** E-mail addresses are compared trimmed and lower-cased. */
export function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}

export interface LoginCandidate { tenantId: string; userId: string; passwordHash: string }

/** Every enabled membership with a password for this e-mail address (at most 10, oldest first), across tenants. */
export async function findLoginCandidates(db: Database, email: string): Promise<LoginCandidate[]> {
  return withoutTenant(db, async (tx) => rows<{ tenant_id: string; user_id: string; password_hash: string }>(
    await tx.execute(sql`select * from smartalex_find_login(${normaliseEmail(email)})`),
  ).map((r) => ({ tenantId: r.tenant_id, userId: r.user_id, passwordHash: r.password_hash })));
}

export async function getUser(tx: Tx, userId: string): Promise<UserRow | undefined> {
  return (await tx.select().from(users).where(eq(users.id, userId)))[0];
}

export async function getUserByEmail(tx: Tx, email: string): Promise<UserRow | undefined> {
  return (await tx.select().from(users).where(eq(users.email, normaliseEmail(email))))[0];
}

/** Inserts a user; undefined when the e-mail address is already a member of the tenant. */
export async function insertUser(tx: Tx, input: { tenantId: string; email: string; role: Role; passwordHash?: string | null }): Promise<UserRow | undefined> {
  const [row] = await tx.insert(users).values({ tenantId: input.tenantId, email: normaliseEmail(input.email), role: input.role, passwordHash: input.passwordHash ?? null })
    .onConflictDoNothing({ target: [users.tenantId, users.email] }).returning();
  return row;
}

export async function listUsersPage(tx: Tx, q: { limit: number; cursor?: Cursor | undefined; role?: Role | undefined }): Promise<UserRow[]> {
  return tx.select().from(users)
    .where(and(q.role ? eq(users.role, q.role) : undefined, afterCursor(q.cursor, users.createdAt, users.id, 'asc')))
    .orderBy(...keysetOrder(users.createdAt, users.id, 'asc')).limit(q.limit + 1);
}

export async function countOwners(tx: Tx): Promise<number> {
  const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(users).where(and(eq(users.role, 'owner'), isNull(users.disabledAt)));
  return Number(row?.n ?? 0);
}

export async function updateUser(tx: Tx, userId: string, set: { role?: Role; disabledAt?: Date | null; passwordHash?: string }): Promise<UserRow | undefined> {
  const [row] = await tx.update(users).set(set).where(eq(users.id, userId)).returning();
  return row;
}

export async function deleteUser(tx: Tx, userId: string): Promise<boolean> {
  return (await tx.delete(users).where(eq(users.id, userId)).returning({ id: users.id })).length > 0;
}

// ------------------------------------------------------------------ TOTP

export async function setPendingTotp(tx: Tx, userId: string, sealed: Buffer, keyId: string): Promise<void> {
  await tx.update(users).set({ totpPendingSealed: sealed, totpPendingKeyId: keyId }).where(eq(users.id, userId));
}

/** Makes the pending secret the user's secret; `step` is the time step of the confirming code. */
export async function confirmTotp(tx: Tx, userId: string, step: number): Promise<void> {
  await tx.update(users).set({
    totpEnabled: true, totpSecretSealed: sql`${users.totpPendingSealed}`, totpKeyId: sql`${users.totpPendingKeyId}`,
    totpPendingSealed: null, totpPendingKeyId: null, totpLastStep: step,
  }).where(eq(users.id, userId));
}

export async function disableTotp(tx: Tx, userId: string): Promise<void> {
  await tx.update(users).set({ totpEnabled: false, totpSecretSealed: null, totpKeyId: null, totpPendingSealed: null, totpPendingKeyId: null, totpLastStep: null }).where(eq(users.id, userId));
  await tx.delete(userRecoveryCodes).where(eq(userRecoveryCodes.userId, userId));
}

/** Claims a TOTP time step for the user: false when it (or a later one) was already used, so a code works once. */
export async function claimTotpStep(tx: Tx, userId: string, step: number): Promise<boolean> {
  const claimed = await tx.update(users).set({ totpLastStep: step })
    .where(and(eq(users.id, userId), or(isNull(users.totpLastStep), lt(users.totpLastStep, step))))
    .returning({ id: users.id });
  return claimed.length > 0;
}

export async function replaceRecoveryCodes(tx: Tx, tenantId: string, userId: string, codeHashes: string[]): Promise<void> {
  await tx.delete(userRecoveryCodes).where(eq(userRecoveryCodes.userId, userId));
  if (codeHashes.length > 0) await tx.insert(userRecoveryCodes).values(codeHashes.map((codeHash) => ({ tenantId, userId, codeHash })));
}

/** Uses one recovery code; false when it is unknown or already used. */
export async function useRecoveryCode(tx: Tx, userId: string, codeHash: string, at: Date): Promise<boolean> {
  const used = await tx.update(userRecoveryCodes).set({ usedAt: at })
    .where(and(eq(userRecoveryCodes.userId, userId), eq(userRecoveryCodes.codeHash, codeHash), isNull(userRecoveryCodes.usedAt)))
    .returning({ id: userRecoveryCodes.id });
  return used.length > 0;
}

export async function remainingRecoveryCodes(tx: Tx, userId: string): Promise<number> {
  const [row] = await tx.select({ n: sql<number>`count(*)::int` }).from(userRecoveryCodes).where(and(eq(userRecoveryCodes.userId, userId), isNull(userRecoveryCodes.usedAt)));
  return Number(row?.n ?? 0);
}

export async function tenantRequires2fa(tx: Tx, tenantId: string): Promise<boolean> {
  const [row] = await tx.select({ require2fa: tenants.require2fa }).from(tenants).where(eq(tenants.id, tenantId));
  return row?.require2fa ?? false;
}

export async function setTenantRequires2fa(tx: Tx, tenantId: string, required: boolean): Promise<void> {
  await tx.update(tenants).set({ require2fa: required }).where(eq(tenants.id, tenantId));
}

// ------------------------------------------------------------------ invitations

export async function insertInvitation(tx: Tx, input: { tenantId: string; email: string; role: Role; tokenHash: string; userId?: string; createdBy: string; expiresAt: Date }): Promise<InvitationRow> {
  const [row] = await tx.insert(invitations).values({ ...input, email: normaliseEmail(input.email), userId: input.userId ?? null }).returning();
  return row!;
}

export async function findInvitation(tx: Tx, tokenHash: string): Promise<InvitationRow | undefined> {
  return (await tx.select().from(invitations).where(eq(invitations.tokenHash, tokenHash)))[0];
}

/** Marks the invitation used; false when it was used already (a token works once). */
export async function claimInvitation(tx: Tx, invitationId: string, at: Date): Promise<boolean> {
  const claimed = await tx.update(invitations).set({ acceptedAt: at })
    .where(and(eq(invitations.id, invitationId), isNull(invitations.acceptedAt))).returning({ id: invitations.id });
  return claimed.length > 0;
}

/** Open invitations to join (setup links for existing users are not listed). */
export async function listInvitations(tx: Tx, limit: number): Promise<InvitationRow[]> {
  return tx.select().from(invitations).where(and(isNull(invitations.acceptedAt), isNull(invitations.userId))).orderBy(desc(invitations.createdAt)).limit(limit);
}

export async function deleteInvitation(tx: Tx, invitationId: string): Promise<boolean> {
  return (await tx.delete(invitations).where(and(eq(invitations.id, invitationId), isNull(invitations.acceptedAt))).returning({ id: invitations.id })).length > 0;
}
