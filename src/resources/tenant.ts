/**
 * The tenant's own settings: its name, its plan (billing: owners only, the
 * API's matrix decides) and its recording retention, which may be shorter
 * than the plan's but never longer (the seeds' retention by plan), and its
 * default country (where a contact's number written without + is read: a
 * country libphonenumber-js has a numbering plan for). The
 * calling policy has its own rules in src/compliance/outbound-policy.ts.
 * The concurrent call limit is the platform operator's (`smartalex tenant
 * update --max-concurrent-calls`): the plans define no maximum an owner could
 * be held to, so the API shows it and does not change it.
 */
import {
  audit, changeTenantPlan, getTenant, planRetentionDays, setTenantMaxConcurrentCalls, updateTenant, type Database, type Plan, type TenantRow,
} from '../../storage/index.ts';
import { phoneCountryCode } from '../compliance/phone.ts';
import { auditBy, invalid, notFound, type Actor } from './errors.ts';

export interface TenantSettings extends TenantRow {
  /** The plan's retention maximum. */
  maxRetentionDays: number;
}

function withMax(row: TenantRow): TenantSettings {
  return { ...row, maxRetentionDays: planRetentionDays(row.plan) ?? row.retentionDays };
}

export async function getTenantSettings(db: Database, tenantId: string): Promise<TenantSettings> {
  const row = await getTenant(db, tenantId);
  if (!row) throw notFound('tenant');
  return withMax(row);
}

const NAME = /^[^\u0000-\u001f\u007f]{1,200}$/;

export async function updateTenantSettings(
  db: Database, tenantId: string, changes: { name?: string | undefined; retentionDays?: number | undefined; defaultCountry?: string | undefined }, who: Actor,
): Promise<TenantSettings> {
  const current = await getTenantSettings(db, tenantId);
  const name = changes.name?.trim();
  if (name !== undefined && !NAME.test(name)) throw invalid('name must be 1-200 printable characters', 'name');
  if (changes.retentionDays !== undefined
    && (!Number.isInteger(changes.retentionDays) || changes.retentionDays < 1 || changes.retentionDays > current.maxRetentionDays)) {
    throw invalid(`retentionDays must be a whole number of days from 1 to ${current.maxRetentionDays} (the ${current.plan} plan's maximum)`, 'retentionDays');
  }
  const defaultCountry = changes.defaultCountry === undefined ? undefined : phoneCountryCode(changes.defaultCountry);
  if (changes.defaultCountry !== undefined && !defaultCountry) {
    throw invalid('defaultCountry must be an ISO 3166 alpha-2 country code with a known numbering plan (e.g. US, GB, FR)', 'defaultCountry');
  }
  const row = await updateTenant(db, tenantId, { name, retentionDays: changes.retentionDays, defaultCountry });
  if (!row) throw notFound('tenant');
  const fields = Object.entries(changes).filter(([, v]) => v !== undefined).map(([k]) => k);
  await audit(db, tenantId, {
    ...auditBy(who), action: 'tenant.updated', target: tenantId,
    detail: {
      fields, ...(changes.retentionDays !== undefined ? { retentionDays: changes.retentionDays } : {}),
      ...(defaultCountry !== undefined ? { defaultCountry: { before: current.defaultCountry, after: defaultCountry } } : {}),
    },
  });
  return withMax(row);
}

/** A new plan; the retention follows it (see changeTenantPlan) and agents' overrides come down to its maximum. */
export async function changePlan(db: Database, tenantId: string, plan: Plan, who: Actor): Promise<TenantSettings> {
  const before = await getTenantSettings(db, tenantId);
  const result = await changeTenantPlan(db, tenantId, plan);
  if (!result) throw notFound('tenant');
  await audit(db, tenantId, {
    ...auditBy(who), action: 'tenant.plan.changed', target: tenantId,
    detail: { from: before.plan, to: plan, retentionDays: result.tenant.retentionDays, agentsClamped: result.agentsClamped },
  });
  return withMax(result.tenant);
}

/** The most concurrent calls a tenant may be given (the column is an int; far above what any node carries). */
export const MAX_CONCURRENT_CALLS_SETTING = 1_000_000;

/** The operator sets the tenant's own concurrent call limit (admission applies it under SMARTALEX_MAX_CALLS_PER_TENANT); audited with before and after. */
export async function setTenantCallLimit(db: Database, tenantId: string, maxConcurrentCalls: number, who: Actor): Promise<TenantSettings> {
  if (!Number.isInteger(maxConcurrentCalls) || maxConcurrentCalls < 1 || maxConcurrentCalls > MAX_CONCURRENT_CALLS_SETTING) {
    throw invalid(`maxConcurrentCalls must be a whole number from 1 to ${MAX_CONCURRENT_CALLS_SETTING}`, 'maxConcurrentCalls');
  }
  const changed = await setTenantMaxConcurrentCalls(db, tenantId, maxConcurrentCalls);
  if (!changed) throw notFound('tenant');
  await audit(db, tenantId, {
    ...auditBy(who), action: 'tenant.updated', target: tenantId,
    detail: { fields: ['maxConcurrentCalls'], maxConcurrentCalls: { before: changed.before, after: changed.after } },
  });
  return getTenantSettings(db, tenantId);
}
