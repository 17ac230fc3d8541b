/**
 * /v1/dnc and /v1/consents: the tenant's do-not-call list and consent
 * records (src/compliance/lists.ts, the functions the CLI uses). Numbers are
 * normalised on the way in, one without + read in the tenant's default
 * country (as contacts are); the audit log gets them masked.
 */
import { z } from 'zod';
import { listConsentPage, listDoNotCallPage, type ConsentRow, type DoNotCallRow } from '../../../storage/index.ts';
import { addToDoNotCall, grantConsent, removeDoNotCallById, revokeConsentById, tenantPhoneCountry } from '../../compliance/index.ts';
import { getContact } from '../../resources/contacts.ts';
import { invalid, notFound as missing, ResourceError } from '../../resources/errors.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { phoneFilter } from './contacts.ts';
import { apiPage, idParam, iso, served, who } from './resource-support.ts';

const dncSchema = z.object({ id: z.uuid(), phone: z.string(), reason: z.string().nullable(), createdAt: z.string() }).meta({ id: 'DoNotCallEntry' });
const dncView = (row: DoNotCallRow) => ({ id: row.id, phone: row.phone, reason: row.reason, createdAt: row.createdAt.toISOString() });

const consentSchema = z.object({
  id: z.uuid(), phone: z.string(), kind: z.string(), source: z.string().nullable(), contactId: z.uuid().nullable(),
  grantedAt: z.string(), revokedAt: z.string().nullable(),
}).meta({ id: 'Consent' });
const consentView = (row: ConsentRow) => ({
  id: row.id, phone: row.phone, kind: row.kind, source: row.source, contactId: row.contactId, grantedAt: row.grantedAt.toISOString(), revokedAt: iso(row.revokedAt),
});

const phone = z.string().min(3).max(32).describe('Normalised to E.164 on the way in (without +, read in the tenant\'s default country, US unless set)');
const kind = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/).describe('What was consented to; only "outbound-call" (the default) permits calls');

export const complianceRoutes = [
  defineRoute({
    method: 'GET', url: '/dnc', tag: 'compliance', summary: 'The do-not-call list (oldest first)', permission: 'dnc:read',
    query: pageQuery.extend({ phone: phone.optional().describe('Only this number (any spelling; without +, read in the tenant\'s default country)') }),
    response: pageSchema(dncSchema),
    handler: async ({ ctx, query }) => {
      const phones = query.phone === undefined ? undefined : phoneFilter(query.phone, await tenantPhoneCountry(ctx.db, ctx.tenantId));
      return apiPage(await served(() => listDoNotCallPage(ctx.db, ctx.tenantId, { phones }, query)), dncView);
    },
  }),
  defineRoute({
    method: 'POST', url: '/dnc', tag: 'compliance', summary: 'Add a number to the do-not-call list (idempotent: added is false when it was already there)', permission: 'dnc:write',
    body: z.strictObject({ phone, reason: z.string().min(1).max(200).optional() }),
    response: dncSchema.extend({ added: z.boolean() }),
    handler: async ({ ctx, body }) => {
      const result = await served(() => addToDoNotCall(ctx.db, ctx.tenantId, body.phone, { reason: body.reason, actor: ctx.actor, sourceIp: ctx.sourceIp }));
      return { ...dncView(result.row), added: result.added };
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/dnc/:entryId', tag: 'compliance', summary: 'Take a number off the do-not-call list (every spelling of it)', permission: 'dnc:write', status: 204,
    params: idParam('entryId'), response: z.null(),
    handler: async ({ ctx, params: p }) => {
      const removed = await removeDoNotCallById(ctx.db, ctx.tenantId, p.entryId, { actor: ctx.actor, sourceIp: ctx.sourceIp });
      if (!removed) await served(() => Promise.reject(missing('do-not-call entry')));
      return null;
    },
  }),
  defineRoute({
    method: 'GET', url: '/consents', tag: 'compliance', summary: 'Consent records (newest first; in force only unless includeRevoked)', permission: 'consents:read',
    query: pageQuery.extend({
      includeRevoked: z.enum(['true', 'false']).optional(),
      phone: phone.optional().describe('Only this number (any spelling; without +, read in the tenant\'s default country)'),
      contactId: z.uuid().optional(),
    }),
    response: pageSchema(consentSchema),
    handler: async ({ ctx, query }) => {
      const phones = query.phone === undefined ? undefined : phoneFilter(query.phone, await tenantPhoneCountry(ctx.db, ctx.tenantId));
      return apiPage(await served(() => listConsentPage(ctx.db, ctx.tenantId, { includeRevoked: query.includeRevoked === 'true', phones, contactId: query.contactId }, query)), consentView);
    },
  }),
  defineRoute({
    method: 'POST', url: '/consents', tag: 'compliance', summary: 'Record prior consent (idempotent: added is false and the record in force is returned when there is one)', permission: 'consents:write',
    body: z.strictObject({
      phone,
      source: z.string().min(1).max(200).describe('Where the consent came from (web form, recorded call, signed paper...)'),
      kind: kind.optional(),
      contactId: z.uuid().optional(),
    }),
    response: consentSchema.extend({ added: z.boolean() }),
    handler: async ({ ctx, body }) => {
      const result = await served(async () => {
        if (body.contactId) {
          try {
            await getContact(ctx.db, ctx.tenantId, body.contactId);
          } catch (error) {
            if (error instanceof ResourceError) throw invalid('contactId names no contact of this tenant', 'contactId');
            throw error;
          }
        }
        if (!body.source.trim()) throw invalid('source must say where the consent came from', 'source');
        return grantConsent(ctx.db, ctx.tenantId, body.phone, { source: body.source, kind: body.kind, contactId: body.contactId, actor: ctx.actor, sourceIp: ctx.sourceIp });
      });
      return { ...consentView(result.row), added: result.added };
    },
  }),
  defineRoute({
    method: 'POST', url: '/consents/:consentId/revoke', tag: 'compliance', summary: 'Withdraw consent (the record is kept, with revokedAt set)', permission: 'consents:write',
    params: idParam('consentId'), body: z.strictObject({}),
    response: consentSchema,
    handler: async ({ ctx, params: p }) => {
      const result = await revokeConsentById(ctx.db, ctx.tenantId, p.consentId, { actor: ctx.actor, sourceIp: ctx.sourceIp });
      if (!result) return served(() => Promise.reject(missing('consent')));
      return consentView(result.row);
    },
  }),
];
