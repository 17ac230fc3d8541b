-- Web-widget keys and single-use call tokens across nodes (issue 14).
--  * widget_keys: a tenant's public per-agent key that a customer's web page
--    embeds to start browser calls. Not a secret (it ships in the page): the
--    origin allowlist, rate limits, the tenant's call limit and revocation
--    protect it. A tenant table: forced RLS with the tenant_isolation policy
--    (0001_rls.sql). The public route finds a key before any tenant is known
--    through smartalex_find_widget_key, a directory function (0001_rls.sql)
--    answering one exact key.
--  * used_call_tokens: the ids of WebRTC call tokens already used, each kept
--    until its token expires, so a token starts one call across the cluster.
--    Reached only through smartalex_claim_call_token (SECURITY DEFINER, owned
--    by smartalex_cluster like the functions of 0009_cluster.sql).
CREATE TABLE "widget_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"agent_id" uuid NOT NULL,
	"key" text NOT NULL,
	"name" text,
	"allowed_origins" text[] NOT NULL,
	"created_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	CONSTRAINT "widget_keys_key_unique" UNIQUE("key"),
	CONSTRAINT "widget_keys_origins" CHECK (cardinality("widget_keys"."allowed_origins") > 0)
);
--> statement-breakpoint
ALTER TABLE "widget_keys" ADD CONSTRAINT "widget_keys_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "widget_keys" ADD CONSTRAINT "widget_keys_agent_id_agents_id_fk" FOREIGN KEY ("agent_id") REFERENCES "public"."agents"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "widget_keys_agent_created" ON "widget_keys" USING btree ("agent_id","created_at");--> statement-breakpoint
ALTER TABLE "widget_keys" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "widget_keys" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON "widget_keys" USING (tenant_id = smartalex_current_tenant()) WITH CHECK (tenant_id = smartalex_current_tenant());--> statement-breakpoint
GRANT SELECT (id, tenant_id, agent_id, key, allowed_origins, revoked_at) ON widget_keys TO smartalex_directory;--> statement-breakpoint
CREATE POLICY directory_read ON widget_keys FOR SELECT TO smartalex_directory USING (true);--> statement-breakpoint
CREATE FUNCTION smartalex_find_widget_key(widget_key text)
  RETURNS TABLE (tenant_id uuid, key_id uuid, agent_id uuid, allowed_origins text[], revoked boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT k.tenant_id, k.id, k.agent_id, k.allowed_origins, k.revoked_at IS NOT NULL FROM widget_keys k WHERE k.key = widget_key $$;
--> statement-breakpoint
ALTER FUNCTION smartalex_find_widget_key(text) OWNER TO smartalex_directory;--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_find_widget_key(text) FROM PUBLIC;--> statement-breakpoint
CREATE TABLE "used_call_tokens" (
	"token_id" text PRIMARY KEY NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "used_call_tokens_expires" ON "used_call_tokens" USING btree ("expires_at");--> statement-breakpoint
GRANT SELECT, INSERT, DELETE ON used_call_tokens TO smartalex_cluster;--> statement-breakpoint
-- True the first time a token id is claimed (before it expires); false for a replay. Expired ids go on the way.
CREATE FUNCTION smartalex_claim_call_token(token text, token_expires_at timestamptz) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE claimed boolean;
BEGIN
  DELETE FROM used_call_tokens WHERE expires_at <= now();
  INSERT INTO used_call_tokens (token_id, expires_at) VALUES (token, token_expires_at) ON CONFLICT (token_id) DO NOTHING RETURNING true INTO claimed;
  RETURN coalesce(claimed, false);
END $$;
--> statement-breakpoint
ALTER FUNCTION smartalex_claim_call_token(text, timestamptz) OWNER TO smartalex_cluster;--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_claim_call_token(text, timestamptz) FROM PUBLIC;
