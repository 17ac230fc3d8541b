/**
 * Control-plane session rows. The signed token only names a row; the row is
 * what makes a session valid: not revoked, before its absolute expiry, and
 * used within the inactivity timeout. `touchSession` checks all three and
 * records the use (at most once a minute).
 */
import { and, desc, eq, gt, isNull, ne } from 'drizzle-orm';
import type { Tx } from '../database.ts';
import { sessions, users } from '../schema.ts';
import type { Role } from './tenants.ts';

export type SessionRow = typeof sessions.$inferSelect;

export async function insertSession(tx: Tx, input: { tenantId: string; userId: string; now: Date; expiresAt: Date; userAgent: string; sourceIp: string; mfaPending: boolean }): Promise<SessionRow> {
  const [row] = await tx.insert(sessions).values({
    tenantId: input.tenantId, userId: input.userId, createdAt: input.now, lastSeenAt: input.now, expiresAt: input.expiresAt,
    userAgent: input.userAgent, sourceIp: input.sourceIp, mfaPending: input.mfaPending,
  }).returning();
  return row!;
}

export interface LiveSession { sessionId: string; userId: string; role: Role; email: string; mfaPending: boolean }

/** A use moves last_seen_at only when the recorded one is older than this: most requests cost a read, not a write. */
export const SESSION_TOUCH_EVERY_MS = 60_000;

/**
 * The session when it is live at `now` (not revoked, not past expires_at, last
 * used after `idleSince`, its user enabled), recording the use; undefined
 * otherwise. last_seen_at moves at most once a minute, so the inactivity
 * timeout is enforced to the minute (a session may end up to a minute early).
 */
export async function touchSession(tx: Tx, sessionId: string, now: Date, idleSince: Date): Promise<LiveSession | undefined> {
  const [row] = await tx.select({
    sessionId: sessions.id, userId: sessions.userId, role: users.role, email: users.email, mfaPending: sessions.mfaPending, lastSeenAt: sessions.lastSeenAt,
  }).from(sessions).innerJoin(users, eq(users.id, sessions.userId))
    .where(and(
      eq(sessions.id, sessionId), isNull(users.disabledAt), isNull(sessions.revokedAt), gt(sessions.expiresAt, now), gt(sessions.lastSeenAt, idleSince),
    ));
  if (!row) return undefined;
  const { lastSeenAt, ...live } = row;
  if (now.getTime() - lastSeenAt.getTime() >= SESSION_TOUCH_EVERY_MS) {
    await tx.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, sessionId));
  }
  return live;
}

/** A user's sessions that are not revoked and not past their absolute expiry, newest first. */
export async function listSessions(tx: Tx, userId: string, now: Date): Promise<SessionRow[]> {
  return tx.select().from(sessions)
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), gt(sessions.expiresAt, now)))
    .orderBy(desc(sessions.lastSeenAt)).limit(200);
}

/** Revokes one of the user's sessions; false when there is no such live session. */
export async function revokeSession(tx: Tx, userId: string, sessionId: string, now: Date): Promise<boolean> {
  const done = await tx.update(sessions).set({ revokedAt: now })
    .where(and(eq(sessions.id, sessionId), eq(sessions.userId, userId), isNull(sessions.revokedAt))).returning({ id: sessions.id });
  return done.length > 0;
}

/** Revokes all the user's sessions (but `exceptId`); returns how many. */
export async function revokeAllSessions(tx: Tx, userId: string, now: Date, exceptId?: string): Promise<number> {
  const done = await tx.update(sessions).set({ revokedAt: now })
    .where(and(eq(sessions.userId, userId), isNull(sessions.revokedAt), exceptId ? ne(sessions.id, exceptId) : undefined)).returning({ id: sessions.id });
  return done.length;
}

export async function clearMfaPending(tx: Tx, userId: string): Promise<void> {
  await tx.update(sessions).set({ mfaPending: false }).where(eq(sessions.userId, userId));
}
