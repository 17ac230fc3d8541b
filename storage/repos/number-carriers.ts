/**
 * A number's carrier for WebSocket media streams (number_carriers): which
 * carrier's webhook starts its calls and the credential that checks that
 * carrier's request signatures (Twilio auth token, Telnyx Ed25519 public
 * key). The credential is sealed with the tenant's current key (AAD binds the
 * number and carrier) before it reaches the database. Every read and write
 * goes through withTenant.
 */
import { and, eq } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { numberCarriers } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import type { KeyRing } from '../vault/keys.ts';

export const STREAM_CARRIERS = ['twilio', 'telnyx'] as const;
export type StreamCarrier = (typeof STREAM_CARRIERS)[number];

export function isStreamCarrier(value: string): value is StreamCarrier {
  return (STREAM_CARRIERS as readonly string[]).includes(value);
}

function sealLabel(numberId: string, carrier: StreamCarrier): string {
  return `number-carrier/${numberId}/${carrier}`;
}

/** Seals `credential` with the tenant's current key and stores it as the number's carrier, replacing any earlier one. */
export async function setNumberCarrier(
  db: Database, keyRing: Pick<KeyRing, 'sealTenantSecret'>, tenantId: string, numberId: string, carrier: StreamCarrier, credential: string,
): Promise<void> {
  if (!isStreamCarrier(carrier)) throw new Error(`unknown carrier "${String(carrier)}" (expected ${STREAM_CARRIERS.join(' or ')})`);
  if (credential.length === 0) throw new Error('the carrier credential is empty');
  const plain = Buffer.from(credential, 'utf8');
  let sealed: { sealed: Buffer; keyId: string };
  try {
    sealed = await keyRing.sealTenantSecret(tenantId, sealLabel(numberId, carrier), plain);
  } finally {
    plain.fill(0);
  }
  await withTenant(db, tenantId, async (tx) => {
    await tx.insert(numberCarriers)
      .values({ numberId, tenantId, carrier, credentialSealed: sealed.sealed, credentialKeyId: sealed.keyId })
      .onConflictDoUpdate({ target: numberCarriers.numberId, set: { carrier, credentialSealed: sealed.sealed, credentialKeyId: sealed.keyId, createdAt: new Date() } });
  });
}

/** The number's carrier and its credential, unsealed; undefined when the number has none. Throws when it cannot be unsealed. */
export async function getNumberCarrier(
  db: Database, keyRing: Pick<KeyRing, 'unsealTenantSecret'>, tenantId: string, numberId: string,
): Promise<{ carrier: StreamCarrier; credential: string } | undefined> {
  const row = await withTenant(db, tenantId, async (tx) => (await tx.select().from(numberCarriers).where(eq(numberCarriers.numberId, numberId)))[0]);
  if (!row || !isStreamCarrier(row.carrier)) return undefined;
  const plain = await keyRing.unsealTenantSecret(tenantId, sealLabel(numberId, row.carrier), row.credentialKeyId, row.credentialSealed);
  try {
    return { carrier: row.carrier, credential: plain.toString('utf8') };
  } finally {
    plain.fill(0);
  }
}

/** True when the number had a carrier. */
export async function removeNumberCarrier(db: Database, tenantId: string, numberId: string): Promise<boolean> {
  return withTenant(db, tenantId, async (tx) => (await tx.delete(numberCarriers).where(eq(numberCarriers.numberId, numberId)).returning({ id: numberCarriers.numberId })).length > 0);
}

/**
 * After a tenant key rotation: re-seals every number's carrier credential that an older tenant key version
 * sealed under the current one, so the older versions can be retired. Returns how many were re-sealed and
 * the numbers (ids) whose credential could not be (the old version must then be kept).
 */
export async function resealNumberCarriers(
  db: Database, keyRing: Pick<KeyRing, 'sealTenantSecret' | 'unsealTenantSecret'>, tenantId: string, currentKeyId: string,
): Promise<{ resealed: number; failed: string[] }> {
  let resealed = 0;
  const failed: string[] = [];
  const stored = await withTenant(db, tenantId, (tx) => tx.select().from(numberCarriers));
  for (const row of stored) {
    if (row.credentialKeyId === currentKeyId || !isStreamCarrier(row.carrier)) continue;
    const label = sealLabel(row.numberId, row.carrier);
    try {
      const plain = await keyRing.unsealTenantSecret(tenantId, label, row.credentialKeyId, row.credentialSealed);
      let sealed: { sealed: Buffer; keyId: string };
      try {
        sealed = await keyRing.sealTenantSecret(tenantId, label, plain);
      } finally {
        plain.fill(0);
      }
      if (sealed.keyId !== currentKeyId) throw new Error(`tenant ${tenantId} has a newer key than ${currentKeyId}`);
      await withTenant(db, tenantId, async (tx) => {
        await tx.update(numberCarriers).set({ credentialSealed: sealed.sealed, credentialKeyId: sealed.keyId })
          .where(and(eq(numberCarriers.numberId, row.numberId), eq(numberCarriers.credentialKeyId, row.credentialKeyId)));
      });
      resealed++;
    } catch {
      failed.push(row.numberId);
    }
  }
  return { resealed, failed };
}
