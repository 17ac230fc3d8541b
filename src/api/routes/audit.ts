/** /v1/audit: the tenant's audit log (read-only), newest first, filtered by actor, action and time. */
import { z } from 'zod';
import { listAuditPage, type AuditRow } from '../../../storage/index.ts';
import { badRequest } from '../problem.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { apiPage, instant, served } from './resource-support.ts';

const auditSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  actor: z.string().describe('user:<id>, apikey:<prefix>, operator:cli, system:<component>, link:<fingerprint>'),
  action: z.string(),
  target: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  sourceIp: z.string().nullable(),
}).meta({ id: 'AuditEntry' });

const view = (row: AuditRow) => ({
  id: row.id, at: row.at.toISOString(), actor: row.actor, action: row.action, target: row.target,
  detail: (row.detail ?? {}) as Record<string, unknown>, sourceIp: row.sourceIp,
});

export const auditRoutes = [
  defineRoute({
    method: 'GET', url: '/audit', tag: 'audit', summary: 'The audit log (newest first), filtered', permission: 'audit:read',
    query: pageQuery.extend({
      actor: z.string().min(1).max(200).optional(),
      action: z.string().regex(/^[a-z0-9_.-]{1,100}\*?$/).optional().describe('Exact action, or a prefix ending in * (recording.*)'),
      from: instant.optional().describe('At or after (ISO 8601)'),
      to: instant.optional().describe('Before (ISO 8601)'),
    }),
    response: pageSchema(auditSchema),
    handler: async ({ ctx, query }) => {
      const from = query.from ? new Date(query.from) : undefined;
      const to = query.to ? new Date(query.to) : undefined;
      if (from && to && from >= to) throw badRequest('from must be before to.', [{ path: 'query.from', message: 'not before to' }]);
      return apiPage(await served(() => listAuditPage(ctx.db, ctx.tenantId, { actor: query.actor, action: query.action, from, to }, query)), view);
    },
  }),
];
