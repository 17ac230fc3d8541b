/**
 * Outbound calling compliance data (TCPA): the tenant's calling policy (columns
 * on `tenants`, migration 0004), its do-not-call list, its consent records, and
 * the one-transaction read the per-call check makes. Everything runs inside the
 * tenant scope, so another tenant's rows are invisible (forced RLS).
 *
 * Phone numbers arrive here already normalised by src/compliance/phone.ts and
 * are stored as given; the rules (what counts as consent, which number wins)
 * live in src/compliance/outbound-policy.ts, not here.
 */
import { and, asc, desc, eq, getTableColumns, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../database.ts';
import { consents, doNotCall, numbers, tenants } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { auditInTx, type AuditEntry } from './audit.ts';
import { afterTimestamp, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

/** The consent kind that permits outbound calls; consent of any other kind does not. */
export const OUTBOUND_CALL_CONSENT = 'outbound-call';

export interface OutboundPolicy {
  /** IANA time zone the window is read in. */
  timezone: string;
  /** 'HH:MM', inclusive. */
  windowStart: string;
  /** 'HH:MM' (or '24:00'), exclusive. */
  windowEnd: string;
  days: Weekday[];
  requireConsent: boolean;
}

const policyColumns = {
  timezone: tenants.outboundTimezone,
  windowStart: tenants.outboundWindowStart,
  windowEnd: tenants.outboundWindowEnd,
  days: tenants.outboundDays,
  requireConsent: tenants.outboundRequireConsent,
};

function toPolicy(row: { timezone: string; windowStart: string; windowEnd: string; days: string[]; requireConsent: boolean }): OutboundPolicy {
  return { ...row, days: WEEKDAYS.filter((d) => row.days.includes(d)) };
}

/** The tenant's outbound calling policy; undefined when there is no such tenant. */
export async function getOutboundPolicy(db: Database, tenantId: string): Promise<OutboundPolicy | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.select(policyColumns).from(tenants).where(eq(tenants.id, tenantId));
    return row ? toPolicy(row) : undefined;
  });
}

/** Changes the given fields (validated by the caller; the database's checks are the backstop). Undefined: no such tenant. */
export async function updateOutboundPolicy(db: Database, tenantId: string, changes: Partial<OutboundPolicy>): Promise<OutboundPolicy | undefined> {
  const set: Partial<typeof tenants.$inferInsert> = {};
  if (changes.timezone !== undefined) set.outboundTimezone = changes.timezone;
  if (changes.windowStart !== undefined) set.outboundWindowStart = changes.windowStart;
  if (changes.windowEnd !== undefined) set.outboundWindowEnd = changes.windowEnd;
  if (changes.days !== undefined) set.outboundDays = changes.days;
  if (changes.requireConsent !== undefined) set.outboundRequireConsent = changes.requireConsent;
  if (Object.keys(set).length === 0) return getOutboundPolicy(db, tenantId);
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.update(tenants).set(set).where(eq(tenants.id, tenantId)).returning(policyColumns);
    return row ? toPolicy(row) : undefined;
  });
}

// ------------------------------------------------------------ do-not-call

export type DoNotCallRow = typeof doNotCall.$inferSelect;

/** Adds a number to the list; `added` is false when it was already there (the first entry is kept). */
export async function addDoNotCallEntry(db: Database, tenantId: string, input: { phone: string; reason?: string | null }): Promise<{ row: DoNotCallRow; added: boolean }> {
  return withTenant(db, tenantId, async (tx) => {
    const [inserted] = await tx.insert(doNotCall).values({ tenantId, phone: input.phone, reason: input.reason ?? null })
      .onConflictDoNothing({ target: [doNotCall.tenantId, doNotCall.phone] }).returning();
    if (inserted) return { row: inserted, added: true };
    const [existing] = await tx.select().from(doNotCall).where(and(eq(doNotCall.tenantId, tenantId), eq(doNotCall.phone, input.phone)));
    return { row: existing!, added: false };
  });
}

/** Removes every stored spelling given (see phoneVariants); true when something was removed. */
export async function removeDoNotCallEntry(db: Database, tenantId: string, phones: string[]): Promise<boolean> {
  return withTenant(db, tenantId, async (tx) => {
    const removed = await tx.delete(doNotCall).where(and(eq(doNotCall.tenantId, tenantId), inArray(doNotCall.phone, phones))).returning({ id: doNotCall.id });
    return removed.length > 0;
  });
}

export async function listDoNotCallEntries(db: Database, tenantId: string): Promise<DoNotCallRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(doNotCall).orderBy(asc(doNotCall.createdAt), asc(doNotCall.phone)));
}

export async function getDoNotCallEntry(db: Database, tenantId: string, id: string): Promise<DoNotCallRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(doNotCall).where(eq(doNotCall.id, id)))[0]);
}

/** The list, oldest first, one page at a time; `phones`: only these spellings. */
export async function listDoNotCallPage(db: Database, tenantId: string, filter: { phones?: string[] | undefined }, page: PageRequest): Promise<Page<DoNotCallRow>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(doNotCall), key: micros(doNotCall.createdAt) }).from(doNotCall)
    .where(and(filter.phones ? inArray(doNotCall.phone, filter.phones) : undefined, afterTimestamp(doNotCall.createdAt, doNotCall.id, page.cursor, 'asc')))
    .orderBy(asc(doNotCall.createdAt), asc(doNotCall.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => row), next: result.next };
}

// ------------------------------------------------------------ consents

export type ConsentRow = typeof consents.$inferSelect;

/** Records consent; when an unrevoked consent of that kind already exists for one of `phones`, it is returned with `added` false. */
export async function addConsentRecord(db: Database, tenantId: string, input: { phone: string; phones?: string[]; kind: string; source?: string | null; contactId?: string | null }): Promise<{ row: ConsentRow; added: boolean }> {
  return withTenant(db, tenantId, async (tx) => {
    const [active] = await tx.select().from(consents)
      .where(and(eq(consents.tenantId, tenantId), inArray(consents.phone, input.phones ?? [input.phone]), eq(consents.kind, input.kind), isNull(consents.revokedAt)))
      .orderBy(asc(consents.grantedAt)).limit(1);
    if (active) return { row: active, added: false };
    const [row] = await tx.insert(consents).values({
      tenantId, phone: input.phone, kind: input.kind, source: input.source ?? null, contactId: input.contactId ?? null,
    }).returning();
    return { row: row!, added: true };
  });
}

/** Marks the unrevoked consents of that kind for any of `phones` revoked (kept as a record); how many were. */
export async function revokeConsentRecords(db: Database, tenantId: string, input: { phones: string[]; kind: string }): Promise<number> {
  return withTenant(db, tenantId, async (tx) => {
    const revoked = await tx.update(consents).set({ revokedAt: sql`now()` })
      .where(and(eq(consents.tenantId, tenantId), inArray(consents.phone, input.phones), eq(consents.kind, input.kind), isNull(consents.revokedAt)))
      .returning({ id: consents.id });
    return revoked.length;
  });
}

export async function listConsentRecords(db: Database, tenantId: string, options: { includeRevoked?: boolean } = {}): Promise<ConsentRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(consents)
    .where(options.includeRevoked ? undefined : isNull(consents.revokedAt))
    .orderBy(desc(consents.grantedAt), asc(consents.phone)));
}

export async function getConsentRecord(db: Database, tenantId: string, id: string): Promise<ConsentRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(consents).where(eq(consents.id, id)))[0]);
}

/** Consent records, newest first, one page at a time (in force only, unless `includeRevoked`). */
export async function listConsentPage(
  db: Database, tenantId: string, filter: { includeRevoked?: boolean | undefined; phones?: string[] | undefined; contactId?: string | undefined }, page: PageRequest,
): Promise<Page<ConsentRow>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(consents), key: micros(consents.grantedAt) }).from(consents)
    .where(and(
      filter.includeRevoked ? undefined : isNull(consents.revokedAt),
      filter.phones ? inArray(consents.phone, filter.phones) : undefined,
      filter.contactId ? eq(consents.contactId, filter.contactId) : undefined,
      afterTimestamp(consents.grantedAt, consents.id, page.cursor, 'desc'),
    ))
    .orderBy(desc(consents.grantedAt), desc(consents.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => row), next: result.next };
}

// ------------------------------------------------------------ the per-call read

/** What one outbound call is judged on. */
export interface OutboundFacts {
  policy: OutboundPolicy;
  /** One of the callee's spellings is on the do-not-call list. */
  doNotCall: boolean;
  /** An unrevoked consent of the asked kind exists for one of the callee's spellings. */
  consent: boolean;
  /** The tenant's own numbers, oldest first. */
  numbers: string[];
}

/**
 * One transaction, one query for the facts: reads the policy, the do-not-call
 * and consent matches for `phones` (the callee's spellings) and the tenant's
 * numbers; `decide` turns them into a result and, for a refusal, an audit
 * entry written in the same transaction. `facts` is undefined when the tenant
 * does not exist (an audit entry is then ignored: it has nowhere to go).
 */
export async function decideOutbound<T>(
  db: Database,
  tenantId: string,
  query: { phones: string[]; consentKind: string },
  decide: (facts: OutboundFacts | undefined) => { result: T; audit?: AuditEntry | undefined },
): Promise<T> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.select({
      ...policyColumns,
      doNotCall: sql<boolean>`exists (select 1 from ${doNotCall} where ${doNotCall.tenantId} = ${tenantId} and ${inArray(doNotCall.phone, query.phones)})`,
      consent: sql<boolean>`exists (select 1 from ${consents} where ${consents.tenantId} = ${tenantId} and ${inArray(consents.phone, query.phones)}
        and ${consents.kind} = ${query.consentKind} and ${consents.revokedAt} is null)`,
      numbers: sql<string>`(select coalesce(json_agg(${numbers.number} order by ${numbers.createdAt}, ${numbers.number}), '[]')::text
        from ${numbers} where ${numbers.tenantId} = ${tenantId})`,
    }).from(tenants).where(eq(tenants.id, tenantId));
    const facts: OutboundFacts | undefined = row
      ? {
        policy: toPolicy(row),
        doNotCall: row.doNotCall,
        consent: row.consent,
        numbers: JSON.parse(row.numbers) as string[],
      }
      : undefined;
    const { result, audit } = decide(facts);
    if (audit && facts) await auditInTx(tx, tenantId, audit);
    return result;
  });
}
