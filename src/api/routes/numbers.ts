/**
 * /v1/numbers: called numbers, the agent each routes to, the carrier ACL
 * (CIDRs read by media/sip/cidr.ts) and SIP digest credentials. A digest
 * password goes in and only its HA1 hashes are stored; no response ever
 * carries the password or a hash. /v1/numbers/:numberId/carrier answers a
 * number through a carrier's media streams (src/resources/number-carriers.ts):
 * its credential is sealed, never returned.
 */
import { z } from 'zod';
import { listNumbersPage, STREAM_CARRIERS, type NumberRow } from '../../../storage/index.ts';
import { carrierWebhookPath, MAX_CARRIER_CREDENTIAL, removeCarrier, setCarrier } from '../../resources/number-carriers.ts';
import { checkDigestAlgorithms, createNumber, deleteNumber, digestCredentials, getNumber, updateNumber } from '../../resources/numbers.ts';
import { ApiProblem } from '../problem.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, nonEmpty, served, who } from './resource-support.ts';

const algorithms = z.array(z.enum(['MD5', 'SHA-256'])).min(1).max(2)
  .describe('Digest algorithms offered, in challenge order, and the only ones accepted; omitted or null: the server default');
const digestBody = z.strictObject({
  username: z.string().min(1).max(64),
  realm: z.string().min(1).max(64).optional().describe('Default "smartalex"'),
  password: z.string().min(8).max(256).describe('Stored only as HA1 hashes (MD5 and SHA-256); never returned'),
});
const cidrs = z.array(z.string().min(1).max(64)).max(100).describe('Carrier source addresses or CIDRs allowed to call without digest auth');

const numberSchema = z.object({
  id: z.uuid(),
  number: z.string(),
  agentId: z.uuid(),
  allowedCidrs: z.array(z.string()),
  digest: z.object({ username: z.string(), realm: z.string(), algorithms: z.array(z.string()).nullable() }).nullable(),
  requireSrtp: z.boolean().describe('Calls must use SRTP over SIP TLS (488 otherwise)'),
  createdAt: z.string(),
}).meta({ id: 'Number' });

function view(row: NumberRow) {
  return {
    id: row.id, number: row.number, agentId: row.agentId, allowedCidrs: row.allowedCidrs,
    digest: row.digestUsername && row.digestRealm ? { username: row.digestUsername, realm: row.digestRealm, algorithms: row.digestAlgorithms } : null,
    requireSrtp: row.requireSrtp,
    createdAt: row.createdAt.toISOString(),
  };
}

const params = idParam('numberId');

export const numberRoutes = [
  defineRoute({
    method: 'GET', url: '/numbers', tag: 'numbers', summary: 'List numbers (in number order)', permission: 'numbers:read',
    query: pageQuery.extend({ agentId: z.uuid().optional() }),
    response: pageSchema(numberSchema),
    handler: async ({ ctx, query }) => apiPage(await served(() => listNumbersPage(ctx.db, ctx.tenantId, { agentId: query.agentId }, query)), view),
  }),
  defineRoute({
    method: 'POST', url: '/numbers', tag: 'numbers', summary: 'Route a called number to an agent', permission: 'numbers:write', status: 201,
    body: z.strictObject({
      number: z.string().min(1).max(64),
      agentId: z.uuid(),
      allowedCidrs: cidrs.default([]),
      allowAnySource: z.boolean().optional().describe('Confirms a 0.0.0.0/0 or ::/0 entry'),
      digest: digestBody.optional(),
      digestAlgorithms: algorithms.optional(),
      requireSrtp: z.boolean().optional().describe('Calls must use SRTP (RTP/SAVP, SDES keys) over SIP TLS; any other offer gets 488'),
    }),
    response: numberSchema,
    handler: async ({ ctx, body }) => view(await served(() => createNumber(ctx.db, ctx.tenantId, {
      number: body.number, agentId: body.agentId, allowedCidrs: body.allowedCidrs, allowAnySource: body.allowAnySource, requireSrtp: body.requireSrtp,
      digest: body.digest ? digestCredentials(body.digest.username, body.digest.realm, body.digest.password) : undefined,
      digestAlgorithms: body.digestAlgorithms ? checkDigestAlgorithms(body.digestAlgorithms) : undefined,
    }, who(ctx)))),
  }),
  defineRoute({
    method: 'GET', url: '/numbers/:numberId', tag: 'numbers', summary: 'One number', permission: 'numbers:read',
    params, response: numberSchema,
    handler: async ({ ctx, params: p }) => view(await served(() => getNumber(ctx.db, ctx.tenantId, p.numberId))),
  }),
  defineRoute({
    method: 'PATCH', url: '/numbers/:numberId', tag: 'numbers', summary: 'Change a number\'s agent, ACL or digest credentials', permission: 'numbers:write',
    params,
    body: z.strictObject({
      agentId: z.uuid().optional(),
      allowedCidrs: cidrs.optional(),
      allowAnySource: z.boolean().optional(),
      digest: digestBody.nullable().optional().describe('New credentials, or null to turn digest auth off'),
      digestAlgorithms: algorithms.nullable().optional(),
      requireSrtp: z.boolean().optional(),
    }),
    response: numberSchema,
    handler: async ({ ctx, params: p, body }) => {
      nonEmpty(body);
      return view(await served(() => updateNumber(ctx.db, ctx.tenantId, p.numberId, {
        agentId: body.agentId, allowedCidrs: body.allowedCidrs, allowAnySource: body.allowAnySource,
        digest: body.digest === undefined ? undefined : body.digest === null ? null : digestCredentials(body.digest.username, body.digest.realm, body.digest.password),
        digestAlgorithms: body.digestAlgorithms === undefined ? undefined : body.digestAlgorithms === null ? null : checkDigestAlgorithms(body.digestAlgorithms),
        requireSrtp: body.requireSrtp,
      }, who(ctx))));
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/numbers/:numberId', tag: 'numbers', summary: 'Delete a number (calls to it are refused from then on)', permission: 'numbers:write', status: 204,
    params, response: z.null(),
    handler: async ({ ctx, params: p }) => {
      await served(() => deleteNumber(ctx.db, ctx.tenantId, p.numberId, who(ctx)));
      return null;
    },
  }),
  defineRoute({
    method: 'PUT', url: '/numbers/:numberId/carrier', tag: 'numbers', summary: 'Answer a number through a carrier\'s WebSocket media streams (Twilio, Telnyx)', permission: 'numbers:write',
    params,
    body: z.strictObject({
      carrier: z.enum(STREAM_CARRIERS),
      credential: z.string().min(1).max(MAX_CARRIER_CREDENTIAL)
        .describe('Checks the carrier\'s webhook signatures: the Twilio auth token, or the Telnyx public key (base64 or PEM). Sealed with the tenant\'s key; never returned'),
    }),
    response: z.object({
      numberId: z.uuid(),
      carrier: z.enum(STREAM_CARRIERS),
      webhookPath: z.string().describe('Point the carrier\'s voice webhook at this path on the server'),
    }).meta({ id: 'NumberCarrier' }),
    handler: async ({ ctx, params: p, body }) => {
      const keyRing = ctx.deps.services.keyRing;
      if (!keyRing) throw new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: 'The tenant key ring is not configured on this server.' });
      const carrier = await served(() => setCarrier(ctx.db, keyRing, ctx.tenantId, p.numberId, body, who(ctx)));
      return { numberId: p.numberId, carrier, webhookPath: carrierWebhookPath(carrier) };
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/numbers/:numberId/carrier', tag: 'numbers', summary: 'Stop answering a number through a carrier\'s media streams', permission: 'numbers:write', status: 204,
    params, response: z.null(),
    handler: async ({ ctx, params: p }) => {
      await served(() => removeCarrier(ctx.db, ctx.tenantId, p.numberId, who(ctx)));
      return null;
    },
  }),
];
