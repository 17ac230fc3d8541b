/**
 * TOTP 2FA: enrol (an otpauth:// URI and the secret, sealed at rest), confirm
 * with a first code (then recovery codes are shown once), regenerate recovery
 * codes, disable (not while the tenant requires 2FA for the role), and a user
 * manager's reset for a lost device. Every change is audited.
 */
import { z } from 'zod';
import { Secret } from 'otpauth';
import {
  auditInTx, claimTotpStep, clearMfaPending, confirmTotp, disableTotp, getUser, replaceRecoveryCodes, revokeAllSessions, setPendingTotp,
  tenantRequires2fa, useRecoveryCode, withTenant, type UserRow,
} from '../../../storage/index.ts';
import type { ApiContext } from '../context.ts';
import { checkTotp } from '../auth/login.ts';
import { hashRecoveryCode, newRecoveryCodes, newTotpSecret, totpFor, totpSealLabel, totpStep } from '../auth/totp.ts';
import { verifyPassword } from '../auth/passwords.ts';
import { ApiProblem, conflict, forbidden, notFound, unauthorized } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { passwordInput, recoveryCode, totpCode } from './common.ts';

function keyRingOf(ctx: ApiContext) {
  const keyRing = ctx.deps.services.keyRing;
  if (!keyRing) throw new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: 'Two-factor authentication needs the key ring, which this server has not configured.' });
  return keyRing;
}

async function me(ctx: ApiContext): Promise<UserRow> {
  if (ctx.principal.kind !== 'user') throw forbidden('This route is for a user session, not an API key.', 'user_session_required');
  const userId = ctx.principal.userId;
  const user = await ctx.tenant((tx) => getUser(tx, userId));
  if (!user) throw notFound();
  return user;
}

/** Checks a TOTP code (claiming its step) or a recovery code (using it up); 401 when neither is right. */
async function secondFactor(ctx: ApiContext, user: UserRow, input: { code?: string | undefined; recoveryCode?: string | undefined }): Promise<void> {
  const step = input.code ? await checkTotp(ctx, ctx.tenantId, user, input.code) : undefined;
  const ok = await ctx.tenant(async (tx) => {
    if (input.code) return step !== undefined && claimTotpStep(tx, user.id, step);
    if (input.recoveryCode) return useRecoveryCode(tx, user.id, hashRecoveryCode(input.recoveryCode), ctx.now());
    return false;
  });
  if (!ok) throw unauthorized('The two-factor code is wrong or was already used.', 'mfa_invalid');
}

const codeBody = z.strictObject({ code: totpCode.optional(), recoveryCode: recoveryCode.optional() });
const recoveryOut = z.object({ recoveryCodes: z.array(z.string()).describe('Shown once; each works once') });

async function issueRecoveryCodes(ctx: ApiContext, userId: string, tx: Parameters<Parameters<ApiContext['tenant']>[0]>[0]): Promise<string[]> {
  const codes = newRecoveryCodes();
  await replaceRecoveryCodes(tx, ctx.tenantId, userId, codes.map(hashRecoveryCode));
  return codes;
}

export const totpRoutes = [
  defineRoute({
    method: 'POST', url: '/me/totp', tag: 'two-factor', summary: 'Start TOTP enrolment: returns the otpauth:// URI (confirm with a first code)',
    permission: 'self', allowDuringMfaEnrolment: true, status: 201,
    body: z.strictObject({}).optional(),
    response: z.object({ otpauthUri: z.string(), secret: z.string().describe('Base32, for manual entry') }),
    handler: async ({ ctx }) => {
      const user = await me(ctx);
      if (user.totpEnabled) throw conflict('Two-factor authentication is already on; disable it first to enrol a new device.');
      const secret = newTotpSecret();
      const plain = Buffer.from(secret.bytes);
      let sealed: { sealed: Buffer; keyId: string };
      try {
        sealed = await keyRingOf(ctx).sealTenantSecret(ctx.tenantId, totpSealLabel(user.id), plain);
      } finally {
        plain.fill(0);
      }
      await ctx.tenant(async (tx) => {
        await setPendingTotp(tx, user.id, sealed.sealed, sealed.keyId);
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: '2fa.enrol.start', target: `user:${user.id}`, sourceIp: ctx.sourceIp });
      });
      return { otpauthUri: totpFor(secret, user.email).toString(), secret: secret.base32 };
    },
  }),
  defineRoute({
    method: 'POST', url: '/me/totp/confirm', tag: 'two-factor', summary: 'Confirm enrolment with a first code; returns one-time recovery codes',
    permission: 'self', allowDuringMfaEnrolment: true,
    body: z.strictObject({ code: totpCode }),
    response: recoveryOut,
    handler: async ({ ctx, body }) => {
      const user = await me(ctx);
      if (user.totpEnabled) throw conflict('Two-factor authentication is already on.');
      if (!user.totpPendingSealed || !user.totpPendingKeyId) throw conflict('Start enrolment first (POST /v1/me/totp).');
      const plain = await keyRingOf(ctx).unsealTenantSecret(ctx.tenantId, totpSealLabel(user.id), user.totpPendingKeyId, user.totpPendingSealed);
      let step: number | undefined;
      try {
        step = totpStep(new Secret({ buffer: new Uint8Array(plain).buffer }), body.code, ctx.now());
      } finally {
        plain.fill(0);
      }
      if (step === undefined) throw unauthorized('The code is wrong; check the device clock and try the next code.', 'mfa_invalid');
      const codes = await ctx.tenant(async (tx) => {
        await confirmTotp(tx, user.id, step);
        await clearMfaPending(tx, user.id);
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: '2fa.enable', target: `user:${user.id}`, sourceIp: ctx.sourceIp });
        return issueRecoveryCodes(ctx, user.id, tx);
      });
      return { recoveryCodes: codes };
    },
  }),
  defineRoute({
    method: 'POST', url: '/me/totp/recovery-codes', tag: 'two-factor', summary: 'Replace my recovery codes (needs a current code)',
    permission: 'self', body: codeBody, response: recoveryOut,
    handler: async ({ ctx, body }) => {
      const user = await me(ctx);
      if (!user.totpEnabled) throw conflict('Two-factor authentication is off.');
      await secondFactor(ctx, user, body);
      const codes = await ctx.tenant(async (tx) => {
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: '2fa.recovery_codes.replace', target: `user:${user.id}`, sourceIp: ctx.sourceIp });
        return issueRecoveryCodes(ctx, user.id, tx);
      });
      return { recoveryCodes: codes };
    },
  }),
  defineRoute({
    method: 'POST', url: '/me/totp/disable', tag: 'two-factor', summary: 'Turn my 2FA off (password and a current code)',
    permission: 'self', status: 204,
    body: z.strictObject({ password: passwordInput, code: totpCode.optional(), recoveryCode: recoveryCode.optional() }),
    response: z.null(),
    handler: async ({ ctx, body }) => {
      const user = await me(ctx);
      if (!user.totpEnabled) throw conflict('Two-factor authentication is already off.');
      if (!user.passwordHash || !(await verifyPassword(user.passwordHash, body.password))) throw unauthorized('The password is wrong.', 'invalid_credentials');
      if ((user.role === 'owner' || user.role === 'admin') && await withTenant(ctx.db, ctx.tenantId, (tx) => tenantRequires2fa(tx, ctx.tenantId))) {
        throw conflict('This tenant requires two-factor authentication for owners and admins.');
      }
      await secondFactor(ctx, user, body);
      await ctx.tenant(async (tx) => {
        await disableTotp(tx, user.id);
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: '2fa.disable', target: `user:${user.id}`, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
  defineRoute({
    method: 'POST', url: '/users/:userId/totp/reset', tag: 'two-factor', summary: "Reset a user's 2FA (lost device); ends their sessions",
    permission: 'users:manage', status: 204,
    params: z.strictObject({ userId: z.uuid() }), body: z.strictObject({}).optional(), response: z.null(),
    handler: async ({ ctx, params }) => {
      await ctx.tenant(async (tx) => {
        const user = await getUser(tx, params.userId);
        if (!user) throw notFound();
        if (user.role === 'owner' && ctx.role !== 'owner') throw forbidden('Only an owner can reset an owner\'s 2FA.');
        await disableTotp(tx, user.id);
        await revokeAllSessions(tx, user.id, ctx.now());
        await auditInTx(tx, ctx.tenantId, { actor: ctx.actor, action: '2fa.reset', target: `user:${user.id}`, sourceIp: ctx.sourceIp });
      });
      return null;
    },
  }),
];
