/**
 * Web-widget keys: a tenant's public, per-agent key that a customer's web page
 * embeds to start browser calls with the agent (src/webrtc).
 *
 * Managing them (agents:read / agents:write, audited):
 *   POST   /agents/:agentId/widget-keys           {allowedOrigins, name?}
 *   GET    /agents/:agentId/widget-keys
 *   DELETE /agents/:agentId/widget-keys/:keyId    (revokes; the row stays listed)
 *
 * Using one (public: the page has no credential, the key is not a secret):
 *   POST    /widget-keys/:key/call-tokens   -> a call token for the key's agent, valid 60 s, bound to the
 *                                              page's origin (the signalling socket checks it)
 *   OPTIONS /widget-keys/:key/call-tokens   the CORS preflight
 * The key rides in the path so the preflight can check the same allowlist as the request. What protects a
 * key: its exact origin allowlist (a wrong or missing Origin is a 403, readable by the asking page so the widget
 * can say why, but a token goes to allowed origins only; a preflight succeeds for allowed origins only), a per-source limit counted before the key is looked up and a per-key limit (both fixed windows in
 * Postgres, so the cluster shares them; 429 with Retry-After), the tenant's concurrent call limit when the
 * call starts, and revocation. An unknown and a revoked key get the same 404.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { createWidgetKey, findWidgetKey, getAgentById, listWidgetKeysPage, rateLimitHit, revokeWidgetKey, type WidgetKeyRow } from '../../../storage/index.ts';
import { getAgent } from '../../resources/agents.ts';
import { mintCallToken } from '../../webrtc/call-token.ts';
import { widgetOriginDefect, widgetOrigins } from '../../webrtc/widget-origins.ts';
import type { RequestFacts } from '../context.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { ApiProblem, badRequest, forbidden, notFound, tooManyRequests } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, iso, served } from './resource-support.ts';

/** A widget call token starts a call within this long (the page asks for it right before it calls). */
export const WIDGET_CALL_TOKEN_TTL_MS = 60_000;
const WINDOW_MS = 60_000;
/** src/webrtc/signalling.ts WEBRTC_SIGNALLING_PATH (not imported: the API does not load the media engine). */
const SIGNALLING_PATH = '/v1/webrtc';

const widgetKey = z.object({
  id: z.uuid(),
  key: z.string().describe('Public: embed it in the page (saw_...)'),
  agentId: z.uuid(),
  name: z.string().nullable(),
  allowedOrigins: z.array(z.string()),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
}).meta({ id: 'WidgetKey' });

function view(row: WidgetKeyRow) {
  return { id: row.id, key: row.key, agentId: row.agentId, name: row.name, allowedOrigins: row.allowedOrigins, createdAt: row.createdAt.toISOString(), revokedAt: iso(row.revokedAt) };
}

const keyParams = z.strictObject({ key: z.string().min(1).max(64) });

/** One request from this source on the widget routes; a 429 beyond the per-source limit. */
async function countSource(facts: RequestFacts): Promise<void> {
  const hit = await rateLimitHit(facts.db, `widget-source:${facts.sourceIp}`, WINDOW_MS);
  if (hit.hits > facts.deps.settings.widgetRequestsPerSourcePerMinute) throw tooManyRequests(hit.ttlMs / 1000);
}

/** The live key and the request's Origin, which the key allows; 404 for an unknown or revoked key, 403 for another origin. */
async function allowedUse(facts: RequestFacts, request: FastifyRequest, reply: FastifyReply, presented: string) {
  reply.header('vary', 'Origin');
  const key = await findWidgetKey(facts.db, presented);
  if (!key) throw notFound('No such widget key.');
  const origin = request.headers.origin;
  if (typeof origin !== 'string' || !key.allowedOrigins.includes(origin)) throw forbidden('This page\'s origin is not allowed for this widget key.', 'origin_not_allowed');
  reply.header('access-control-allow-origin', origin);
  return { key, origin };
}

/**
 * Every answer to a token request is readable by the page that asked, refusals included: the widget
 * (src/http/widget) can then tell "this site is not allowed" (403) and "busy" (429, Retry-After) from a network
 * failure. A refusal holds nothing secret (the key is public, and any non-browser client reads it anyway), no
 * credential is ever allowed (no Allow-Credentials), and only a page on an allowed origin is ever answered
 * with a token. The preflight still allows the key's origins only; the widget's request needs none.
 */
function readableByAskingPage(request: FastifyRequest, reply: FastifyReply): void {
  reply.header('vary', 'Origin');
  const origin = request.headers.origin;
  if (typeof origin === 'string') reply.header('access-control-allow-origin', origin).header('access-control-expose-headers', 'Retry-After');
}

export const widgetKeyRoutes = [
  defineRoute({
    method: 'POST', url: '/agents/:agentId/widget-keys', tag: 'agents', summary: 'Create a web-widget key for an agent, with the origins allowed to use it', permission: 'agents:write', status: 201,
    params: idParam('agentId'),
    body: z.strictObject({
      allowedOrigins: widgetOrigins.describe('Exact origins the page is served from: https://host[:port] (http://localhost only where the server allows it)'),
      name: z.string().min(1).max(100).optional(),
    }),
    response: widgetKey,
    handler: async ({ ctx, params, body }) => {
      const errors = body.allowedOrigins.flatMap((origin, i) => {
        const defect = widgetOriginDefect(origin, ctx.deps.settings.widgetAllowLocalhost);
        return defect ? [{ path: `body.allowedOrigins.${i}`, message: defect }] : [];
      });
      if (errors.length > 0) throw badRequest('An allowed origin is not accepted.', errors);
      const agent = await served(() => getAgent(ctx.db, ctx.tenantId, params.agentId));
      const row = await createWidgetKey(ctx.db, ctx.tenantId, { agentId: agent.id, allowedOrigins: body.allowedOrigins, name: body.name, createdBy: ctx.actor });
      await ctx.audit({ action: 'widget-key.created', target: row.id, detail: { agentId: agent.id, allowedOrigins: row.allowedOrigins } });
      return view(row);
    },
  }),
  defineRoute({
    method: 'GET', url: '/agents/:agentId/widget-keys', tag: 'agents', summary: 'List an agent\'s web-widget keys (revoked ones too), oldest first', permission: 'agents:read',
    params: idParam('agentId'), query: pageQuery, response: pageSchema(widgetKey),
    handler: async ({ ctx, params, query }) => {
      await served(() => getAgent(ctx.db, ctx.tenantId, params.agentId));
      return apiPage(await served(() => listWidgetKeysPage(ctx.db, ctx.tenantId, params.agentId, query)), view);
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/agents/:agentId/widget-keys/:keyId', tag: 'agents', summary: 'Revoke a web-widget key (it mints no more call tokens)', permission: 'agents:write', status: 204,
    params: z.strictObject({ agentId: z.uuid(), keyId: z.uuid() }), response: z.null(),
    handler: async ({ ctx, params }) => {
      if (!(await revokeWidgetKey(ctx.db, ctx.tenantId, params.agentId, params.keyId, ctx.now()))) throw notFound();
      await ctx.audit({ action: 'widget-key.revoked', target: params.keyId, detail: { agentId: params.agentId } });
      return null;
    },
  }),
  defineRoute({
    method: 'POST', url: '/widget-keys/:key/call-tokens', tag: 'widget', summary: 'Mint a call token for a web-widget key\'s agent, from a page on an allowed origin', permission: 'public', status: 201,
    params: keyParams, body: z.strictObject({}).optional(),
    response: z.object({
      token: z.string().describe('Send it in the first message of the signalling socket, from the same origin; it starts one call'),
      expiresAt: z.string(),
      agentId: z.uuid(),
      signallingPath: z.string(),
    }).meta({ id: 'WidgetCallToken' }),
    handler: async ({ facts, params, request, reply }) => {
      readableByAskingPage(request, reply);
      await countSource(facts);
      const { key, origin } = await allowedUse(facts, request, reply, params.key);
      const perKey = await rateLimitHit(facts.db, `widget-key:${key.keyId}`, WINDOW_MS);
      if (perKey.hits > facts.deps.settings.widgetTokensPerKeyPerMinute) throw tooManyRequests(perKey.ttlMs / 1000);
      // The agent is read in the key's own tenant: a key can only ever name its tenant's agent.
      if (!(await getAgentById(facts.db, key.tenantId, key.agentId))) throw notFound('No such widget key.');
      const secret = facts.deps.services.callTokenSecret;
      if (!secret) throw new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: 'WebRTC calls are not configured on this server.' });
      const { token, expiresAtMs } = mintCallToken(secret, { tenantId: key.tenantId, agentId: key.agentId, origin }, facts.now().getTime(), WIDGET_CALL_TOKEN_TTL_MS);
      return { token, expiresAt: new Date(expiresAtMs).toISOString(), agentId: key.agentId, signallingPath: SIGNALLING_PATH };
    },
  }),
  defineRoute({
    method: 'OPTIONS', url: '/widget-keys/:key/call-tokens', tag: 'widget', summary: 'CORS preflight: allowed only for the key\'s origins', permission: 'public', status: 204,
    params: keyParams, response: z.null(),
    handler: async ({ facts, params, request, reply }) => {
      reply.header('allow', 'POST, OPTIONS');
      // Not a CORS preflight (no Origin or no requested method): nothing to allow.
      if (request.headers.origin === undefined || request.headers['access-control-request-method'] === undefined) return null;
      await countSource(facts);
      await allowedUse(facts, request, reply, params.key);
      reply.header('access-control-allow-methods', 'POST');
      reply.header('access-control-allow-headers', 'content-type');
      reply.header('access-control-max-age', '600');
      return null;
    },
  }),
];
