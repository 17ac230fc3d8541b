/**
 * Serving recordings over HTTP through a signed link.
 *
 *   GET  /v1/recordings/:tenant/:recording?exp=..&sig=..
 *        Streams the decrypted WAV for a valid signed link. 403 for an
 *        expired, altered or malformed link (a link moved to another tenant
 *        fails its signature), 404 for a recording that does not exist.
 *
 * Links are minted by POST /v1/recordings/:id/link, a control-plane route
 * (src/api/routes/recording-links.ts). This one sits outside the /v1
 * framework because its credential is the link's signature, not a bearer.
 *
 * Who is told: a request that proves its tenant (a valid signature, even an
 * expired one) is written to that tenant's audit log with who (the link's
 * fingerprint), when, and which recording, granted or refused. A request that
 * proves nothing (a forged or garbled link) names a tenant only because its
 * URL says so: it goes to the server's security log instead, coalesced to one
 * row per source and kind per flush window with a count
 * (src/calls/security-log.ts), so forged links can neither write into a
 * tenant's log nor flood the database. Responses carry `cache-control:
 * no-store`; errors are one-line JSON. The route is rate-limited per source
 * address (429 beyond it), counted in Postgres under `serve` so the limit
 * holds across every node of a cluster.
 */
import { Readable } from 'node:stream';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { getRecording, isUuid, type Database } from '../../storage/index.ts';
import { RecordingNotFoundError, VaultError, verifyRecordingLink } from '../../storage/vault/index.ts';
import type { RecordingVault } from '../../storage/vault/index.ts';
import type { SecurityLog } from '../calls/security-log.ts';
import type { Logger } from '../log.ts';
import { auditRecordingAccess } from '../recordings/access-audit.ts';
import { linkActor } from '../recordings/links.ts';

export interface RecordingRoutesOptions {
  db: Database;
  vault: RecordingVault;
  linkSecret: Buffer;
  /** The server's security log: refusals that prove no tenant go here, coalesced per source. */
  securityLog: SecurityLog;
  logger?: Logger;
  /** Requests per minute per source address on this route. Default 120. */
  rateLimitPerMinute?: number;
  /** Where the rate limit is counted; default in this process. `serve` counts in Postgres, across the cluster. */
  rateLimitStore?: FastifyRateLimitStoreCtor;
}

function fail(reply: FastifyReply, status: number, error: string): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error });
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
}
