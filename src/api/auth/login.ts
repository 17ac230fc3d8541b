/**
 * Password login. No user enumeration: an unknown address, a wrong password
 * and a disabled user all answer the same 401 after the same Argon2id work
 * (a dummy hash is verified when no user matches). Throttled per account (the
 * address as typed) and per source with back-off; a locked-out attempt is a
 * 429 with Retry-After whether or not the account exists. When the user has
 * 2FA, the password alone yields a 401 with code "mfa_required" and the login
 * must be repeated with `totp` or `recoveryCode`. Every outcome for a known
 * user is audited in its tenant; unknown addresses go to security_events.
 */
import {
  claimTotpStep, findLoginCandidates, getUser, normaliseEmail, recordSecurityEvent, tenantRequires2fa, useRecoveryCode, withTenant,
  auditInTx, type LoginCandidate, type UserRow,
} from '../../../storage/index.ts';
import type { RequestFacts } from '../context.ts';
import { ApiProblem, tooManyRequests, unauthorized } from '../problem.ts';
import { verifyAgainstDummy, verifyPassword } from './passwords.ts';
import { issueSession, type IssuedSession } from './sessions.ts';
import { LoginThrottle } from './throttle.ts';
import { hashRecoveryCode, totpSealLabel, totpStep } from './totp.ts';
import { Secret } from 'otpauth';
import type { ControlPlaneDeps } from '../deps.ts';

const throttles = new WeakMap<ControlPlaneDeps, LoginThrottle>();

export function loginThrottle(deps: ControlPlaneDeps): LoginThrottle {
  let throttle = throttles.get(deps);
  if (!throttle) {
    throttle = new LoginThrottle(deps.clock);
    throttles.set(deps, throttle);
  }
  return throttle;
}

export interface LoginInput { email: string; password: string; tenantId?: string | undefined; totp?: string | undefined; recoveryCode?: string | undefined }
export interface LoginResult extends IssuedSession { user: UserRow; tenantId: string }

const INVALID = 'The e-mail address or password is wrong.';

export async function login(facts: RequestFacts, input: LoginInput): Promise<LoginResult> {
  const throttle = loginThrottle(facts.deps);
  const account = normaliseEmail(input.email);
  const wait = throttle.retryAfterMs(account, facts.sourceIp);
  if (wait > 0) throw tooManyRequests(wait / 1000);

  const candidates = (await findLoginCandidates(facts.db, account)).filter((c) => !input.tenantId || c.tenantId === input.tenantId);
  let match: LoginCandidate | undefined;
  if (candidates.length === 0) {
    await verifyAgainstDummy(input.password);
  } else {
    for (const candidate of candidates) {
      if (await verifyPassword(candidate.passwordHash, input.password)) { match = candidate; break; }
    }
  }
  if (!match) {
    throttle.failure(account, facts.sourceIp);
    if (candidates.length === 0) {
      await recordSecurityEvent(facts.db, { type: 'login-failure', sourceIp: facts.sourceIp, detail: { reason: 'unknown-account' } });
    }
    for (const candidate of candidates) {
      await withTenant(facts.db, candidate.tenantId, (tx) => auditInTx(tx, candidate.tenantId, {
        actor: `user:${candidate.userId}`, action: 'auth.login.failure', target: `user:${candidate.userId}`, detail: { reason: 'password' }, sourceIp: facts.sourceIp,
      }));
    }
    throw unauthorized(INVALID, 'invalid_credentials');
  }
  const tenantId = match.tenantId;
  const userId = match.userId;
  const fail = async (reason: string, problem: ApiProblem, countsAsFailure: boolean): Promise<never> => {
    if (countsAsFailure) throttle.failure(account, facts.sourceIp);
    await withTenant(facts.db, tenantId, (tx) => auditInTx(tx, tenantId, { actor: `user:${userId}`, action: 'auth.login.failure', target: `user:${userId}`, detail: { reason }, sourceIp: facts.sourceIp }));
    throw problem;
  };

  const user = await withTenant(facts.db, tenantId, (tx) => getUser(tx, userId));
  if (!user || user.disabledAt) return fail('disabled', unauthorized(INVALID, 'invalid_credentials'), true);
  let secondFactor: 'totp' | 'recovery-code' | undefined;
  if (user.totpEnabled) {
    if (!input.totp && !input.recoveryCode) {
      return fail('mfa-required', unauthorized('Two-factor authentication is on: repeat the login with `totp` (or `recoveryCode`).', 'mfa_required'), false);
    }
    // Unsealed outside the claiming transaction (the key ring reads the database itself).
    const step = input.totp ? await checkTotp(facts, tenantId, user, input.totp) : undefined;
    const ok = await withTenant(facts.db, tenantId, async (tx) => input.totp
      ? step !== undefined && claimTotpStep(tx, userId, step)
      : useRecoveryCode(tx, userId, hashRecoveryCode(input.recoveryCode!), facts.now()));
    if (!ok) return fail(input.totp ? 'totp' : 'recovery-code', unauthorized('The two-factor code is wrong or was already used.', 'mfa_invalid'), true);
    secondFactor = input.totp ? 'totp' : 'recovery-code';
  }
  throttle.success(account);
  return withTenant(facts.db, tenantId, async (tx) => {
    const mustEnrol = !user.totpEnabled && (user.role === 'owner' || user.role === 'admin') && await tenantRequires2fa(tx, tenantId);
    const issued = await issueSession(tx, facts, { tenantId, userId, mfaPending: mustEnrol });
    await auditInTx(tx, tenantId, {
      actor: `user:${userId}`, action: 'auth.login.success', target: `session:${issued.session.id}`, sourceIp: facts.sourceIp,
      detail: { secondFactor: secondFactor ?? 'none', ...(mustEnrol ? { mfaEnrolmentRequired: true } : {}) },
    });
    return { ...issued, user, tenantId };
  });
}

/** The time step of a valid TOTP code for `user`'s confirmed secret, or undefined. */
export async function checkTotp(facts: RequestFacts, tenantId: string, user: UserRow, code: string): Promise<number | undefined> {
  const keyRing = facts.deps.services.keyRing;
  if (!keyRing || !user.totpSecretSealed || !user.totpKeyId) return undefined;
  const plain = await keyRing.unsealTenantSecret(tenantId, totpSealLabel(user.id), user.totpKeyId, user.totpSecretSealed);
  try {
    return totpStep(new Secret({ buffer: new Uint8Array(plain).buffer }), code, facts.now());
  } finally {
    plain.fill(0);
  }
}
