/**
 * POST /v1/recordings/{recordingId}/link: mints an expiring signed link to one
 * recording of the caller's tenant (src/recordings/links.ts, shared with the
 * CLI; the link is served by GET /v1/recordings/{tenant}/{recording} in
 * src/http/recordings.ts, authenticated by its signature alone).
 *
 * - Sessions and API keys, permission recordings:read (viewers see analytics,
 *   not call content); a role refusal is audited in the caller's tenant.
 * - Rate-limited per source address before the credential is checked (the
 *   store is Postgres on a server: the limit holds across the cluster);
 *   failed authentications go to the server's coalesced security log.
 * - The minting is audited with the link's fingerprint (never the signature)
 *   and its expiry; a refusal (a ttl the link module refuses, a recording the
 *   caller's tenant does not have) is audited in the caller's tenant too.
 * - The `url` is built on the configured public base URL, else on the address
 *   the server is bound to, never on the request's Host header.
 */
import { isIP } from 'node:net';
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { mintRecordingLink, parseTtl, RecordingLinkError } from '../../recordings/links.ts';
import { auditRecordingAccess } from '../../recordings/access-audit.ts';
import type { ApiContext } from '../context.ts';
import { ApiProblem, badRequest, notFound } from '../problem.ts';
import { defineRoute } from '../route.ts';

/** The longest link the API mints (the CLI may go to 7 days). */
export const API_MAX_LINK_TTL_MS = 24 * 3_600_000;
/** Minting requests per source address per minute. */
export const LINK_RATE_LIMIT = { max: 120, windowMs: 60_000 };

const linkSchema = z.object({
  recordingId: z.uuid(),
  url: z.string().describe('The full link: public base URL (or the bound address) + path'),
  path: z.string().describe('/v1/recordings/{tenant}/{recording}?exp=...&sig=...'),
  expiresAt: z.string(),
}).meta({ id: 'RecordingLink' });

/** `http://<bound address>:<port>`; a wildcard bind answers with the local address the connection reached. */
export function boundBaseUrl(request: FastifyRequest): string {
  const bound = request.server.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : 0;
  let host = typeof bound === 'object' && bound ? bound.address : '127.0.0.1';
  if (host === '0.0.0.0' || host === '::') host = request.socket.localAddress ?? '127.0.0.1';
  host = host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

function linkSecret(ctx: ApiContext): Buffer {
  const secret = ctx.deps.services.recordingLinkSecret;
  if (!secret) throw new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: 'Recording links are not configured on this server.' });
  return secret;
}

export const recordingLinkRoutes = [
  defineRoute({
    method: 'POST', url: '/recordings/:recordingId/link', tag: 'recordings',
    summary: 'Mint an expiring signed link to a recording\'s decrypted WAV',
    permission: 'recordings:read', status: 201, rateLimit: LINK_RATE_LIMIT, auditRefusalAs: 'recording.link.refused',
    params: z.strictObject({ recordingId: z.uuid() }),
    body: z.strictObject({
      ttl: z.union([z.string().max(20), z.number()]).optional()
        .describe('Lifetime: seconds, or "90s", "15m", "2h", "1d"; 10 s to 24 h; default 15 minutes'),
    }).optional(),
    response: linkSchema,
    handler: async ({ ctx, params, body, request, reply }) => {
      const secret = linkSecret(ctx);
      const refused = (detail: Record<string, unknown>) => auditRecordingAccess(ctx.db, {
        tenantId: ctx.tenantId, recordingId: params.recordingId, actor: ctx.actor, action: 'recording.link.refused', sourceIp: ctx.sourceIp, detail,
      });
      try {
        const ttlMs = body?.ttl === undefined ? undefined : parseTtl(body.ttl);
        const link = await mintRecordingLink(ctx.db, secret, {
          tenantId: ctx.tenantId, recordingId: params.recordingId, actor: ctx.actor, sourceIp: ctx.sourceIp, maxTtlMs: API_MAX_LINK_TTL_MS,
          now: ctx.now().getTime(), ...(ttlMs !== undefined ? { ttlMs } : {}),
        });
        reply.header('cache-control', 'no-store');
        const base = ctx.deps.settings.publicBaseUrl ?? boundBaseUrl(request);
        return { recordingId: params.recordingId, url: `${base}${link.path}`, path: link.path, expiresAt: link.expiresAt.toISOString() };
      } catch (error) {
        if (!(error instanceof RecordingLinkError)) throw error;
        // Every refused access is in the caller's own audit log (another tenant's id is a 404 there: RLS hides it).
        if (error.status === 404) {
          await refused({ reason: 'not-found' });
          throw notFound('No such recording.');
        }
        await refused({ reason: 'bad-request', message: error.message.slice(0, 200) });
        throw badRequest(error.message, [{ path: 'body.ttl', message: error.message }]);
      }
    },
  }),
];
