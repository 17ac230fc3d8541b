/**
 * A tenant's do-not-call list and consent records, as the operator keeps them
 * (the security promises' "DNC List Support" and "Consent Tracking"). Numbers
 * are normalised to E.164 before they are stored (src/compliance/phone.ts), a
 * number written without + read in the tenant's default country
 * (tenant-country.ts, as contacts are), so any spelling of a number finds it;
 * removal and revocation also catch the bare US spellings older rows may hold. Every change is audited with the number
 * masked to its last 4 digits. Revoking consent keeps the record (revoked_at
 * set): when consent was given, and withdrawn, is evidence worth keeping.
 */
import {
  addConsentRecord, addDoNotCallEntry, audit, getConsentRecord, getDoNotCallEntry, listConsentRecords, listDoNotCallEntries, OUTBOUND_CALL_CONSENT,
  removeDoNotCallEntry, revokeConsentRecords, type ConsentRow, type Database, type DoNotCallRow,
} from '../../storage/index.ts';
import { maskPhone, normalisePhone, phoneVariants, storedPhone } from './phone.ts';
import { readInCountry, tenantPhoneCountry } from './tenant-country.ts';

export class InvalidPhoneError extends Error {
  override name = 'InvalidPhoneError';
}

const DEFAULT_ACTOR = 'system:compliance';

/** Who changes a list, for the audit log: the actor and, over the API, the source address. */
export interface ListActor { actor?: string; sourceIp?: string | undefined }

const by = (options: ListActor): { actor: string; sourceIp?: string } => ({ actor: options.actor ?? DEFAULT_ACTOR, ...(options.sourceIp ? { sourceIp: options.sourceIp } : {}) });

/** The canonical number, read without + in the tenant's default country, or InvalidPhoneError (the message does not repeat the number). */
async function requirePhone(db: Database, tenantId: string, raw: string): Promise<string> {
  const country = await tenantPhoneCountry(db, tenantId);
  const phone = normalisePhone(raw, country);
  if (!phone) {
    throw new InvalidPhoneError(`not a phone number: use digits, with a leading + and the country code for a number abroad (spaces, dashes, dots and parentheses are ignored); ${readInCountry(country)}`);
  }
  return phone;
}

export async function addToDoNotCall(db: Database, tenantId: string, raw: string, options: { reason?: string | undefined } & ListActor = {}): Promise<{ phone: string; added: boolean; row: DoNotCallRow }> {
  const phone = await requirePhone(db, tenantId, raw);
  const { added, row } = await addDoNotCallEntry(db, tenantId, { phone, reason: options.reason ?? null });
  if (added) await audit(db, tenantId, { ...by(options), action: 'dnc.added', target: maskPhone(phone), detail: options.reason ? { reason: options.reason } : {} });
  return { phone, added, row };
}

export async function removeFromDoNotCall(db: Database, tenantId: string, raw: string, options: ListActor = {}): Promise<{ phone: string; removed: boolean }> {
  const phone = await requirePhone(db, tenantId, raw);
  const removed = await removeDoNotCallEntry(db, tenantId, phoneVariants(phone));
  if (removed) await audit(db, tenantId, { ...by(options), action: 'dnc.removed', target: maskPhone(phone) });
  return { phone, removed };
}

export async function listDoNotCall(db: Database, tenantId: string): Promise<DoNotCallRow[]> {
  return listDoNotCallEntries(db, tenantId);
}

/** Records prior consent (kind 'outbound-call' unless told); an unrevoked one already there is kept and returned. */
export async function grantConsent(
  db: Database, tenantId: string, raw: string, options: { source: string; kind?: string | undefined; contactId?: string | undefined } & ListActor,
): Promise<{ phone: string; added: boolean; row: ConsentRow }> {
  const phone = await requirePhone(db, tenantId, raw);
  if (!options.source.trim()) throw new Error('say where the consent came from (a source: web form, call recording, signed paper...)');
  const kind = options.kind ?? OUTBOUND_CALL_CONSENT;
  const { row, added } = await addConsentRecord(db, tenantId, { phone, phones: phoneVariants(phone), kind, source: options.source.trim(), contactId: options.contactId ?? null });
  if (added) await audit(db, tenantId, { ...by(options), action: 'consent.granted', target: maskPhone(phone), detail: { kind, source: options.source.trim() } });
  return { phone, added, row };
}

/** Revokes the number's unrevoked consents of that kind ('outbound-call' unless told); how many were. */
export async function revokeConsent(db: Database, tenantId: string, raw: string, options: { kind?: string | undefined } & ListActor = {}): Promise<{ phone: string; revoked: number }> {
  const phone = await requirePhone(db, tenantId, raw);
  const kind = options.kind ?? OUTBOUND_CALL_CONSENT;
  const revoked = await revokeConsentRecords(db, tenantId, { phones: phoneVariants(phone), kind });
  if (revoked > 0) await audit(db, tenantId, { ...by(options), action: 'consent.revoked', target: maskPhone(phone), detail: { kind, count: revoked } });
  return { phone, revoked };
}

/** Takes the entry's number off the list, under every spelling (as removeFromDoNotCall); undefined when the tenant has no such entry. */
export async function removeDoNotCallById(db: Database, tenantId: string, id: string, options: ListActor = {}): Promise<{ phone: string } | undefined> {
  const entry = await getDoNotCallEntry(db, tenantId, id);
  if (!entry) return undefined;
  const phone = storedPhone(entry.phone);
  const removed = await removeDoNotCallEntry(db, tenantId, [...new Set([entry.phone, ...phoneVariants(phone)])]);
  if (removed) await audit(db, tenantId, { ...by(options), action: 'dnc.removed', target: maskPhone(phone) });
  return { phone };
}

/**
 * Withdraws the consent this record grants: every unrevoked consent of its kind for its number (any
 * spelling), as revokeConsent. Undefined when the tenant has no such record; `revoked` 0 when it was already revoked.
 */
export async function revokeConsentById(db: Database, tenantId: string, id: string, options: ListActor = {}): Promise<{ row: ConsentRow; revoked: number } | undefined> {
  const record = await getConsentRecord(db, tenantId, id);
  if (!record) return undefined;
  if (record.revokedAt) return { row: record, revoked: 0 };
  const phone = storedPhone(record.phone);
  const revoked = await revokeConsentRecords(db, tenantId, { phones: [...new Set([record.phone, ...phoneVariants(phone)])], kind: record.kind });
  if (revoked > 0) await audit(db, tenantId, { ...by(options), action: 'consent.revoked', target: maskPhone(phone), detail: { kind: record.kind, count: revoked } });
  return { row: (await getConsentRecord(db, tenantId, id)) ?? record, revoked };
}

export async function listConsents(db: Database, tenantId: string, options: { includeRevoked?: boolean } = {}): Promise<ConsentRow[]> {
  return listConsentRecords(db, tenantId, options);
}
