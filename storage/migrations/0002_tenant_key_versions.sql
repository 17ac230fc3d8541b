-- Tenant keys get versions (rotation adds a row per version) and outlive the
-- tenant as tombstones after crypto-shredding, so the key is (tenant_id,
-- key_id) and the foreign key to tenants goes. Recordings gain completed_at
-- and an optional contact (deleting the contact deletes its recordings).
ALTER TABLE "tenant_keys" DROP CONSTRAINT "tenant_keys_tenant_id_tenants_id_fk";--> statement-breakpoint
ALTER TABLE "tenant_keys" DROP CONSTRAINT "tenant_keys_pkey";--> statement-breakpoint
ALTER TABLE "tenant_keys" ADD CONSTRAINT "tenant_keys_tenant_key" PRIMARY KEY("tenant_id","key_id");--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "completed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "recordings" ADD COLUMN "contact_id" uuid;--> statement-breakpoint
ALTER TABLE "recordings" ADD CONSTRAINT "recordings_contact_id_contacts_id_fk" FOREIGN KEY ("contact_id") REFERENCES "public"."contacts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "recordings_call" ON "recordings" USING btree ("call_id");--> statement-breakpoint
CREATE INDEX "recordings_contact" ON "recordings" USING btree ("contact_id");--> statement-breakpoint
CREATE UNIQUE INDEX "tenant_keys_tenant_version" ON "tenant_keys" USING btree ("tenant_id","version");--> statement-breakpoint
-- Constraint changes keep the table's RLS and its tenant_isolation policy
-- (0001_rls.sql); restated so this migration alone shows tenant_keys stays forced.
ALTER TABLE "tenant_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenant_keys" FORCE ROW LEVEL SECURITY;
