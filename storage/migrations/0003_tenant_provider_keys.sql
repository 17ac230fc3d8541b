CREATE TABLE "tenant_provider_keys" (
	"tenant_id" uuid NOT NULL,
	"provider" text NOT NULL,
	"sealed" "bytea" NOT NULL,
	"key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "tenant_provider_keys_pkey" PRIMARY KEY("tenant_id","provider"),
	CONSTRAINT "tenant_provider_keys_provider" CHECK ("tenant_provider_keys"."provider" in ('deepgram', 'openai'))
);
--> statement-breakpoint
ALTER TABLE "tenant_provider_keys" ADD CONSTRAINT "tenant_provider_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
-- Tenant isolation, as for every tenant table (0001_rls.sql).
ALTER TABLE "tenant_provider_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "tenant_provider_keys" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON "tenant_provider_keys" USING (tenant_id = smartalex_current_tenant()) WITH CHECK (tenant_id = smartalex_current_tenant());
