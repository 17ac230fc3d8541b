/**
 * /v1/contacts: create, GDPR rectification (PATCH, audited with the fields
 * that changed) and erasure (DELETE: the contact's recordings and consents
 * go with it; a do-not-call entry for the number stays, it is the legal
 * record that says do not call).
 */
import { z } from 'zod';
import { listContactsPage, type ContactRow } from '../../../storage/index.ts';
import { normalisePhone, phoneVariants } from '../../compliance/index.ts';
import { createContact, eraseContact, getContact, rectifyContact } from '../../resources/contacts.ts';
import { badRequest } from '../problem.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, nonEmpty, objectStore, served, who } from './resource-support.ts';

const contactSchema = z.object({
  id: z.uuid(), name: z.string().nullable(), phone: z.string().describe('E.164'), email: z.string().nullable(),
  timeZone: z.string().nullable().describe('IANA zone for calling hours; null: the tenant\'s zone applies'), createdAt: z.string(),
}).meta({ id: 'Contact' });

const view = (row: ContactRow) => ({ id: row.id, name: row.name, phone: row.phone, email: row.email, timeZone: row.timeZone, createdAt: row.createdAt.toISOString() });

const phone = z.string().min(3).max(32).describe('Validated and normalised to E.164 on the way in: "(415) 555-0123" is stored as +14155550123 (without +, read as a US number)');
const timeZone = z.string().min(1).max(64).nullable().optional().describe('IANA time zone; when omitted on create, derived from the number if its country has a single zone');
const params = idParam('contactId');

/** The stored spellings of a phone number filter (400 when it is not one). */
export function phoneFilter(raw: string | undefined): string[] | undefined {
  if (raw === undefined) return undefined;
  const canonical = normalisePhone(raw);
  if (!canonical) throw badRequest('phone is not a phone number.', [{ path: 'query.phone', message: 'not a phone number' }]);
  return phoneVariants(canonical);
}

export const contactRoutes = [
  defineRoute({
    method: 'GET', url: '/contacts', tag: 'contacts', summary: 'List contacts (oldest first)', permission: 'contacts:read',
    query: pageQuery.extend({ phone: z.string().min(3).max(32).optional().describe('Only this number (any spelling)') }),
    response: pageSchema(contactSchema),
    handler: async ({ ctx, query }) => apiPage(await served(() => listContactsPage(ctx.db, ctx.tenantId, { phones: phoneFilter(query.phone) }, query)), view),
  }),
  defineRoute({
    method: 'POST', url: '/contacts', tag: 'contacts', summary: 'Create a contact', permission: 'contacts:write', status: 201,
    body: z.strictObject({ name: z.string().min(1).max(200).nullable().optional(), phone, email: z.string().min(3).max(320).nullable().optional(), timeZone }),
    response: contactSchema,
    handler: async ({ ctx, body }) => view(await served(() => createContact(ctx.db, ctx.tenantId, body, who(ctx)))),
  }),
  defineRoute({
    method: 'GET', url: '/contacts/:contactId', tag: 'contacts', summary: 'One contact', permission: 'contacts:read',
    params, response: contactSchema,
    handler: async ({ ctx, params: p }) => view(await served(() => getContact(ctx.db, ctx.tenantId, p.contactId))),
  }),
  defineRoute({
    method: 'PATCH', url: '/contacts/:contactId', tag: 'contacts', summary: 'Rectify a contact (GDPR); audited with the fields changed', permission: 'contacts:write',
    params,
    body: z.strictObject({ name: z.string().min(1).max(200).nullable().optional(), phone: phone.optional(), email: z.string().min(3).max(320).nullable().optional(), timeZone }),
    response: contactSchema,
    handler: async ({ ctx, params: p, body }) => {
      nonEmpty(body);
      return view(await served(() => rectifyContact(ctx.db, ctx.tenantId, p.contactId, body, who(ctx))));
    },
  }),
  defineRoute({
    method: 'DELETE', url: '/contacts/:contactId', tag: 'contacts', summary: 'Erase a contact with its recordings and consents (a DNC entry stays)', permission: 'contacts:write', status: 204,
    params, response: z.null(),
    handler: async ({ ctx, params: p }) => {
      await served(() => eraseContact(ctx.db, objectStore(ctx), ctx.tenantId, p.contactId, who(ctx)));
      return null;
    },
  }),
];
