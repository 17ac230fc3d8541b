-- Contacts' custom attributes, the tenant's default country, expired exports (issue 13).
--  * contacts.attributes: a flat JSON object of the tenant's own fields about a
--    contact (string keys, string/number/boolean values; checked by the API,
--    src/resources/contact-attributes.ts). Personal data under the contacts
--    table's forced RLS like the rest of the row; never logged.
--  * tenants.default_country: the ISO 3166 alpha-2 country a number written
--    without + is read in (contact create, rectification, CSV import).
--  * api_jobs.state 'expired': an export whose ZIP was deleted when its
--    retention ended (src/gdpr/export-cleanup.ts).
ALTER TABLE "contacts" ADD COLUMN "attributes" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "contacts" ADD CONSTRAINT "contacts_attributes_object" CHECK (jsonb_typeof("contacts"."attributes") = 'object');--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "default_country" text DEFAULT 'US' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_default_country" CHECK ("tenants"."default_country" ~ '^[A-Z]{2}$');--> statement-breakpoint
ALTER TABLE "api_jobs" DROP CONSTRAINT "api_jobs_state";--> statement-breakpoint
ALTER TABLE "api_jobs" ADD CONSTRAINT "api_jobs_state" CHECK ("api_jobs"."state" in ('queued', 'running', 'done', 'failed', 'expired'));--> statement-breakpoint
CREATE INDEX "api_jobs_state_finished" ON "api_jobs" USING btree ("state","finished_at");
