/**
 * Recording access over HTTP.
 *
 *   GET  /v1/recordings/:tenant/:recording?exp=..&sig=..
 *        Streams the decrypted WAV for a valid signed link. 403 for an
 *        expired, altered or malformed link (a link moved to another tenant
 *        fails its signature), 404 for a recording that does not exist.
 *   POST /v1/recordings/:id/link     Authorization: Bearer sak_...
 *        Mints a link (body {"ttl": "15m"} optional, at most 24 h) for a
 *        recording of the key's tenant. Roles owner, admin and manager may;
 *        viewer may not (recordings are call content, viewers see analytics).
 *
 * Every access, granted or refused, is written to the audit log with who
 * (link fingerprint or API key id), when, and which recording. Responses
 * carry `cache-control: no-store`; errors are one-line JSON. Both routes are
 * rate-limited per source address (429 beyond it), so guessing links cannot
 * flood the audit log or the decryptor.
 */
import { Readable } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { authenticateApiKey, getRecording, isUuid, recordSecurityEvent, type Database, type Role } from '../../storage/index.ts';
import { RecordingNotFoundError, VaultError, verifyRecordingLink } from '../../storage/vault/index.ts';
import type { RecordingVault } from '../../storage/vault/index.ts';
import type { Logger } from '../log.ts';
import { auditRecordingAccess } from '../recordings/access-audit.ts';
import { linkActor, mintRecordingLink, parseTtl, RecordingLinkError } from '../recordings/links.ts';

export const LINK_MINTING_ROLES: readonly Role[] = ['owner', 'admin', 'manager'];
export const API_MAX_LINK_TTL_MS = 24 * 3_600_000;

export interface RecordingRoutesOptions {
  db: Database;
  vault: RecordingVault;
  linkSecret: Buffer;
  logger?: Logger;
  /** Requests per minute per source address on these routes. Default 120. */
  rateLimitPerMinute?: number;
}

function fail(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error });
}

export function registerRecordingRoutes(app: FastifyInstance, opts: RecordingRoutesOptions): void {
  void app.register(async (scope) => {
    await scope.register(rateLimit, { max: opts.rateLimitPerMinute ?? 120, timeWindow: 60_000 });
    recordingRoutes(scope, opts);
  });
}

function recordingRoutes(app: FastifyInstance, opts: RecordingRoutesOptions): void {
  const { db, vault, linkSecret } = opts;

  app.get<{ Params: { tenant: string; recording: string }; Querystring: { exp?: string; sig?: string } }>(
    '/v1/recordings/:tenant/:recording',
    async (request, reply) => {
      const { tenant, recording } = request.params;
      const { exp, sig } = request.query;
      const actor = linkActor(typeof sig === 'string' ? sig : undefined);
      const base = { tenantId: tenant, recordingId: recording, actor, sourceIp: request.ip };
      const verdict = verifyRecordingLink({ tenantId: tenant, recordingId: recording, exp: typeof exp === 'string' ? exp : undefined, sig: typeof sig === 'string' ? sig : undefined }, linkSecret);
      if (!verdict.ok) {
        await auditRecordingAccess(db, { ...base, action: 'recording.access.refused', detail: { reason: verdict.reason } });
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

  app.post<{ Params: { id: string }; Body: { ttl?: string | number } | undefined }>('/v1/recordings/:id/link', async (request, reply) => {
    const header = request.headers.authorization ?? '';
    const presented = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const principal = presented ? await authenticateApiKey(db, presented) : undefined;
    if (!principal) {
      await recordSecurityEvent(db, { type: 'recording.link.unauthenticated', sourceIp: request.ip, detail: { recording: request.params.id.slice(0, 64) } });
      return fail(reply.header('www-authenticate', 'Bearer'), 401, 'missing or invalid API key');
    }
    const actor = `apikey:${principal.keyId}`;
    const base = { tenantId: principal.tenantId, recordingId: request.params.id, actor, sourceIp: request.ip };
    if (!LINK_MINTING_ROLES.includes(principal.role)) {
      await auditRecordingAccess(db, { ...base, action: 'recording.link.refused', detail: { reason: 'role', role: principal.role } });
      return fail(reply, 403, `role ${principal.role} may not access recordings`);
    }
    try {
      const ttl = request.body?.ttl;
      const link = await mintRecordingLink(db, linkSecret, {
        tenantId: principal.tenantId, recordingId: request.params.id, actor, sourceIp: request.ip, maxTtlMs: API_MAX_LINK_TTL_MS,
        ...(ttl !== undefined ? { ttlMs: parseTtl(ttl) } : {}),
      });
      const url = `${request.protocol}://${request.host}${link.path}`;
      return reply.code(201).header('cache-control', 'no-store').send({ recordingId: request.params.id, url, path: link.path, expiresAt: link.expiresAt.toISOString() });
    } catch (err) {
      if (!(err instanceof RecordingLinkError)) throw err;
      await auditRecordingAccess(db, { ...base, action: 'recording.link.refused', detail: { reason: err.status === 404 ? 'not-found' : 'bad-request' } });
      return fail(reply, err.status, err.message);
    }
  });
}
