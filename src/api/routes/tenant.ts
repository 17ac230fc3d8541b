/**
 * /v1/tenant: the caller's own tenant (from the credential; there is no
 * tenant id in these URLs). Name, retention (within the plan's maximum) and
 * the default country for contacts' numbers need tenant:write, the plan is billing (owners), the calling policy is the
 * TCPA rules of src/compliance/outbound-policy.ts. The concurrent call limit is read here and set only by
 * the platform operator (src/resources/tenant.ts says why).
 */
import { z } from 'zod';
import { PLANS, WEEKDAYS } from '../../../storage/index.ts';
import { getCallingPolicy, setCallingPolicy } from '../../compliance/index.ts';
import { changePlan, getTenantSettings, updateTenantSettings, type TenantSettings } from '../../resources/tenant.ts';
import { defineRoute } from '../route.ts';
import { nonEmpty, served, who } from './resource-support.ts';

const tenantSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  plan: z.enum(PLANS as [string, ...string[]]),
  retentionDays: z.number().int().describe('Recording retention in days'),
  maxRetentionDays: z.number().int().describe('The plan\'s retention maximum'),
  maxConcurrentCalls: z.number().int().describe('Concurrent calls at most, across the cluster; set by the platform operator (`smartalex tenant update`), not through the API, and capped on every node by its SMARTALEX_MAX_CALLS_PER_TENANT'),
  defaultCountry: z.string().describe('ISO 3166 alpha-2: where a contact\'s number written without + is read (create, rectification, CSV import)'),
  createdAt: z.string(),
}).meta({ id: 'Tenant' });

const view = (t: TenantSettings) => ({
  id: t.id, name: t.name, plan: t.plan, retentionDays: t.retentionDays, maxRetentionDays: t.maxRetentionDays,
  maxConcurrentCalls: t.maxConcurrentCalls, defaultCountry: t.defaultCountry, createdAt: t.createdAt.toISOString(),
});

const clock = z.string().regex(/^\d{2}:\d{2}$/);
const policySchema = z.object({
  timezone: z.string().describe('IANA time zone the window is read in'),
  start: z.string().describe('HH:MM, inclusive'),
  end: z.string().describe('HH:MM (or 24:00), exclusive'),
  days: z.array(z.enum(WEEKDAYS)),
  requireConsent: z.boolean(),
}).meta({ id: 'CallingPolicy' });

const policyView = (p: Awaited<ReturnType<typeof getCallingPolicy>>) => ({ timezone: p.timezone, start: p.windowStart, end: p.windowEnd, days: p.days, requireConsent: p.requireConsent });

export const tenantRoutes = [
  defineRoute({
    method: 'GET', url: '/tenant', tag: 'tenant', summary: 'The caller\'s tenant', permission: 'tenant:read',
    response: tenantSchema,
    handler: async ({ ctx }) => view(await served(() => getTenantSettings(ctx.db, ctx.tenantId))),
  }),
  defineRoute({
    method: 'PATCH', url: '/tenant', tag: 'tenant',
    summary: 'Rename the tenant, change its recording retention (at most the plan\'s maximum) or the default country of contacts\' numbers written without +',
    permission: 'tenant:write',
    body: z.strictObject({
      name: z.string().min(1).max(200).optional(), retentionDays: z.number().int().min(1).max(365).optional(),
      defaultCountry: z.string().regex(/^[A-Za-z]{2}$/).optional().describe('ISO 3166 alpha-2 (e.g. GB); checked against libphonenumber-js\'s countries'),
    }),
    response: tenantSchema,
    handler: async ({ ctx, body }) => {
      nonEmpty(body);
      return view(await served(() => updateTenantSettings(ctx.db, ctx.tenantId, body, who(ctx))));
    },
  }),
  defineRoute({
    method: 'PUT', url: '/tenant/plan', tag: 'tenant', summary: 'Change the plan (billing); retention follows the plan\'s maximum',
    permission: 'billing:manage',
    body: z.strictObject({ plan: z.enum(PLANS as [string, ...string[]]) }),
    response: tenantSchema,
    handler: async ({ ctx, body }) => view(await served(() => changePlan(ctx.db, ctx.tenantId, body.plan as (typeof PLANS)[number], who(ctx)))),
  }),
  defineRoute({
    method: 'GET', url: '/tenant/calling-policy', tag: 'tenant', summary: 'The outbound calling policy (TCPA hours, days, consent)',
    permission: 'tenant:read',
    response: policySchema,
    handler: async ({ ctx }) => policyView(await served(() => getCallingPolicy(ctx.db, ctx.tenantId))),
  }),
  defineRoute({
    method: 'PATCH', url: '/tenant/calling-policy', tag: 'tenant', summary: 'Change the outbound calling policy',
    permission: 'tenant:write',
    body: z.strictObject({
      timezone: z.string().min(1).max(64).optional(),
      start: clock.optional(),
      end: clock.optional(),
      days: z.array(z.enum(WEEKDAYS)).min(1).max(7).optional(),
      requireConsent: z.boolean().optional(),
    }),
    response: policySchema,
    handler: async ({ ctx, body }) => {
      nonEmpty(body);
      const policy = await served(() => setCallingPolicy(ctx.db, ctx.tenantId, {
        timezone: body.timezone, windowStart: body.start, windowEnd: body.end, days: body.days, requireConsent: body.requireConsent,
      }, { actor: ctx.actor, sourceIp: ctx.sourceIp }));
      return policyView(policy);
    },
  }),
];
