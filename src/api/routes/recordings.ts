/**
 * /v1/recordings: the tenant's recordings (metadata only) and their erasure
 * (the encrypted object first, then the row). Audio is reached only through
 * an expiring signed link, minted by POST /v1/recordings/{id}/link
 * (recording-links.ts, over the links module the CLI uses too).
 */
import { z } from 'zod';
import { getRecording, listRecordingsPage, type RecordingRow } from '../../../storage/index.ts';
import { notFound as missing } from '../../resources/errors.ts';
import { eraseRecording } from '../../resources/recordings.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, iso, objectStore, served, who } from './resource-support.ts';

const recordingSchema = z.object({
  id: z.uuid(),
  callId: z.uuid().nullable(),
  contactId: z.uuid().nullable(),
  sizeBytes: z.number().int(),
  durationMs: z.number().int().nullable(),
  cutShort: z.boolean(),
  complete: z.boolean().describe('False while recording, or after a crash'),
  retainUntil: z.string(),
  createdAt: z.string(),
}).meta({ id: 'Recording' });

const view = (row: RecordingRow) => ({
  id: row.id, callId: row.callId, contactId: row.contactId, sizeBytes: row.sizeBytes, durationMs: row.durationMs, cutShort: row.cutShort,
  complete: row.completedAt !== null, retainUntil: row.retainUntil.toISOString(), createdAt: iso(row.createdAt)!,
});

const params = idParam('recordingId');

export const recordingRoutes = [
  defineRoute({
    method: 'GET', url: '/recordings', tag: 'recordings', summary: 'List recordings (newest first)', permission: 'recordings:read',
    query: pageQuery.extend({ callId: z.uuid().optional() }),
    response: pageSchema(recordingSchema),
    handler: async ({ ctx, query }) => apiPage(await served(() => listRecordingsPage(ctx.db, ctx.tenantId, { callId: query.callId }, query)), view),
  }),
  defineRoute({
    method: 'GET', url: '/recordings/:recordingId', tag: 'recordings', summary: 'One recording\'s metadata', permission: 'recordings:read',
    params, response: recordingSchema,
    handler: async ({ ctx, params: p }) => view(await served(async () => (await getRecording(ctx.db, ctx.tenantId, p.recordingId)) ?? Promise.reject(missing('recording')))),
  }),
  defineRoute({
    method: 'DELETE', url: '/recordings/:recordingId', tag: 'recordings', summary: 'Erase a recording (its encrypted object, then its row)', permission: 'recordings:delete', status: 204,
    params, response: z.null(),
    handler: async ({ ctx, params: p }) => {
      await served(() => eraseRecording(ctx.db, objectStore(ctx), ctx.tenantId, p.recordingId, who(ctx)));
      return null;
    },
  }),
];
