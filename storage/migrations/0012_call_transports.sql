-- Carrier WebSocket media streams (issue 14): a number answered through a carrier's
-- webhook (Twilio <Connect><Stream>, Telnyx TeXML) keeps what checks that carrier's
-- request signatures: Twilio's auth token (HMAC key of X-Twilio-Signature) or
-- Telnyx's Ed25519 public key. The credential is sealed with the tenant key
-- (never plain text); `key_id` names the tenant key version that sealed it.
-- A tenant table: forced RLS with the tenant_isolation policy (0001_rls.sql).
CREATE TABLE "number_carriers" (
	"number_id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL,
	"carrier" text NOT NULL,
	"credential_sealed" "bytea" NOT NULL,
	"credential_key_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "number_carriers_carrier" CHECK ("number_carriers"."carrier" in ('twilio', 'telnyx'))
);
--> statement-breakpoint
ALTER TABLE "number_carriers" ADD CONSTRAINT "number_carriers_number_id_numbers_id_fk" FOREIGN KEY ("number_id") REFERENCES "public"."numbers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "number_carriers" ADD CONSTRAINT "number_carriers_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "number_carriers" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "number_carriers" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON "number_carriers" USING (tenant_id = smartalex_current_tenant()) WITH CHECK (tenant_id = smartalex_current_tenant());
