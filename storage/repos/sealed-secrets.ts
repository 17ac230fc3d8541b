/**
 * A tenant's sealed secrets outside the recordings, re-sealed under its
 * current key version so a rotation can destroy the older versions without
 * making them unreadable: users' TOTP secrets (confirmed and pending) and
 * webhook endpoints' signing secrets (current, and the previous one kept for
 * a rotation's overlap). Provider keys and numbers' carrier credentials have
 * their own re-sealers (provider-keys.ts, number-carriers.ts); recordings
 * are re-wrapped by the vault.
 *
 * The seal labels live here so the sealers (src/api/auth/totp.ts,
 * src/webhooks/endpoints.ts) and this re-sealer cannot drift apart: a label
 * is authenticated data, and a different one would not unseal.
 */
import { and, eq } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { users, webhookEndpoints } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import type { KeyRing } from '../vault/keys.ts';

export const totpSealLabel = (userId: string): string => `totp/${userId}`;
export const webhookSecretSealLabel = (endpointId: string): string => `webhook-secret/${endpointId}`;

type Resealer = Pick<KeyRing, 'sealTenantSecret' | 'unsealTenantSecret'>;

export interface ResealOutcome {
  resealed: number;
  /** What could not be re-sealed, as `kind/id` (no secret): its older key version must be kept. */
  failed: string[];
}

async function resealOne(keyRing: Resealer, tenantId: string, label: string, keyId: string, sealed: Buffer, currentKeyId: string): Promise<Buffer> {
  const plain = await keyRing.unsealTenantSecret(tenantId, label, keyId, sealed);
  try {
    const next = await keyRing.sealTenantSecret(tenantId, label, plain);
    if (next.keyId !== currentKeyId) throw new Error(`tenant ${tenantId} has a newer key than ${currentKeyId}`);
    return next.sealed;
  } finally {
    plain.fill(0);
  }
}

/**
 * Re-seals every TOTP and webhook secret of the tenant that an older key version sealed. Each update only
 * lands if the row still names the version it was read with, so a secret changed meanwhile (a new enrolment,
 * a webhook secret rotation) is never overwritten with the old one.
 */
export async function resealTenantSecrets(db: Database, keyRing: Resealer, tenantId: string, currentKeyId: string): Promise<ResealOutcome> {
  const outcome: ResealOutcome = { resealed: 0, failed: [] };
  const attempt = async (what: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
      outcome.resealed++;
    } catch {
      outcome.failed.push(what);
    }
  };
  const people = await withTenant(db, tenantId, (tx) => tx.select({
    id: users.id, secret: users.totpSecretSealed, keyId: users.totpKeyId, pending: users.totpPendingSealed, pendingKeyId: users.totpPendingKeyId,
  }).from(users));
  for (const user of people) {
    const { secret, keyId, pending, pendingKeyId } = user;
    if (secret && keyId && keyId !== currentKeyId) {
      await attempt(`totp/${user.id}`, async () => {
        const sealed = await resealOne(keyRing, tenantId, totpSealLabel(user.id), keyId, secret, currentKeyId);
        await withTenant(db, tenantId, (tx) => tx.update(users).set({ totpSecretSealed: sealed, totpKeyId: currentKeyId })
          .where(and(eq(users.id, user.id), eq(users.totpKeyId, keyId))));
      });
    }
    if (pending && pendingKeyId && pendingKeyId !== currentKeyId) {
      await attempt(`totp-pending/${user.id}`, async () => {
        const sealed = await resealOne(keyRing, tenantId, totpSealLabel(user.id), pendingKeyId, pending, currentKeyId);
        await withTenant(db, tenantId, (tx) => tx.update(users).set({ totpPendingSealed: sealed, totpPendingKeyId: currentKeyId })
          .where(and(eq(users.id, user.id), eq(users.totpPendingKeyId, pendingKeyId))));
      });
    }
  }
  const endpoints = await withTenant(db, tenantId, (tx) => tx.select({
    id: webhookEndpoints.id, secret: webhookEndpoints.secretSealed, keyId: webhookEndpoints.secretKeyId,
    previous: webhookEndpoints.previousSecretSealed, previousKeyId: webhookEndpoints.previousSecretKeyId,
  }).from(webhookEndpoints));
  for (const endpoint of endpoints) {
    const { secret, keyId, previous, previousKeyId } = endpoint;
    const label = webhookSecretSealLabel(endpoint.id);
    if (keyId !== currentKeyId) {
      await attempt(`webhook-secret/${endpoint.id}`, async () => {
        const sealed = await resealOne(keyRing, tenantId, label, keyId, secret, currentKeyId);
        await withTenant(db, tenantId, (tx) => tx.update(webhookEndpoints).set({ secretSealed: sealed, secretKeyId: currentKeyId })
          .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.secretKeyId, keyId))));
      });
    }
    if (previous && previousKeyId && previousKeyId !== currentKeyId) {
      await attempt(`webhook-previous-secret/${endpoint.id}`, async () => {
        const sealed = await resealOne(keyRing, tenantId, label, previousKeyId, previous, currentKeyId);
        await withTenant(db, tenantId, (tx) => tx.update(webhookEndpoints).set({ previousSecretSealed: sealed, previousSecretKeyId: currentKeyId })
          .where(and(eq(webhookEndpoints.id, endpoint.id), eq(webhookEndpoints.previousSecretKeyId, previousKeyId))));
      });
    }
  }
  return outcome;
}
