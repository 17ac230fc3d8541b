/**
 * A number answered through a carrier's WebSocket media streams (Twilio Media
 * Streams, Telnyx TeXML), as the operator (CLI `number set-carrier`) and the
 * API (PUT /v1/numbers/:numberId/carrier) set it: one validation, one audit.
 * The credential checks the carrier's webhook signatures (Twilio's auth
 * token; Telnyx's Ed25519 public key, base64 as the portal shows it, or PEM).
 * It is sealed with the tenant's key before it is stored and never returned,
 * logged or audited.
 */
import { createPublicKey } from 'node:crypto';
import {
  audit, getNumber as findNumber, isStreamCarrier, removeNumberCarrier, setNumberCarrier, STREAM_CARRIERS, type Database, type StreamCarrier,
} from '../../storage/index.ts';
import type { KeyRing } from '../../storage/vault/index.ts';
import { auditBy, invalid, notFound, type Actor } from './errors.ts';

export const MAX_CARRIER_CREDENTIAL = 4096;

/** Where the carrier's voice webhook must point for this server to start the number's streams. */
export const carrierWebhookPath = (carrier: StreamCarrier): string => `/v1/carriers/${carrier}/voice`;

function isTelnyxPublicKey(text: string): boolean {
  try {
    const key = text.includes('BEGIN')
      ? createPublicKey(text)
      : createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(text, 'base64')]), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

/** The carrier name and its credential, checked; the credential trimmed. */
export function checkCarrierCredential(carrier: string, credential: string): { carrier: StreamCarrier; credential: string } {
  if (!isStreamCarrier(carrier)) throw invalid(`carrier must be ${STREAM_CARRIERS.join(' or ')}`, 'carrier');
  const trimmed = credential.trim();
  if (trimmed.length === 0) throw invalid('the carrier credential is empty', 'credential');
  if (trimmed.length > MAX_CARRIER_CREDENTIAL) throw invalid(`the carrier credential is longer than ${MAX_CARRIER_CREDENTIAL} characters`, 'credential');
  if (carrier === 'twilio' && !/^[\x21-\x7e]+$/.test(trimmed)) throw invalid('a Twilio auth token is printable characters without spaces', 'credential');
  if (carrier === 'telnyx' && !isTelnyxPublicKey(trimmed)) throw invalid('a Telnyx public key is base64 of a 32-byte Ed25519 key, or PEM', 'credential');
  return { carrier, credential: trimmed };
}

/** Answers the number through `carrier`'s media streams, replacing any earlier carrier; audited without the credential. */
export async function setCarrier(
  db: Database, keyRing: Pick<KeyRing, 'sealTenantSecret'>, tenantId: string, numberId: string, input: { carrier: string; credential: string }, who: Actor,
): Promise<StreamCarrier> {
  const checked = checkCarrierCredential(input.carrier, input.credential);
  // Another tenant's number is invisible here (and the carrier row's foreign key must not reach across tenants).
  if (!(await findNumber(db, tenantId, numberId))) throw notFound('number');
  await setNumberCarrier(db, keyRing, tenantId, numberId, checked.carrier, checked.credential);
  await audit(db, tenantId, { ...auditBy(who), action: 'number.carrier.set', target: numberId, detail: { carrier: checked.carrier } });
  return checked.carrier;
}

/** Stops answering the number through a carrier's media streams; not-found when it has none. */
export async function removeCarrier(db: Database, tenantId: string, numberId: string, who: Actor): Promise<void> {
  if (!(await removeNumberCarrier(db, tenantId, numberId))) throw notFound('carrier for this number');
  await audit(db, tenantId, { ...auditBy(who), action: 'number.carrier.removed', target: numberId });
}
