/**
 * Session tokens: a JWT (HS256, jose) signed by the current key of the
 * SigningKeyRing, `kid` in the header, naming the tenant (tid), the user (sub)
 * and the session row (sid). The token alone is not enough: the row must be
 * live (storage/repos/sessions.ts: not revoked, within the absolute lifetime,
 * used within the inactivity timeout), and each use moves its last-seen time.
 */
import { decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { insertSession, isUuid, touchSession, withTenant, type SessionRow, type Tx } from '../../../storage/index.ts';
import type { Principal, RequestFacts } from '../context.ts';
import type { ControlPlaneDeps } from '../deps.ts';
import { SigningKeyRing } from './signing-keys.ts';

const ISSUER = 'smartalex';
const AUDIENCE = 'smartalex-api';

const rings = new WeakMap<ControlPlaneDeps, SigningKeyRing>();

export function signingKeyRing(deps: ControlPlaneDeps): SigningKeyRing {
  let ring = rings.get(deps);
  if (!ring) {
    ring = new SigningKeyRing(deps.sessionSecret, deps.settings.signingKeyRotationMs, deps.settings.sessionMaxMs);
    rings.set(deps, ring);
  }
  return ring;
}

export interface IssuedSession { token: string; session: SessionRow }

/** Creates the session row (in the caller's tenant transaction) and signs its token. */
export async function issueSession(tx: Tx, facts: RequestFacts, input: { tenantId: string; userId: string; mfaPending: boolean }): Promise<IssuedSession> {
  const now = facts.now();
  const expiresAt = new Date(now.getTime() + facts.deps.settings.sessionMaxMs);
  const session = await insertSession(tx, { tenantId: input.tenantId, userId: input.userId, now, expiresAt, userAgent: facts.userAgent, sourceIp: facts.sourceIp, mfaPending: input.mfaPending });
  const { kid, key } = signingKeyRing(facts.deps).current(now);
  const token = await new SignJWT({ tid: input.tenantId, sid: session.id })
    .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
    .setIssuer(ISSUER).setAudience(AUDIENCE).setSubject(input.userId)
    .setIssuedAt(Math.floor(now.getTime() / 1000)).setExpirationTime(Math.floor(expiresAt.getTime() / 1000))
    .sign(key);
  return { token, session };
}

export async function authenticateSession(facts: RequestFacts, token: string): Promise<Principal | undefined> {
  const now = facts.now();
  let claims: { tid?: unknown; sid?: unknown; sub?: unknown };
  try {
    const { kid } = decodeProtectedHeader(token);
    const key = typeof kid === 'string' ? signingKeyRing(facts.deps).accepted(kid, now) : undefined;
    if (!key) return undefined;
    ({ payload: claims } = await jwtVerify(token, key, { algorithms: ['HS256'], issuer: ISSUER, audience: AUDIENCE, currentDate: now }));
  } catch {
    return undefined;
  }
  const { tid, sid, sub } = claims;
  if (typeof tid !== 'string' || typeof sid !== 'string' || typeof sub !== 'string' || !isUuid(tid) || !isUuid(sid)) return undefined;
  const idleSince = new Date(now.getTime() - facts.deps.settings.sessionIdleMs);
  const live = await withTenant(facts.db, tid, (tx) => touchSession(tx, sid, now, idleSince));
  if (!live || live.userId !== sub) return undefined;
  return { kind: 'user', tenantId: tid, userId: live.userId, role: live.role, sessionId: live.sessionId, email: live.email, mfaPending: live.mfaPending };
}
