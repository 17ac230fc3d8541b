/**
 * Outbound campaigns and each contact's progress (0008_webhooks.sql), inside
 * the tenant scope. A contact is marked 'dialing' (attempt counted) in a
 * committed transaction BEFORE its call is placed, so a restart finds it
 * there and never dials it again (recoverInterruptedDials). Finishing a
 * contact and finishing the campaign write their webhook events
 * (campaign.contact.completed, campaign.completed) in the same transaction.
 */
import { and, asc, desc, eq, getTableColumns, gt, gte, inArray, isNull, like, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import type { Database, Tx } from '../database.ts';
import { campaignContacts, campaigns, contacts } from '../schema.ts';
import { withTenant } from '../tenant-scope.ts';
import { auditInTx, type AuditEntry } from './audit.ts';
import { afterTimestamp, decodeCursor, encodeCursor, micros, pageOf, type Page, type PageRequest } from './page.ts';
import { emitEvent, notifyOutbox } from './webhook-outbox.ts';

export type CampaignRow = typeof campaigns.$inferSelect;
export type CampaignContactRow = typeof campaignContacts.$inferSelect;
export type CampaignState = 'draft' | 'running' | 'paused' | 'cancelled' | 'completed';
export type ContactOutcome = 'answered' | 'busy' | 'no-answer' | 'failed' | 'refused' | 'cancelled';

export interface NewCampaign {
  name: string;
  agentId: string;
  callerId?: string | null;
  startsAt?: Date | null;
  endsAt?: Date | null;
  maxConcurrent?: number;
  callsPerSecond?: number;
  maxAttempts?: number;
  retrySpacingSeconds?: number;
  /** The contacts to call: these ids, and/or every contact `contactFilter` matches when the campaign is created. */
  contactIds: string[];
  contactFilter?: ContactFilter | undefined;
}

/** Which of the tenant's contacts a campaign takes (all given conditions hold); resolved once, at creation. */
export interface ContactFilter {
  /** Numbers starting with this (as stored, normalised: "+1555"). */
  phonePrefix?: string | undefined;
  /** Contacts with this own time zone. */
  timeZone?: string | undefined;
  /** Created at or after / before (exclusive) these instants. */
  createdFrom?: Date | undefined;
  createdTo?: Date | undefined;
}

function contactFilterSql(filter: ContactFilter): SQL | undefined {
  const escaped = filter.phonePrefix?.replace(/[\\%_]/g, (c) => `\\${c}`);
  return and(
    escaped !== undefined ? like(contacts.phone, `${escaped}%`) : undefined,
    filter.timeZone !== undefined ? eq(contacts.timeZone, filter.timeZone) : undefined,
    filter.createdFrom ? gte(contacts.createdAt, filter.createdFrom) : undefined,
    filter.createdTo ? lt(contacts.createdAt, filter.createdTo) : undefined,
  );
}

export async function insertCampaign(db: Database, tenantId: string, input: NewCampaign, entry: Omit<AuditEntry, 'target'>): Promise<CampaignRow> {
  return withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.insert(campaigns).values({
      tenantId, name: input.name, agentId: input.agentId, callerId: input.callerId ?? null, startsAt: input.startsAt ?? null, endsAt: input.endsAt ?? null,
      ...(input.maxConcurrent !== undefined ? { maxConcurrent: input.maxConcurrent } : {}),
      ...(input.callsPerSecond !== undefined ? { callsPerSecond: input.callsPerSecond } : {}),
      ...(input.maxAttempts !== undefined ? { maxAttempts: input.maxAttempts } : {}),
      ...(input.retrySpacingSeconds !== undefined ? { retrySpacingSeconds: input.retrySpacingSeconds } : {}),
    }).returning();
    const listed = [...new Set(input.contactIds)];
    if (listed.length) {
      const found = await tx.select({ id: contacts.id }).from(contacts).where(inArray(contacts.id, listed));
      if (found.length !== listed.length) throw new CampaignStateError('some contacts do not exist', 'invalid');
    }
    const matched = input.contactFilter
      ? (await tx.select({ id: contacts.id }).from(contacts).where(contactFilterSql(input.contactFilter)).orderBy(asc(contacts.createdAt), asc(contacts.id))).map((c) => c.id)
      : [];
    const ids = [...new Set([...listed, ...matched])];
    if (ids.length) await tx.insert(campaignContacts).values(ids.map((contactId) => ({ tenantId, campaignId: row!.id, contactId })));
    await auditInTx(tx, tenantId, { ...entry, target: row!.id, detail: { ...entry.detail, contacts: ids.length } });
    return row!;
  });
}

/** A refused campaign change: `not-found` (no such campaign in this tenant), `conflict` (not in a state that allows it), `invalid` input. */
export class CampaignStateError extends Error {
  override name = 'CampaignStateError';
  constructor(message: string, readonly kind: 'not-found' | 'conflict' | 'invalid' = 'conflict') {
    super(message);
  }
}

export async function getCampaign(db: Database, tenantId: string, id: string): Promise<CampaignRow | undefined> {
  return withTenant(db, tenantId, async (tx) => (await tx.select().from(campaigns).where(eq(campaigns.id, id)))[0]);
}

export async function listCampaignsInState(db: Database, tenantId: string, state: CampaignState): Promise<CampaignRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(campaigns).where(eq(campaigns.state, state)).orderBy(asc(campaigns.createdAt)));
}

const TRANSITIONS: Record<string, { from: CampaignState[]; to: CampaignState }> = {
  start: { from: ['draft'], to: 'running' },
  pause: { from: ['running'], to: 'paused' },
  resume: { from: ['paused'], to: 'running' },
  cancel: { from: ['draft', 'running', 'paused'], to: 'cancelled' },
};

/** start, pause, resume, cancel: checked against the current state, audited; cancel settles the contacts not yet dialled. */
export async function changeCampaignState(db: Database, tenantId: string, id: string, action: keyof typeof TRANSITIONS, actor: string, sourceIp?: string): Promise<CampaignRow> {
  const t = TRANSITIONS[action];
  if (!t) throw new CampaignStateError(`unknown action ${action}`);
  const row = await withTenant(db, tenantId, async (tx) => {
    const [current] = await tx.select().from(campaigns).where(eq(campaigns.id, id)).for('update');
    if (!current) throw new CampaignStateError('no such campaign', 'not-found');
    if (!t.from.includes(current.state as CampaignState)) throw new CampaignStateError(`cannot ${action} a ${current.state} campaign`);
    const [updated] = await tx.update(campaigns).set({ state: t.to }).where(eq(campaigns.id, id)).returning();
    await auditInTx(tx, tenantId, { actor, action: `campaign.${action}`, target: id, detail: { from: current.state, to: t.to }, ...(sourceIp ? { sourceIp } : {}) });
    if (action === 'cancel') {
      const pending = await tx.update(campaignContacts).set({ state: 'done', outcome: 'cancelled', completedAt: new Date() })
        .where(and(eq(campaignContacts.campaignId, id), eq(campaignContacts.state, 'pending'))).returning();
      for (const c of pending) await emitContactCompleted(tx, tenantId, c);
    }
    // Nothing left to dial completes it now: a campaign with no contacts, or whose last calls (in flight when it was
    // paused) finished while it was paused; no later dial would complete it.
    await maybeCompleteCampaign(tx, tenantId, id);
    return updated!;
  });
  notifyOutbox();
  return row;
}

export interface DueContact { id: number; contactId: string; phone: string; timeZone: string | null; attempts: number }

/**
 * Takes the next contact due for a call (pending, its retry time reached), marks it dialing and counts the
 * attempt; undefined when none is due or the campaign is not running. Committed before the call is placed.
 */
export async function claimNextContact(db: Database, tenantId: string, campaignId: string, now: Date): Promise<DueContact | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    // Only while the campaign runs: the shared row lock orders this claim against a pause or cancel (which lock it
    // for update), so a claim either commits before the change (a call in flight) or sees it and takes nothing.
    const [running] = await tx.select({ id: campaigns.id }).from(campaigns).where(and(eq(campaigns.id, campaignId), eq(campaigns.state, 'running'))).for('share');
    if (!running) return undefined;
    const [next] = await tx.select({ id: campaignContacts.id }).from(campaignContacts)
      .where(and(eq(campaignContacts.campaignId, campaignId), eq(campaignContacts.state, 'pending'),
        or(isNull(campaignContacts.nextAttemptAt), lte(campaignContacts.nextAttemptAt, now))))
      .orderBy(asc(sql`coalesce(${campaignContacts.nextAttemptAt}, 'epoch'::timestamptz)`), asc(campaignContacts.id)).limit(1)
      .for('update', { skipLocked: true });
    if (!next) return undefined;
    const [row] = await tx.update(campaignContacts).set({ state: 'dialing', attempts: sql`${campaignContacts.attempts} + 1` })
      .where(eq(campaignContacts.id, next.id)).returning();
    const [contact] = await tx.select({ phone: contacts.phone, timeZone: contacts.timeZone }).from(contacts).where(eq(contacts.id, row!.contactId));
    return { id: row!.id, contactId: row!.contactId, phone: contact!.phone, timeZone: contact!.timeZone, attempts: row!.attempts };
  });
}

export interface ContactAttemptResult {
  outcome: Exclude<ContactOutcome, 'cancelled'>;
  detail?: string | null;
  callId?: string | null;
  /** Try again at this time (busy / no answer within the attempt limit); null: the contact is done. */
  retryAt: Date | null;
}

/** Records a dial's result; when the contact is done, emits campaign.contact.completed and, if it was the last, completes the campaign. */
export async function finishContactAttempt(db: Database, tenantId: string, campaignId: string, rowId: number, result: ContactAttemptResult): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    const [row] = await tx.update(campaignContacts).set({
      state: result.retryAt ? 'pending' : 'done', outcome: result.outcome, detail: result.detail ?? null, callId: result.callId ?? null,
      nextAttemptAt: result.retryAt, completedAt: result.retryAt ? null : new Date(),
    }).where(eq(campaignContacts.id, rowId)).returning();
    if (row && !result.retryAt) {
      await emitContactCompleted(tx, tenantId, row);
      await maybeCompleteCampaign(tx, tenantId, campaignId);
    }
  });
  notifyOutbox();
}

/**
 * A dial the outbound policy put off (outside calling hours): no call was placed, so the attempt is not
 * counted; the contact goes back to pending, due at `until`, with `detail` saying why it waits.
 */
export async function deferContact(db: Database, tenantId: string, rowId: number, until: Date, detail: string): Promise<void> {
  await withTenant(db, tenantId, (tx) => tx.update(campaignContacts)
    .set({ state: 'pending', attempts: sql`greatest(${campaignContacts.attempts} - 1, 0)`, nextAttemptAt: until, detail })
    .where(and(eq(campaignContacts.id, rowId), eq(campaignContacts.state, 'dialing'))));
}

/** After a restart: contacts left 'dialing' may or may not have been called; they are settled as failed ("interrupted"), never dialled again. */
export async function recoverInterruptedDials(db: Database, tenantId: string, campaignId: string): Promise<number> {
  const n = await withTenant(db, tenantId, async (tx) => {
    const rows = await tx.update(campaignContacts).set({ state: 'done', outcome: 'failed', detail: 'interrupted', completedAt: new Date() })
      .where(and(eq(campaignContacts.campaignId, campaignId), eq(campaignContacts.state, 'dialing'))).returning();
    for (const r of rows) await emitContactCompleted(tx, tenantId, r);
    if (rows.length) await maybeCompleteCampaign(tx, tenantId, campaignId);
    return rows.length;
  });
  notifyOutbox();
  return n;
}

/** The window closed: contacts not yet done are settled as cancelled ("window-ended"), the campaign completes. */
export async function closeCampaignWindow(db: Database, tenantId: string, campaignId: string): Promise<void> {
  await withTenant(db, tenantId, async (tx) => {
    const rows = await tx.update(campaignContacts).set({ state: 'done', outcome: 'cancelled', detail: 'window-ended', completedAt: new Date() })
      .where(and(eq(campaignContacts.campaignId, campaignId), eq(campaignContacts.state, 'pending'))).returning();
    for (const r of rows) await emitContactCompleted(tx, tenantId, r);
    await maybeCompleteCampaign(tx, tenantId, campaignId);
  });
  notifyOutbox();
}

async function emitContactCompleted(tx: Tx, tenantId: string, row: CampaignContactRow): Promise<void> {
  await emitEvent(tx, tenantId, {
    type: 'campaign.contact.completed', subject: row.campaignId,
    data: { campaignId: row.campaignId, contactId: row.contactId, outcome: row.outcome, detail: row.detail, attempts: row.attempts, callId: row.callId },
  });
}

/**
 * Completes a running (or cancelled) campaign with nothing left to dial, once, emitting campaign.completed.
 * The campaign's row is locked before the count: two transactions settling a campaign's last two contacts
 * at once would otherwise each count the other's contact as still dialing (not yet committed) and neither
 * complete it. Locked, the later one counts after the earlier has committed. Claims hold the row FOR SHARE
 * and skip locked contacts, so this waits for them and never for a contact: no deadlock.
 */
async function maybeCompleteCampaign(tx: Tx, tenantId: string, campaignId: string): Promise<void> {
  await tx.select({ id: campaigns.id }).from(campaigns).where(eq(campaigns.id, campaignId)).for('no key update');
  const [open] = await tx.select({ n: sql<number>`count(*)::int` }).from(campaignContacts)
    .where(and(eq(campaignContacts.campaignId, campaignId), inArray(campaignContacts.state, ['pending', 'dialing'])));
  if ((open?.n ?? 0) > 0) return;
  const [done] = await tx.update(campaigns).set({ state: sql`case when ${campaigns.state} = 'cancelled' then 'cancelled' else 'completed' end`, completedAt: new Date() })
    .where(and(eq(campaigns.id, campaignId), inArray(campaigns.state, ['running', 'cancelled']), isNull(campaigns.completedAt))).returning();
  if (!done) return;
  const outcomes = await tx.select({ outcome: campaignContacts.outcome, n: sql<number>`count(*)::int` }).from(campaignContacts)
    .where(eq(campaignContacts.campaignId, campaignId)).groupBy(campaignContacts.outcome);
  await emitEvent(tx, tenantId, {
    type: 'campaign.completed', subject: campaignId,
    data: { campaignId, state: done.state, outcomes: Object.fromEntries(outcomes.map((o) => [o.outcome ?? 'none', Number(o.n)])) },
  });
}

export interface CampaignProgress {
  campaign: CampaignRow;
  total: number;
  byState: Record<string, number>;
  byOutcome: Record<string, number>;
}

export async function campaignProgress(db: Database, tenantId: string, campaignId: string): Promise<CampaignProgress | undefined> {
  return withTenant(db, tenantId, async (tx) => {
    const [campaign] = await tx.select().from(campaigns).where(eq(campaigns.id, campaignId));
    if (!campaign) return undefined;
    const groups = await tx.select({ state: campaignContacts.state, outcome: campaignContacts.outcome, n: sql<number>`count(*)::int` })
      .from(campaignContacts).where(eq(campaignContacts.campaignId, campaignId)).groupBy(campaignContacts.state, campaignContacts.outcome);
    const byState: Record<string, number> = {};
    const byOutcome: Record<string, number> = {};
    let total = 0;
    for (const g of groups) {
      const n = Number(g.n);
      total += n;
      byState[g.state] = (byState[g.state] ?? 0) + n;
      if (g.state === 'done' && g.outcome) byOutcome[g.outcome] = (byOutcome[g.outcome] ?? 0) + n;
    }
    return { campaign, total, byState, byOutcome };
  });
}

export async function listCampaignContacts(db: Database, tenantId: string, campaignId: string): Promise<CampaignContactRow[]> {
  return withTenant(db, tenantId, (tx) => tx.select().from(campaignContacts).where(eq(campaignContacts.campaignId, campaignId)).orderBy(asc(campaignContacts.id)));
}

/** The tenant's campaigns, newest first, optionally in one state. */
export async function listCampaignsPage(db: Database, tenantId: string, filter: { state?: CampaignState | undefined }, page: PageRequest): Promise<Page<CampaignRow>> {
  const found = await withTenant(db, tenantId, (tx) => tx.select({ ...getTableColumns(campaigns), key: micros(campaigns.createdAt) }).from(campaigns)
    .where(and(filter.state ? eq(campaigns.state, filter.state) : undefined, afterTimestamp(campaigns.createdAt, campaigns.id, page.cursor, 'desc')))
    .orderBy(desc(campaigns.createdAt), desc(campaigns.id)).limit(page.limit + 1));
  const result = pageOf(found, page.limit, (row) => encodeCursor(row.key, row.id));
  return { items: result.items.map(({ key: _key, ...row }) => row), next: result.next };
}

/** One campaign's contacts with their outcomes, in the order they were added; undefined when the tenant has no such campaign. */
export async function listCampaignContactsPage(
  db: Database, tenantId: string, campaignId: string, filter: { outcome?: ContactOutcome | undefined; state?: 'pending' | 'dialing' | 'done' | undefined }, page: PageRequest,
): Promise<Page<CampaignContactRow> | undefined> {
  const after = page.cursor === undefined ? undefined : Number(decodeCursor(page.cursor, { key: 'int', id: 'int' })[1]);
  return withTenant(db, tenantId, async (tx) => {
    const [campaign] = await tx.select({ id: campaigns.id }).from(campaigns).where(eq(campaigns.id, campaignId));
    if (!campaign) return undefined;
    const rows = await tx.select().from(campaignContacts)
      .where(and(eq(campaignContacts.campaignId, campaignId), filter.outcome ? eq(campaignContacts.outcome, filter.outcome) : undefined,
        filter.state ? eq(campaignContacts.state, filter.state) : undefined, after !== undefined ? gt(campaignContacts.id, after) : undefined))
      .orderBy(asc(campaignContacts.id)).limit(page.limit + 1);
    return pageOf(rows, page.limit, (row) => encodeCursor(row.id, row.id));
  });
}
