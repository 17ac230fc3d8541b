/**
 * /v1/contacts: create, GDPR rectification (PATCH, audited with the fields
 * that changed; custom attributes merged, null removing a key) and erasure (DELETE: the contact's recordings and consents
 * go with it; a do-not-call entry for the number stays, it is the legal
 * record that says do not call).
 */
import { z } from 'zod';
import { listContactsPage, type ContactRow } from '../../../storage/index.ts';
import { normalisePhone, phoneVariants, tenantPhoneCountry, type CountryCode } from '../../compliance/index.ts';
import { attributeChangesSchema, attributesSchema } from '../../resources/contact-attributes.ts';
import { importContacts, IMPORT_MAX_ROWS } from '../../resources/contact-import.ts';
import { createContact, eraseContact, getContact, rectifyContact } from '../../resources/contacts.ts';
import { badRequest } from '../problem.ts';
import { pageQuery, pageSchema } from '../pagination.ts';
import { defineRoute } from '../route.ts';
import { apiPage, idParam, nonEmpty, objectStore, served, who } from './resource-support.ts';

const contactSchema = z.object({
  id: z.uuid(), name: z.string().nullable(), phone: z.string().describe('E.164'), email: z.string().nullable(),
  timeZone: z.string().nullable().describe('IANA zone for calling hours; null: the tenant\'s zone applies'), createdAt: z.string(),
  attributes: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).describe('Custom attributes (personal data)'),
}).meta({ id: 'Contact' });

const view = (row: ContactRow) => ({
  id: row.id, name: row.name, phone: row.phone, email: row.email, timeZone: row.timeZone, createdAt: row.createdAt.toISOString(), attributes: row.attributes,
});

const phone = z.string().min(3).max(32).describe('Validated and normalised to E.164 on the way in: "(415) 555-0123" is stored as +14155550123 (without +, read in the tenant\'s default country, US unless set)');
const timeZone = z.string().min(1).max(64).nullable().optional().describe('IANA time zone; when omitted on create, derived from the number if its country has a single zone');
const params = idParam('contactId');

/** The largest CSV import body (text/csv or JSON {csv}). */
export const IMPORT_BODY_LIMIT = 5 * 1024 * 1024;

const importReportSchema = z.object({
  rows: z.number().int().describe('Data rows read (the header not counted)'),
  created: z.number().int(),
  skipped: z.number().int(),
  attributeColumns: z.array(z.string()).describe('Header columns other than phone, name, email and timezone: stored as custom attributes (text)'),
  errors: z.array(z.object({
    line: z.number().int().describe('1-based line of the CSV where the row starts'),
    field: z.string(),
    reason: z.string(),
    phone: z.string().optional().describe('The row\'s number, masked to its last 4 digits'),
  })).describe('Why each skipped row was skipped (the first 1000)'),
  errorsTruncated: z.boolean(),
}).meta({ id: 'ContactImportReport' });

/** The stored spellings of a phone number filter (400 when it is not one); without +, read in `country` (US unless given). */
export function phoneFilter(raw: string | undefined, country?: CountryCode): string[] | undefined {
  if (raw === undefined) return undefined;
  const canonical = normalisePhone(raw, country);
  if (!canonical) throw badRequest('phone is not a phone number.', [{ path: 'query.phone', message: 'not a phone number' }]);
  return phoneVariants(canonical);
}

export const contactRoutes = [
  defineRoute({
    method: 'GET', url: '/contacts', tag: 'contacts', summary: 'List contacts (oldest first)', permission: 'contacts:read',
    query: pageQuery.extend({ phone: z.string().min(3).max(32).optional().describe('Only this number (any spelling; without +, read in the tenant\'s default country)') }),
    response: pageSchema(contactSchema),
    handler: async ({ ctx, query }) => {
      const phones = query.phone === undefined ? undefined : phoneFilter(query.phone, await tenantPhoneCountry(ctx.db, ctx.tenantId));
      return apiPage(await served(() => listContactsPage(ctx.db, ctx.tenantId, { phones }, query)), view);
    },
  }),
  defineRoute({
    method: 'POST', url: '/contacts', tag: 'contacts', summary: 'Create a contact', permission: 'contacts:write', status: 201,
    body: z.strictObject({
      name: z.string().min(1).max(200).nullable().optional(), phone, email: z.string().min(3).max(320).nullable().optional(), timeZone, attributes: attributesSchema.optional(),
    }),
    response: contactSchema,
    handler: async ({ ctx, body }) => view(await served(() => createContact(ctx.db, ctx.tenantId, body, who(ctx)))),
  }),
  defineRoute({
    method: 'POST', url: '/contacts/import', tag: 'contacts', permission: 'contacts:write', bodyLimit: IMPORT_BODY_LIMIT,
    summary: `Import contacts from CSV (Content-Type text/csv, or JSON {csv}; header phone,name,email,timezone, any other column a custom attribute; at most ${IMPORT_MAX_ROWS} rows, 5 MiB): good rows created, bad rows skipped and reported`,
    body: z.strictObject({ csv: z.string().min(1).describe('The CSV text: a header row, then one contact per row') }),
    response: importReportSchema,
    handler: async ({ ctx, body }) => served(() => importContacts(ctx.db, ctx.tenantId, body.csv, who(ctx))),
  }),
  defineRoute({
    method: 'GET', url: '/contacts/:contactId', tag: 'contacts', summary: 'One contact', permission: 'contacts:read',
    params, response: contactSchema,
    handler: async ({ ctx, params: p }) => view(await served(() => getContact(ctx.db, ctx.tenantId, p.contactId))),
  }),
  defineRoute({
    method: 'PATCH', url: '/contacts/:contactId', tag: 'contacts', summary: 'Rectify a contact (GDPR); audited with the fields changed', permission: 'contacts:write',
    params,
    body: z.strictObject({
      name: z.string().min(1).max(200).nullable().optional(), phone: phone.optional(), email: z.string().min(3).max(320).nullable().optional(), timeZone,
      attributes: attributeChangesSchema.optional(),
    }),
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
