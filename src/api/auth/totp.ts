/**
 * TOTP 2FA (RFC 6238 via otpauth): SHA-1, 6 digits, 30 s steps (what every
 * authenticator app accepts), one step of drift either way. A code is accepted
 * only for a time step later than the last accepted one (claimTotpStep), so it
 * cannot be replayed within its window. Secrets are 160-bit random and stored
 * sealed by the tenant key ring (label totp/<user id>); recovery codes are
 * 60-bit random, shown once and stored as SHA-256.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';

export const TOTP_PERIOD_S = 30;
export const TOTP_DIGITS = 6;
export const RECOVERY_CODE_COUNT = 10;

export function newTotpSecret(): Secret {
  return new Secret({ size: 20 });
}

export function totpFor(secret: Secret, label: string): TOTP {
  return new TOTP({ issuer: 'SmartAlex', label, algorithm: 'SHA1', digits: TOTP_DIGITS, period: TOTP_PERIOD_S, secret });
}

/** The time step the code belongs to (within one step of `now`), or undefined when it is wrong. */
export function totpStep(secret: Secret, code: string, now: Date): number | undefined {
  if (!/^\d{6}$/.test(code)) return undefined;
  const totp = totpFor(secret, 'check');
  const delta = totp.validate({ token: code, timestamp: now.getTime(), window: 1 });
  if (delta === null) return undefined;
  return TOTP.counter({ period: TOTP_PERIOD_S, timestamp: now.getTime() }) + delta;
}

/** The label binds a sealed TOTP secret to its user; storage owns it so key rotation re-seals with the same one. */
export { totpSealLabel } from '../../../storage/repos/sealed-secrets.ts';

/** Recovery codes look like `xxxxx-xxxxx-xxxxx` (base32, 75 bits). */
export function newRecoveryCodes(count = RECOVERY_CODE_COUNT): string[] {
  const alphabet = 'abcdefghijkmnpqrstuvwxyz23456789';
  return Array.from({ length: count }, () => {
    const bytes = randomBytes(15);
    const chars = [...bytes].map((b) => alphabet[b % 32]!).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5, 10)}-${chars.slice(10, 15)}`;
  });
}

export function hashRecoveryCode(code: string): string {
  return createHash('sha256').update(code.trim().toLowerCase().replace(/[^a-z0-9]/g, '')).digest('hex');
}
