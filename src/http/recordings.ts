/**
 * Recording access over HTTP.
 *
 *   GET  /v1/recordings/:tenant/:recording?exp=..&sig=..
 *        Streams the decrypted WAV for a valid signed link. 403 for an
 *        expired, altered or malformed link (a link moved to another tenant
 *        fails its signature), 404 for a recording that does not exist.
 *   POST /v1/recordings/:id/link     Authorization: Bearer sak_...
 *        (or a control-plane session, e.g. the console's cookie with its
 *        CSRF token, when the server passes `authorise`)
 *        Mints a link (body {"ttl": "15m"} or {"ttl": 900} optional, 10 s to
 *        24 h; anything else is a 400) for a recording of the key's tenant.
 *        Roles owner, admin and manager may; viewer may not (recordings are
 *        call content, viewers see analytics). The link's `url` is built on
 *        the configured public base URL (SMARTALEX_PUBLIC_BASE_URL), else on
 *        the address the server is bound to (for a wildcard bind, the local
 *        address the request reached), never on the request's Host header,
 *        which the client writes.
 *
 * Who is told: a request that proves its tenant (a valid signature, even an
 * expired one; a valid API key) is written to that tenant's audit log with
 * who (link fingerprint or API key id), when, and which recording, granted or
 * refused. A request that proves nothing (a forged or garbled link, no valid
 * API key) names a tenant only because its URL says so: it goes to the
 * server's security log instead, coalesced to one row per source and kind
 * per flush window with a count (src/calls/security-log.ts), so forged links
 * can neither write into a tenant's log nor flood the database. Responses
 * carry `cache-control: no-store`; errors are one-line JSON. Both routes are
 * rate-limited per source address (429 beyond it), counted in Postgres under
 * `serve` so the limit holds across every node of a cluster.
 */
import { Readable } from 'node:stream';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { isIP } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authenticateApiKey, getRecording, isUuid, type Database, type Role } from '../../storage/index.ts';
import { RecordingNotFoundError, VaultError, verifyRecordingLink } from '../../storage/vault/index.ts';
import type { RecordingVault } from '../../storage/vault/index.ts';
import { authoriseRequest, requestFacts } from '../api/control-plane.ts';
import type { ControlPlaneDeps } from '../api/deps.ts';
import type { SecurityLog } from '../calls/security-log.ts';
import type { Logger } from '../log.ts';
import { auditRecordingAccess } from '../recordings/access-audit.ts';
import { linkActor, mintRecordingLink, parseTtl, RecordingLinkError } from '../recordings/links.ts';

/** Who mints a link: the tenant, the role, and the actor the audit log names. */
export interface LinkPrincipal { tenantId: string; role: Role; actor: string }

/**
 * The control plane's credentials as link principals: a session token, or
 * the console's session cookie with its CSRF token (the same check as any
 * /v1 write); the role rule below still applies.
 */
export function controlPlaneLinkAuthoriser(deps: ControlPlaneDeps): (request: FastifyRequest) => Promise<LinkPrincipal | undefined> {
  return async (request) => {
    const ctx = await authoriseRequest(requestFacts(deps, request), request, 'self').catch(() => undefined);
    return ctx ? { tenantId: ctx.tenantId, role: ctx.role, actor: ctx.actor } : undefined;
  };
}

export const LINK_MINTING_ROLES: readonly Role[] = ['owner', 'admin', 'manager'];
export const API_MAX_LINK_TTL_MS = 24 * 3_600_000;

export interface RecordingRoutesOptions {
  db: Database;
  vault: RecordingVault;
  linkSecret: Buffer;
  /** The server's security log: refusals that prove no tenant go here, coalesced per source. */
  securityLog: SecurityLog;
  /** Public origin (and path prefix) links are built on (SMARTALEX_PUBLIC_BASE_URL); omitted: the bound address. */
  publicBaseUrl?: string;
  logger?: Logger;
  /**
   * Other credentials the link route accepts beside an API key: the control
   * plane's (a session token, or the console's session cookie with its CSRF
   * token). Answers undefined when the request proves no principal.
   */
  authorise?: (request: FastifyRequest) => Promise<LinkPrincipal | undefined>;
  /** Requests per minute per source address on these routes. Default 120. */
  rateLimitPerMinute?: number;
  /** Where the rate limit is counted; default in this process. `serve` counts in Postgres, across the cluster. */
  rateLimitStore?: FastifyRateLimitStoreCtor;
}

function fail(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error });
}

/** The minting body: nothing, or {"ttl": "15m" | 900}; unknown keys are mistakes, not defaults. */
const LinkRequest = z.object({
  ttl: z.unknown().optional().transform((value, ctx) => {
    if (value === undefined) return undefined;
    try {
      return parseTtl(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  }),
}, { error: 'the body must be a JSON object like {"ttl": "15m"}' }).strict();

function badRequest(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') return `unknown field ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (only "ttl")`;
  return issue?.message ?? 'bad request';
}

/** `http://<bound address>:<port>`; a wildcard bind answers with the local address the connection reached. */
function boundBaseUrl(app: FastifyInstance, request: FastifyRequest): string {
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : 0;
  let host = typeof bound === 'object' && bound ? bound.address : '127.0.0.1';
  if (host === '0.0.0.0' || host === '::') host = request.socket.localAddress ?? '127.0.0.1';
  host = host.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, '');
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

export function registerRecordingRoutes(app: FastifyInstance, opts: RecordingRoutesOptions): void {
  void app.register(async (scope) => {
    await scope.register(rateLimit, { max: opts.rateLimitPerMinute ?? 120, timeWindow: 60_000, ...(opts.rateLimitStore ? { store: opts.rateLimitStore } : {}) });
    recordingRoutes(scope, opts);
  });
}

function recordingRoutes(app: FastifyInstance, opts: RecordingRoutesOptions): void {
  const { db, vault, linkSecret, securityLog } = opts;

  app.get<{ Params: { tenant: string; recording: string }; Querystring: { exp?: string; sig?: string } }>(
    '/v1/recordings/:tenant/:recording',
    async (request, reply) => {
      const { tenant, recording } = request.params;
      const { exp, sig } = request.query;
      const actor = linkActor(typeof sig === 'string' ? sig : undefined);
      const base = { tenantId: tenant, recordingId: recording, actor, sourceIp: request.ip };
      const verdict = verifyRecordingLink({ tenantId: tenant, recordingId: recording, exp: typeof exp === 'string' ? exp : undefined, sig: typeof sig === 'string' ? sig : undefined }, linkSecret);
      if (!verdict.ok) {
        // Only a valid signature (an expired link) proves the tenant; a forged one names any tenant it likes.
        if (verdict.reason === 'expired') await auditRecordingAccess(db, { ...base, action: 'recording.access.refused', detail: { reason: verdict.reason } });
        else securityLog.record({ type: `recording.link.${verdict.reason}`, source: request.ip });
        return fail(reply, 403, verdict.reason === 'expired' ? 'recording link has expired' : 'recording link is not valid');
      }
      const row = isUuid(tenant) && isUuid(recording) ? await getRecording(db, tenant, recording) : undefined;
      if (!row) {
        await auditRecordingAccess(db, { ...base, action: 'recording.access.refused', detail: { reason: 'not-found' } });
        return fail(reply, 404, 'recording not found');
      }
      let wav: AsyncGenerator<Buffer, void, undefined>;
      try {
        wav = await vault.wav({ tenantId: tenant, recordingId: recording }, { allowTruncated: row.completedAt === null });
      } catch (err) {
        const code = err instanceof VaultError ? err.code : 'ERROR';
        await auditRecordingAccess(db, { ...base, action: 'recording.access.refused', detail: { reason: code } });
        if (err instanceof RecordingNotFoundError) return fail(reply, 404, 'recording not found');
        opts.logger?.error({ tenantId: tenant, recordingId: recording, code }, 'recording could not be opened');
        return fail(reply, 500, 'recording could not be decrypted');
      }
      await auditRecordingAccess(db, { ...base, action: 'recording.accessed', detail: { expiresAt: verdict.expiresAt.toISOString() } });
      const body = Readable.from(wav, { objectMode: false });
      body.on('error', (err) => {
        opts.logger?.error({ tenantId: tenant, recordingId: recording, code: err instanceof VaultError ? err.code : 'ERROR' }, 'recording stream failed');
      });
      return reply
        .header('content-type', 'audio/wav')
        .header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="${recording}.wav"`)
        .send(body);
    },
  );

  app.post<{ Params: { id: string }; Body: unknown }>('/v1/recordings/:id/link', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const key = presented?.startsWith('sak_') ? await authenticateApiKey(db, presented) : undefined;
    const principal: LinkPrincipal | undefined = key
      ? { tenantId: key.tenantId, role: key.role, actor: `apikey:${key.keyId}` }
      : opts.authorise ? await opts.authorise(request) : undefined;
    if (!principal) {
      securityLog.record({ type: 'recording.link.unauthenticated', source: request.ip });
      return fail(reply.header('www-authenticate', 'Bearer'), 401, 'missing or invalid API key');
    }
    const actor = principal.actor;
    const base = { tenantId: principal.tenantId, recordingId: request.params.id, actor, sourceIp: request.ip };
    if (!LINK_MINTING_ROLES.includes(principal.role)) {
      await auditRecordingAccess(db, { ...base, action: 'recording.link.refused', detail: { reason: 'role', role: principal.role } });
      return fail(reply, 403, `role ${principal.role} may not access recordings`);
    }
    const parsed = LinkRequest.safeParse(request.body ?? {});
    if (!parsed.success) {
      const message = badRequest(parsed.error);
      await auditRecordingAccess(db, { ...base, action: 'recording.link.refused', detail: { reason: 'bad-request', message: message.slice(0, 200) } });
      return fail(reply, 400, message);
    }
    try {
      const { ttl } = parsed.data;
      const link = await mintRecordingLink(db, linkSecret, {
        tenantId: principal.tenantId, recordingId: request.params.id, actor, sourceIp: request.ip, maxTtlMs: API_MAX_LINK_TTL_MS,
        ...(ttl !== undefined ? { ttlMs: ttl } : {}),
      });
      const url = `${opts.publicBaseUrl ?? boundBaseUrl(app, request)}${link.path}`;
      return reply.code(201).header('cache-control', 'no-store').send({ recordingId: request.params.id, url, path: link.path, expiresAt: link.expiresAt.toISOString() });
    } catch (err) {
      if (!(err instanceof RecordingLinkError)) throw err;
      await auditRecordingAccess(db, { ...base, action: 'recording.link.refused', detail: { reason: err.status === 404 ? 'not-found' : 'bad-request', ...(err.status === 400 ? { message: err.message } : {}) } });
      return fail(reply, err.status, err.message);
    }
  });
}
