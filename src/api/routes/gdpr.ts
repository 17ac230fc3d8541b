/**
 * /v1/gdpr: the data subject's rights over the API.
 * - Export (access, portability): POST /gdpr/exports queues a job (state in
 *   Postgres) that writes the ZIP with src/gdpr/export.ts; GET
 *   /gdpr/exports/{id} reports its state and, once done, a download link
 *   signed like the recording links (15 minutes); GET
 *   /gdpr/downloads/{tenant}/{id} serves the file to that link alone. The
 *   file is kept 24 h after the export finished (src/gdpr/export-cleanup.ts):
 *   then the export reads `expired` and a download is a 410.
 * - Erasure: POST /gdpr/erasures erases a data subject (contact and/or
 *   number, with their calls, transcripts, recordings and consents; the
 *   do-not-call entry survives), a call or a recording.
 * - Account erasure (owner only): POST /gdpr/account-erasure answers a
 *   confirmation token tied to the caller; POST
 *   /gdpr/account-erasure/confirm with it erases the tenant (keys destroyed
 *   first: every copy of its recordings becomes unreadable).
 * Every step is audited (the account's own erasure as a tenant-less security
 * event: its audit log goes with it), never with a number or content.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { z } from 'zod';
import { audit, getApiJob, getContact, type ApiJobRow } from '../../../storage/index.ts';
import type { RecordingVault } from '../../../storage/vault/index.ts';
import {
  DataSubjectError, eraseDataSubject, signExportLink, subjectCountry, subjectQuery, verifyExportLink, type ExportRequest, type GdprExportJobs,
} from '../../gdpr/index.ts';
import { linkActor } from '../../recordings/links.ts';
import { eraseTenant } from '../../recordings/erase.ts';
import { eraseCall } from '../../resources/calls.ts';
import { eraseRecording } from '../../resources/recordings.ts';
import type { ApiContext, RequestFacts } from '../context.ts';
import { ApiProblem, badRequest, forbidden, notFound } from '../problem.ts';
import { defineRoute } from '../route.ts';
import { LINK_RATE_LIMIT } from './recording-links.ts';
import { objectStore, served, who } from './resource-support.ts';

const unavailable = (what: string) => new ApiProblem(503, 'unavailable', 'Service unavailable', { detail: `${what} is not configured on this server.` });

function exportJobs(ctx: ApiContext): GdprExportJobs {
  const jobs = ctx.deps.services.gdprExports;
  if (!jobs) throw unavailable('GDPR export');
  return jobs;
}

function linkSecret(facts: RequestFacts): Buffer {
  const secret = facts.deps.services.recordingLinkSecret;
  if (!secret) throw unavailable('Signed links');
  return secret;
}

function vault(ctx: ApiContext): RecordingVault {
  const found = ctx.deps.services.recordingVault;
  if (!found) throw unavailable('The recording vault');
  return found;
}

const phone = z.string().trim().min(3).max(40).describe('E.164 or any spelling of the number (normalised)');

const exportSchema = z.object({
  id: z.uuid(),
  state: z.enum(['queued', 'running', 'done', 'failed', 'expired']).describe('expired: the ZIP was deleted when its retention ended (start a new export)'),
  scope: z.enum(['tenant', 'data-subject']),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  error: z.string().nullable().describe('Why it failed (a class name, or "interrupted" when the server stopped mid-export)'),
  result: z.object({ counts: z.record(z.string(), z.number()), files: z.number().int(), recordingsUnavailable: z.number().int() }).nullable(),
  download: z.object({ url: z.string(), expiresAt: z.string() }).nullable().describe('When done: an expiring signed link to the ZIP (a new one at every read)'),
  expiresAt: z.string().nullable().describe('When done or expired: when the ZIP is (or was) deleted, 24 h after the export finished'),
}).meta({ id: 'GdprExport' });

function exportView(ctx: ApiContext, row: ApiJobRow) {
  const expiresAt = exportJobs(ctx).expiresAt(row);
  const done = row.state === 'done' && row.filePath !== null;
  const link = done ? signExportLink(linkSecret(ctx), ctx.tenantId, row.id, ctx.now()) : undefined;
  const base = ctx.deps.settings.publicBaseUrl ?? '';
  return {
    id: row.id, state: row.state as ApiJobRow['state'] & ('queued' | 'running' | 'done' | 'failed' | 'expired'), scope: (row.request as ExportRequest).scope,
    createdAt: row.createdAt.toISOString(), startedAt: row.startedAt?.toISOString() ?? null, finishedAt: row.finishedAt?.toISOString() ?? null,
    error: row.error, result: (row.result as z.infer<typeof exportSchema>['result']) ?? null,
    download: link ? { url: `${base}${link.path}`, expiresAt: link.expiresAt.toISOString() } : null,
    expiresAt: expiresAt?.toISOString() ?? null,
  };
}

/** A subject's contact id must be the tenant's (another tenant's is a 404); a number must be one. */
async function checkSubject(ctx: ApiContext, subject: { contactId?: string | undefined; phone?: string | undefined }): Promise<void> {
  try {
    subjectQuery(subject, await subjectCountry(ctx.db, ctx.tenantId, subject));
  } catch (error) {
    if (error instanceof DataSubjectError) throw badRequest(error.message, [{ path: subject.phone ? 'body.phone' : 'body', message: error.message }]);
    throw error;
  }
  if (subject.contactId && !(await getContact(ctx.db, ctx.tenantId, subject.contactId))) throw notFound('No such contact.');
}

// ------------------------------------------------------------ account erasure confirmation

const CONFIRMATION_TTL_MS = 10 * 60_000;

function confirmationMac(ctx: ApiContext, exp: number): Buffer {
  return createHmac('sha256', ctx.deps.sessionSecret).update(`smartalex-account-erasure/v1\n${ctx.tenantId}\n${ctx.actor}\n${exp}`).digest();
}

/** `<exp>.<base64url HMAC>`: for this tenant and this caller, until exp. Nothing is stored. */
function confirmationToken(ctx: ApiContext): { token: string; expiresAt: Date } {
  const exp = Math.floor((ctx.now().getTime() + CONFIRMATION_TTL_MS) / 1000);
  return { token: `${exp}.${confirmationMac(ctx, exp).toString('base64url')}`, expiresAt: new Date(exp * 1000) };
}

function confirmationValid(ctx: ApiContext, token: string): boolean {
  const match = /^([1-9][0-9]{0,11})\.([A-Za-z0-9_-]{43})$/.exec(token);
  if (!match) return false;
  const exp = Number(match[1]);
  const given = Buffer.from(match[2]!, 'base64url');
  if (given.length !== 32 || !timingSafeEqual(given, confirmationMac(ctx, exp))) return false;
  return ctx.now().getTime() < exp * 1000;
}

export const gdprRoutes = [
  defineRoute({
    method: 'POST', url: '/gdpr/exports', tag: 'gdpr', summary: 'Start an export (whole tenant, or one data subject by contact id or number)',
    permission: 'data:export', status: 202,
    body: z.strictObject({
      scope: z.enum(['tenant', 'data-subject']),
      contactId: z.uuid().optional(),
      phone: phone.optional(),
    }),
    response: exportSchema,
    handler: async ({ ctx, body }) => {
      const jobs = exportJobs(ctx);
      let request: ExportRequest;
      if (body.scope === 'tenant') {
        if (body.contactId || body.phone) throw badRequest('A tenant-wide export names no data subject.', [{ path: 'body.scope', message: 'tenant with a subject' }]);
        request = { scope: 'tenant' };
      } else {
        await checkSubject(ctx, body);
        request = { scope: 'data-subject', ...(body.contactId ? { contactId: body.contactId } : {}), ...(body.phone ? { phone: body.phone } : {}) };
      }
      return exportView(ctx, await jobs.start(ctx.tenantId, request, who(ctx)));
    },
  }),
  defineRoute({
    method: 'GET', url: '/gdpr/exports/:exportId', tag: 'gdpr', summary: 'An export\'s state and, when done, its expiring download link',
    permission: 'data:export',
    params: z.strictObject({ exportId: z.uuid() }),
    response: exportSchema,
    handler: async ({ ctx, params }) => {
      const row = await exportJobs(ctx).get(ctx.tenantId, params.exportId);
      if (!row) throw notFound();
      return exportView(ctx, row);
    },
  }),
  defineRoute({
    method: 'GET', url: '/gdpr/downloads/:tenantId/:exportId', tag: 'gdpr',
    summary: 'Download a finished export (application/zip); the signed link from GET /gdpr/exports/{id} is the credential; 410 once the export expired',
    permission: 'public', rateLimit: LINK_RATE_LIMIT,
    params: z.strictObject({ tenantId: z.string().max(64), exportId: z.string().max(64) }),
    query: z.strictObject({ exp: z.string().max(20).optional(), sig: z.string().max(100).optional() }),
    response: z.unknown().describe('The ZIP (application/zip)'),
    handler: async ({ facts, params, query, reply }) => {
      const verdict = verifyExportLink({ tenantId: params.tenantId, exportId: params.exportId, exp: query.exp, sig: query.sig }, linkSecret(facts), facts.now());
      const actor = linkActor(query.sig);
      const jobs = facts.deps.services.gdprExports;
      const find = () => (jobs ? jobs.get(params.tenantId, params.exportId) : getApiJob(facts.db, params.tenantId, params.exportId));
      const gone = async (row: ApiJobRow): Promise<never> => {
        await audit(facts.db, params.tenantId, { actor, action: 'gdpr.export.download.refused', target: `export:${row.id}`, detail: { reason: 'export-expired' }, sourceIp: facts.sourceIp });
        throw new ApiProblem(410, 'gone', 'Gone', { detail: 'This export has expired and its file was deleted: start a new export.', code: 'export_expired' });
      };
      if (!verdict.ok) {
        // Only a valid signature (an expired link) proves the tenant; a forged one goes to the server's security log.
        if (verdict.reason === 'expired') {
          const row = await find();
          if (row?.state === 'expired') await gone(row);
          await audit(facts.db, params.tenantId, { actor, action: 'gdpr.export.download.refused', target: `export:${params.exportId}`, detail: { reason: 'expired' }, sourceIp: facts.sourceIp });
        } else {
          facts.deps.securityLog?.record({ type: `gdpr.export.link.${verdict.reason}`, source: facts.sourceIp });
        }
        // A forged link learns nothing (404, as for a missing export); an expired one is told to ask again.
        throw verdict.reason === 'expired' ? forbidden('The download link has expired: read the export again for a new one.', 'link_expired') : notFound();
      }
      const row = await find();
      if (row?.state === 'expired') await gone(row);
      if (!row || row.state !== 'done' || !row.filePath) throw notFound();
      const file = createReadStream(row.filePath);
      await new Promise<void>((resolve, reject) => { file.once('open', () => resolve()); file.once('error', reject); }).catch(() => { throw notFound(); });
      await audit(facts.db, params.tenantId, { actor, action: 'gdpr.export.downloaded', target: `export:${row.id}`, sourceIp: facts.sourceIp });
      reply.header('content-type', 'application/zip').header('cache-control', 'no-store')
        .header('content-disposition', `attachment; filename="smartalex-export-${row.id}.zip"`);
      return reply.send(file) as never;
    },
  }),
  defineRoute({
    method: 'POST', url: '/gdpr/erasures', tag: 'gdpr',
    summary: 'Erase a data subject (contact and/or number, with their calls, transcripts, recordings, consents; the do-not-call entry stays), a call, or a recording',
    permission: 'data:erase',
    body: z.strictObject({ contactId: z.uuid().optional(), phone: phone.optional(), callId: z.uuid().optional(), recordingId: z.uuid().optional() }),
    response: z.object({
      contacts: z.number().int(), calls: z.number().int(), recordings: z.number().int(), consents: z.number().int(), webhookEvents: z.number().int(),
      doNotCallKept: z.number().int().describe('Do-not-call entries of the number, kept: the legal record not to call it'),
    }),
    handler: async ({ ctx, body }) => {
      const kinds = [body.contactId || body.phone ? 'subject' : undefined, body.callId ? 'call' : undefined, body.recordingId ? 'recording' : undefined].filter(Boolean);
      if (kinds.length !== 1) throw badRequest('Name one thing to erase: a data subject (contactId and/or phone), a callId or a recordingId.', [{ path: 'body', message: 'one of' }]);
      const store = objectStore(ctx);
      const none = { contacts: 0, calls: 0, recordings: 0, consents: 0, webhookEvents: 0, doNotCallKept: 0 };
      if (body.callId) {
        const { recordings } = await served(() => eraseCall(ctx.db, store, ctx.tenantId, body.callId!, who(ctx)));
        return { ...none, calls: 1, recordings };
      }
      if (body.recordingId) {
        await served(() => eraseRecording(ctx.db, store, ctx.tenantId, body.recordingId!, who(ctx)));
        return { ...none, recordings: 1 };
      }
      await checkSubject(ctx, body);
      return eraseDataSubject(ctx.db, store, ctx.tenantId, { contactId: body.contactId, phone: body.phone }, who(ctx));
    },
  }),
  defineRoute({
    method: 'POST', url: '/gdpr/account-erasure', tag: 'gdpr',
    summary: 'Ask to erase the whole account: answers a confirmation token (10 minutes, this caller only) for /gdpr/account-erasure/confirm',
    permission: 'account:delete', status: 202,
    body: z.strictObject({}).optional(),
    response: z.object({ confirmationToken: z.string(), expiresAt: z.string() }),
    handler: async ({ ctx }) => {
      vault(ctx);
      const { token, expiresAt } = confirmationToken(ctx);
      await ctx.audit({ action: 'account.erasure.requested', target: `tenant:${ctx.tenantId}`, detail: { expiresAt: expiresAt.toISOString() } });
      return { confirmationToken: token, expiresAt: expiresAt.toISOString() };
    },
  }),
  defineRoute({
    method: 'POST', url: '/gdpr/account-erasure/confirm', tag: 'gdpr',
    summary: 'Erase the whole account (keys destroyed, recordings, every row); needs the confirmation token from /gdpr/account-erasure',
    permission: 'account:delete',
    body: z.strictObject({ confirmationToken: z.string().min(1).max(200) }),
    response: z.object({ erased: z.literal(true), recordings: z.number().int(), keyBytesErased: z.boolean() }),
    handler: async ({ ctx, body }) => {
      const recordingVault = vault(ctx);
      if (!confirmationValid(ctx, body.confirmationToken)) {
        await ctx.audit({ action: 'account.erasure.refused', target: `tenant:${ctx.tenantId}`, detail: { reason: 'confirmation' } });
        throw badRequest('The confirmation token is not valid, not yours, or expired: ask again.', [{ path: 'body.confirmationToken', message: 'invalid' }]);
      }
      const result = await eraseTenant(ctx.db, recordingVault, ctx.tenantId, ctx.actor);
      return { erased: true as const, recordings: result.recordings, keyBytesErased: result.keyErasure.complete };
    },
  }),
];
