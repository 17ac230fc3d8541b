/**
 * /v1/campaigns: create an outbound campaign (an agent, contacts by id and/or
 * by filter, a window, pacing and retries), list them, read one with its
 * progress (counts per state and outcome), start / pause / resume / cancel it
 * (audited state changes, refused with 409 from a state that does not allow
 * them) and page through each contact's outcome. The runner
 * (src/campaigns/campaign-runner.ts) does the dialling; these routes only
 * change what it reads. Contacts appear by id, never by number: a viewer may
 * read progress without reading contacts.
 */
import { z } from 'zod';
import {
  CampaignStateError, listCampaignContactsPage, listCampaignsPage, type CampaignContactRow, type CampaignProgress, type CampaignRow,
} from '../../../storage/index.ts';
import {
  CampaignInputError, cancelCampaign, createCampaign, getCampaignProgress, pauseCampaign, resumeCampaign, startCampaign,
} from '../../campaigns/index.ts';
import type { ApiContext } from '../context.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { badRequest, conflict, notFound } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, instant, iso, served } from './resource-support.ts';

const STATES = ['draft', 'running', 'paused', 'cancelled', 'completed'] as const;
const OUTCOMES = ['answered', 'busy', 'no-answer', 'failed', 'refused', 'cancelled'] as const;
const CONTACT_STATES = ['pending', 'dialing', 'done'] as const;
const MAX_CONTACT_IDS = 10_000;

const campaignSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  agentId: z.uuid(),
  callerId: z.string().nullable(),
  state: z.enum(STATES),
  startsAt: z.string().nullable(),
  endsAt: z.string().nullable(),
  maxConcurrent: z.number().int(),
  callsPerSecond: z.number(),
  maxAttempts: z.number().int(),
  retrySpacingSeconds: z.number().int(),
  createdAt: z.string(),
  completedAt: z.string().nullable(),
}).meta({ id: 'Campaign' });

const counts = <K extends string>(keys: readonly K[]) => z.object(Object.fromEntries(keys.map((k) => [k, z.number().int()])) as Record<K, z.ZodNumber>);

const progressSchema = campaignSchema.extend({
  progress: z.object({
    total: z.number().int(),
    byState: counts(CONTACT_STATES).describe('pending: to dial (maybe again, or waiting for calling hours); dialing: a call in progress; done: has its final outcome'),
    byOutcome: counts(OUTCOMES).describe('Final outcomes of the contacts that are done'),
  }),
}).meta({ id: 'CampaignWithProgress' });

const contactOutcomeSchema = z.object({
  contactId: z.uuid(),
  state: z.enum(CONTACT_STATES),
  outcome: z.enum(OUTCOMES).nullable().describe('The last attempt\'s outcome (final once state is done)'),
  detail: z.string().nullable().describe('Why: a refusal reason (do-not-call, no-consent, caller-id-not-owned, invalid-number), outside-calling-hours while waiting for the window, sip-486...'),
  attempts: z.number().int(),
  nextAttemptAt: z.string().nullable().describe('When a pending contact is due (a retry, or its calling hours opening)'),
  callId: z.uuid().nullable(),
  completedAt: z.string().nullable(),
}).meta({ id: 'CampaignContactOutcome' });

const view = (c: CampaignRow) => ({
  id: c.id, name: c.name, agentId: c.agentId, callerId: c.callerId, state: c.state as (typeof STATES)[number],
  startsAt: iso(c.startsAt), endsAt: iso(c.endsAt), maxConcurrent: c.maxConcurrent, callsPerSecond: c.callsPerSecond,
  maxAttempts: c.maxAttempts, retrySpacingSeconds: c.retrySpacingSeconds, createdAt: c.createdAt.toISOString(), completedAt: iso(c.completedAt),
});

const filled = <K extends string>(keys: readonly K[], from: Record<string, number>) => Object.fromEntries(keys.map((k) => [k, from[k] ?? 0])) as Record<K, number>;

const progressView = (p: CampaignProgress) => ({
  ...view(p.campaign),
  progress: { total: p.total, byState: filled(CONTACT_STATES, p.byState), byOutcome: filled(OUTCOMES, p.byOutcome) },
});

const contactView = (r: CampaignContactRow) => ({
  contactId: r.contactId, state: r.state as (typeof CONTACT_STATES)[number], outcome: r.outcome as (typeof OUTCOMES)[number] | null, detail: r.detail,
  attempts: r.attempts, nextAttemptAt: iso(r.nextAttemptAt), callId: r.callId, completedAt: iso(r.completedAt),
});

/** The campaign services' refusals as problem documents. */
async function campaignServed<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await served(work);
  } catch (error) {
    if (error instanceof CampaignInputError) throw badRequest(error.message, [{ path: error.field ? `body.${error.field}` : 'body', message: error.message }]);
    if (error instanceof CampaignStateError) {
      if (error.kind === 'not-found') throw notFound();
      if (error.kind === 'invalid') throw badRequest(error.message, [{ path: 'body.contactIds', message: error.message }]);
      throw conflict(error.message);
    }
    throw error;
  }
}

const params = idParam('campaignId');

const createBody = z.strictObject({
  name: z.string().min(1).max(200),
  agentId: z.uuid(),
  contactIds: z.array(z.uuid()).max(MAX_CONTACT_IDS).optional().describe('The contacts to call'),
  contactFilter: z.strictObject({
    phonePrefix: z.string().regex(/^\+?\d{1,15}$/).optional().describe('Numbers starting with this, as stored (normalised, e.g. +1555)'),
    timeZone: z.string().min(1).max(64).optional().describe('Contacts with this own IANA time zone'),
    createdFrom: instant.optional().describe('Contacts created at or after (ISO 8601)'),
    createdTo: instant.optional().describe('Contacts created before (ISO 8601)'),
  }).optional().describe('And/or every contact matching all of these, taken when the campaign is created ({} takes every contact)'),
  callerId: z.string().min(1).max(64).nullable().optional().describe('The number to present: one of the tenant\'s (default: its first)'),
  startsAt: instant.nullable().optional().describe('No call before (ISO 8601)'),
  endsAt: instant.nullable().optional().describe('No call from then on; contacts not yet done are cancelled (window-ended)'),
  maxConcurrent: z.number().int().min(1).max(1000).optional().describe('Calls in flight at once (default 1)'),
  callsPerSecond: z.number().gt(0).max(100).optional().describe('Call starts per second, never bunched (default 1)'),
  maxAttempts: z.number().int().min(1).max(10).optional().describe('Attempts per contact for busy / no answer (default 3)'),
  retrySpacingSeconds: z.number().int().min(0).max(30 * 86_400).optional().describe('Between attempts (default 3600)'),
});

const date = (value: string | null | undefined): Date | null | undefined => (value === undefined || value === null ? value : new Date(value));

const action = (name: 'start' | 'pause' | 'resume' | 'cancel', summary: string, change: typeof startCampaign) => defineRoute({
  method: 'POST', url: `/campaigns/:campaignId/${name}`, tag: 'campaigns', summary, permission: 'campaigns:write',
  params, body: z.strictObject({}).optional(), response: campaignSchema,
  handler: async ({ ctx, params: p }) => view(await campaignServed(() => change(ctx.db, ctx.tenantId, p.campaignId, ctx.actor, ctx.sourceIp))),
});

const progressOf = async (ctx: ApiContext, id: string) => {
  const progress = await getCampaignProgress(ctx.db, ctx.tenantId, id);
  if (!progress) throw notFound();
  return progressView(progress);
};

export const campaignRoutes = [
  defineRoute({
    method: 'POST', url: '/campaigns', tag: 'campaigns', summary: 'Create a campaign (draft): an agent, contacts by id and/or filter, window, pacing, retries',
    permission: 'campaigns:write', status: 201, bodyLimit: 512 * 1024,
    body: createBody, response: progressSchema,
    handler: async ({ ctx, body }) => {
      const created = await campaignServed(() => createCampaign(ctx.db, ctx.tenantId, {
        name: body.name, agentId: body.agentId, contactIds: body.contactIds ?? [],
        ...(body.contactFilter ? { contactFilter: { ...body.contactFilter, createdFrom: date(body.contactFilter.createdFrom) ?? undefined, createdTo: date(body.contactFilter.createdTo) ?? undefined } } : {}),
        ...(body.callerId !== undefined ? { callerId: body.callerId } : {}),
        ...(body.startsAt !== undefined ? { startsAt: date(body.startsAt) } : {}),
        ...(body.endsAt !== undefined ? { endsAt: date(body.endsAt) } : {}),
        ...(body.maxConcurrent !== undefined ? { maxConcurrent: body.maxConcurrent } : {}),
        ...(body.callsPerSecond !== undefined ? { callsPerSecond: body.callsPerSecond } : {}),
        ...(body.maxAttempts !== undefined ? { maxAttempts: body.maxAttempts } : {}),
        ...(body.retrySpacingSeconds !== undefined ? { retrySpacingSeconds: body.retrySpacingSeconds } : {}),
      }, ctx.actor, ctx.sourceIp));
      return progressOf(ctx, created.id);
    },
  }),
  defineRoute({
    method: 'GET', url: '/campaigns', tag: 'campaigns', summary: 'List campaigns (newest first)', permission: 'campaigns:read',
    query: pageQuery.extend({ state: z.enum(STATES).optional().describe('Only campaigns in this state') }),
    response: pageSchema(campaignSchema),
    handler: async ({ ctx, query }) => apiPage(await served(() => listCampaignsPage(ctx.db, ctx.tenantId, { state: query.state }, query)), view),
  }),
  defineRoute({
    method: 'GET', url: '/campaigns/:campaignId', tag: 'campaigns', summary: 'One campaign with its progress (contacts per state and outcome)', permission: 'campaigns:read',
    params, response: progressSchema,
    handler: async ({ ctx, params: p }) => progressOf(ctx, p.campaignId),
  }),
  action('start', 'Start a draft campaign', startCampaign),
  action('pause', 'Pause a running campaign (calls in flight finish)', pauseCampaign),
  action('resume', 'Resume a paused campaign', resumeCampaign),
  action('cancel', 'Cancel a campaign: contacts not yet dialled are settled as cancelled', cancelCampaign),
  defineRoute({
    method: 'GET', url: '/campaigns/:campaignId/contacts', tag: 'campaigns', summary: 'Each contact\'s progress and outcome (in the order added)', permission: 'campaigns:read',
    params,
    query: pageQuery.extend({
      outcome: z.enum(OUTCOMES).optional().describe('Only contacts whose last outcome is this'),
      state: z.enum(CONTACT_STATES).optional().describe('Only contacts in this state'),
    }),
    response: pageSchema(contactOutcomeSchema),
    handler: async ({ ctx, params: p, query }) => {
      const page = await served(() => listCampaignContactsPage(ctx.db, ctx.tenantId, p.campaignId, { outcome: query.outcome, state: query.state }, query));
      if (!page) throw notFound();
      return apiPage(page, contactView);
    },
  }),
];


