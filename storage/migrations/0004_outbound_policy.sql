-- Outbound calling policy (TCPA "Calling Hours" and "Consent Tracking"; the
-- rules are in src/compliance/outbound-policy.ts). One policy per tenant, so it
-- is columns on "tenants": the tenant row's forced RLS and tenant_isolation
-- policy (0001_rls.sql) and the runtime role's grants on tenants (migrate.ts)
-- already cover them; no new table, so no new grant. Window: start inclusive,
-- end exclusive ('24:00' = midnight), local time in outbound_timezone (an IANA
-- name, validated with Intl by the application; the database cannot). Defaults
-- are the TCPA's 8 a.m. to 9 p.m., every day, America/New_York, consent needed.
-- consents gets the (tenant_id, phone) index the per-call check looks up by.
ALTER TABLE "tenants" ADD COLUMN "outbound_timezone" text DEFAULT 'America/New_York' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "outbound_window_start" text DEFAULT '08:00' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "outbound_window_end" text DEFAULT '21:00' NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "outbound_days" text[] DEFAULT '{mon,tue,wed,thu,fri,sat,sun}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "tenants" ADD COLUMN "outbound_require_consent" boolean DEFAULT true NOT NULL;--> statement-breakpoint
CREATE INDEX "consents_tenant_phone" ON "consents" USING btree ("tenant_id","phone");--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_outbound_window" CHECK ("tenants"."outbound_window_start" ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$' and "tenants"."outbound_window_end" ~ '^(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$' and "tenants"."outbound_window_start" collate "C" < "tenants"."outbound_window_end" collate "C");--> statement-breakpoint
ALTER TABLE "tenants" ADD CONSTRAINT "tenants_outbound_days" CHECK (cardinality("tenants"."outbound_days") > 0 and "tenants"."outbound_days" <@ '{mon,tue,wed,thu,fri,sat,sun}'::text[]);
