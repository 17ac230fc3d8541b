/**
 * /v1/webhooks: the tenant's endpoints (create with the "whsec_" secret shown
 * once, read, change, delete, rotate the secret with an overlap during which
 * deliveries are signed with both), the delivery log (filtered, paginated)
 * and the replay of one delivery (same event, same webhook-id). The engine is
 * src/webhooks/endpoints.ts; every change is audited there with the actor and
 * source address, never with a secret. An endpoint's URL is checked when it
 * is saved (its host name resolved, every address through
 * src/webhooks/address-policy.ts) and again at every send.
 */
import { z } from 'zod';
import {
  getWebhookDelivery, getWebhookEndpoint, endpointInfo, listWebhookAttempts, listWebhookDeliveriesPage, listWebhookEndpointsPage, WEBHOOK_DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES,
  type WebhookDeliveryRow, type WebhookEndpointInfo,
} from '../../../storage/index.ts';
import {
  changeWebhookEndpoint, createWebhookEndpoint, DEFAULT_ROTATION_OVERLAP_MS, refusedEndpointAddress, removeWebhookEndpoint, replayWebhookDelivery,
  rotateWebhookSecret, WebhookEndpointError, type SecretKeys,
} from '../../webhooks/index.ts';
import type { ApiContext } from '../context.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { ApiProblem, badRequest, notFound } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { apiPage, iso, served } from './resource-support.ts';

const eventType = z.enum(WEBHOOK_EVENT_TYPES);
const MAX_OVERLAP_S = 7 * 24 * 3600;

const endpointSchema = z.object({
  id: z.uuid(),
  url: z.string(),
  description: z.string().nullable(),
  eventTypes: z.array(z.string()),
  enabled: z.boolean(),
  disabledReason: z.string().nullable().describe('Why the server disabled it (sustained failure), if it did'),
  consecutiveFailures: z.number().int(),
  previousSecretValidUntil: z.string().nullable().describe('After a rotation: until when the previous secret still signs'),
  createdAt: z.string(),
}).meta({ id: 'WebhookEndpoint' });

const view = (e: WebhookEndpointInfo) => ({
  id: e.id, url: e.url, description: e.description, eventTypes: e.eventTypes, enabled: e.enabled, disabledReason: e.disabledReason,
  consecutiveFailures: e.consecutiveFailures, previousSecretValidUntil: iso(e.previousSecretUntil), createdAt: e.createdAt.toISOString(),
});

const deliverySchema = z.object({
  id: z.number().int(),
  eventId: z.string().describe('The webhook-id header: the same on every attempt and replay'),
  eventType: z.string(),
  endpointId: z.uuid(),
  status: z.enum(WEBHOOK_DELIVERY_STATUSES),
  attempts: z.number().int(),
  nextAttemptAt: z.string(),
  lastStatusCode: z.number().int().nullable(),
  lastError: z.string().nullable(),
  deliveredAt: z.string().nullable(),
  createdAt: z.string(),
}).meta({ id: 'WebhookDelivery' });

const deliveryView = (d: WebhookDeliveryRow & { type: string }) => ({
  id: d.id, eventId: d.eventId, eventType: d.type, endpointId: d.endpointId, status: d.status as (typeof WEBHOOK_DELIVERY_STATUSES)[number],
  attempts: d.attempts, nextAttemptAt: d.nextAttemptAt.toISOString(), lastStatusCode: d.lastStatusCode, lastError: d.lastError,
  deliveredAt: iso(d.deliveredAt), createdAt: d.createdAt.toISOString(),
});

const endpointParams = z.strictObject({ endpointId: z.uuid() });
const deliveryParams = z.strictObject({ deliveryId: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER) });

const attemptSchema = z.object({
  attempt: z.number().int(), at: z.string(), statusCode: z.number().int().nullable(), error: z.string().nullable(), durationMs: z.number().int(),
}).meta({ id: 'WebhookAttempt' });
const url = z.string().min(1).max(2000).describe('http(s) URL; must not resolve to a loopback, private, link-local or metadata address');

function secretKeys(ctx: ApiContext): SecretKeys {
  const keys = ctx.deps.services.keyRing;
  if (!keys) throw new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: 'Tenant keys are not configured on this server.' });
  return keys;
}

/** The engine's refusals (bad URL, unknown event type) as 400s naming the field. */
async function checked<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await served(work);
  } catch (error) {
    if (error instanceof WebhookEndpointError) throw badRequest(error.message, [{ path: /event type/.test(error.message) ? 'body.eventTypes' : 'body.url', message: error.message }]);
    throw error;
  }
}

async function checkAddress(ctx: ApiContext, value: string): Promise<void> {
  const refused = await refusedEndpointAddress(value, { allowLoopback: ctx.deps.settings.webhookAllowLoopback });
  if (refused) throw badRequest(`The endpoint URL is refused: ${refused}.`, [{ path: 'body.url', message: refused }]);
}

const by = (ctx: ApiContext) => ({ actor: ctx.actor, sourceIp: ctx.sourceIp });

export const webhookRoutes = [
  defineRoute({
    method: 'GET', url: '/webhooks/endpoints', tag: 'webhooks', summary: 'List webhook endpoints (never their secrets)', permission: 'webhooks:read',
    query: pageQuery,
    response: pageSchema(endpointSchema),
    handler: async ({ ctx, query }) => apiPage(await served(() => listWebhookEndpointsPage(ctx.db, ctx.tenantId, query)), view),
  }),
  defineRoute({
    method: 'POST', url: '/webhooks/endpoints', tag: 'webhooks', summary: 'Create a webhook endpoint (its signing secret is shown once)',
    permission: 'webhooks:manage', status: 201,
    body: z.strictObject({
      url,
      eventTypes: z.array(eventType).min(1).max(WEBHOOK_EVENT_TYPES.length * 2).describe('Event types from the catalogue (the webhooks section of this document)'),
      description: z.string().trim().max(200).nullable().optional(),
      enabled: z.boolean().optional().describe('Default true'),
    }),
    response: endpointSchema.extend({ secret: z.string().describe('whsec_...: verify signatures with it (Standard Webhooks). Shown once; store it now') }),
    handler: async ({ ctx, body }) => {
      await checkAddress(ctx, body.url);
      const created = await checked(() => createWebhookEndpoint(ctx.db, secretKeys(ctx), ctx.tenantId, {
        url: body.url, eventTypes: body.eventTypes, description: body.description ?? null, ...by(ctx),
      }));
      let endpoint = created.endpoint;
      if (body.enabled === false) endpoint = (await changeWebhookEndpoint(ctx.db, ctx.tenantId, endpoint.id, { enabled: false }, by(ctx))) ?? endpoint;
      return { ...view(endpoint), secret: created.secret };
    },
  }),
  defineRoute({
    method: 'GET', url: '/webhooks/endpoints/:endpointId', tag: 'webhooks', summary: 'One webhook endpoint', permission: 'webhooks:read',
    params: endpointParams, response: endpointSchema,
    handler: async ({ ctx, params }) => {
      const row = await getWebhookEndpoint(ctx.db, ctx.tenantId, params.endpointId);
      if (!row) throw notFound();
      return view(endpointInfo(row));
    },
  }),
  defineRoute({
    method: 'PATCH', url: '/webhooks/endpoints/:endpointId', tag: 'webhooks', summary: 'Change an endpoint (URL, event types, description, enabled)',
    permission: 'webhooks:manage',
    params: endpointParams,
    body: z.strictObject({
      url: url.optional(),
      eventTypes: z.array(eventType).min(1).max(WEBHOOK_EVENT_TYPES.length * 2).optional(),
      description: z.string().trim().max(200).nullable().optional(),
      enabled: z.boolean().optional().describe('true re-enables an endpoint the server disabled after sustained failure'),
    }),
    response: endpointSchema,
    handler: async ({ ctx, params, body }) => {
      if (Object.values(body).every((v) => v === undefined)) throw badRequest('Give at least one field to change.', [{ path: 'body', message: 'empty' }]);
      if (!(await getWebhookEndpoint(ctx.db, ctx.tenantId, params.endpointId))) throw notFound();
      if (body.url !== undefined) await checkAddress(ctx, body.url);
      const changed = await checked(() => changeWebhookEndpoint(ctx.db, ctx.tenantId, params.endpointId, body, by(ctx)));
      if (!changed) throw notFound();
      return view(changed);
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/webhooks/endpoints/:endpointId', tag: 'webhooks', summary: 'Delete an endpoint and its delivery log', permission: 'webhooks:manage',
    status: 204, params: endpointParams, response: z.null(),
    handler: async ({ ctx, params }) => {
      if (!(await removeWebhookEndpoint(ctx.db, ctx.tenantId, params.endpointId, by(ctx)))) throw notFound();
      return null;
    },
  }),
  defineRoute({
    method: 'POST', url: '/webhooks/endpoints/:endpointId/rotate-secret', tag: 'webhooks',
    summary: 'Rotate the signing secret (shown once); the previous one keeps signing alongside it for the overlap',
    permission: 'webhooks:manage', status: 201,
    params: endpointParams,
    body: z.strictObject({
      overlapSeconds: z.number().int().min(0).max(MAX_OVERLAP_S).optional().describe(`How long deliveries are signed with both secrets (default ${DEFAULT_ROTATION_OVERLAP_MS / 3600_000} h)`),
    }),
    response: z.object({ secret: z.string().describe('The new whsec_ secret, shown once'), previousValidUntil: z.string() }),
    handler: async ({ ctx, params, body }) => {
      const rotated = await rotateWebhookSecret(ctx.db, secretKeys(ctx), ctx.tenantId, params.endpointId, {
        ...by(ctx), now: ctx.now(), ...(body.overlapSeconds !== undefined ? { overlapMs: body.overlapSeconds * 1000 } : {}),
      });
      if (!rotated) throw notFound();
      return { secret: rotated.secret, previousValidUntil: rotated.previousValidUntil.toISOString() };
    },
  }),
  defineRoute({
    method: 'GET', url: '/webhooks/deliveries', tag: 'webhooks', summary: 'The delivery log (newest first), filtered by endpoint, event type and status',
    permission: 'webhooks:read',
    query: pageQuery.extend({ endpointId: z.uuid().optional(), eventType: eventType.optional(), status: z.enum(WEBHOOK_DELIVERY_STATUSES).optional() }),
    response: pageSchema(deliverySchema),
    handler: async ({ ctx, query }) => apiPage(await served(() => listWebhookDeliveriesPage(ctx.db, ctx.tenantId, query, query)), deliveryView),
  }),
  defineRoute({
    method: 'GET', url: '/webhooks/deliveries/:deliveryId/attempts', tag: 'webhooks', summary: 'Every attempt of one delivery (status or error, duration; never the payload)',
    permission: 'webhooks:read',
    params: deliveryParams,
    response: z.object({ items: z.array(attemptSchema) }),
    handler: async ({ ctx, params }) => {
      if (!(await getWebhookDelivery(ctx.db, ctx.tenantId, params.deliveryId))) throw notFound();
      const attempts = await listWebhookAttempts(ctx.db, ctx.tenantId, params.deliveryId);
      return { items: attempts.map((a) => ({ attempt: a.attempt, at: a.at.toISOString(), statusCode: a.statusCode, error: a.error, durationMs: a.durationMs })) };
    },
  }),
  defineRoute({
    method: 'POST', url: '/webhooks/deliveries/:deliveryId/replay', tag: 'webhooks',
    summary: 'Send one delivery again (same event and webhook-id), as soon as the delivery worker runs', permission: 'webhooks:manage', status: 202,
    params: deliveryParams,
    body: z.strictObject({}).optional(),
    response: z.object({ deliveryId: z.number().int(), status: z.literal('pending') }),
    handler: async ({ ctx, params }) => {
      if (!(await replayWebhookDelivery(ctx.db, ctx.tenantId, params.deliveryId, by(ctx), ctx.now()))) throw notFound();
      return { deliveryId: params.deliveryId, status: 'pending' as const };
    },
  }),
];
