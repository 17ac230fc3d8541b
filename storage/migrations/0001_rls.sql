-- Tenant isolation (DESIGN.md, seeds: "cross-tenant access is structurally
-- prevented by Postgres row-level-security policies").
-- Every tenant table: RLS enabled AND forced (so even the table owner is
-- subject to it), one policy keyed on app.tenant_id, which the application
-- sets with set_config(..., true) inside a transaction (storage/tenant-scope.ts).
-- With no tenant set, current_setting returns NULL or '' and nothing matches.

CREATE OR REPLACE FUNCTION smartalex_current_tenant() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;
--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users','api_keys','agents','carrier_trunks','numbers','calls','call_events',
                           'transcript_turns','recordings','contacts','do_not_call','consents','audit_log','tenant_keys']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = smartalex_current_tenant()) WITH CHECK (tenant_id = smartalex_current_tenant())', t);
  END LOOP;
END $$;
--> statement-breakpoint
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
--> statement-breakpoint
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
--> statement-breakpoint
CREATE POLICY tenant_isolation ON tenants USING (id = smartalex_current_tenant()) WITH CHECK (id = smartalex_current_tenant());
--> statement-breakpoint
-- The directory: the few lookups that must cross tenants before a tenant is
-- known (which tenant owns this called number, this API key; which tenants
-- exist, for the retention sweeper). They run as a NOLOGIN role that may only
-- read those columns, through SECURITY DEFINER functions that answer one exact
-- key at a time. The application role can execute them and nothing more.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'smartalex_directory') THEN
    CREATE ROLE smartalex_directory NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO smartalex_directory;
--> statement-breakpoint
GRANT SELECT (id) ON tenants TO smartalex_directory;
--> statement-breakpoint
GRANT SELECT (id, tenant_id, number, agent_id, allowed_cidrs, digest_username, digest_realm, digest_ha1_md5, digest_ha1_sha256) ON numbers TO smartalex_directory;
--> statement-breakpoint
GRANT SELECT (id, tenant_id, prefix, key_hash, role, revoked_at) ON api_keys TO smartalex_directory;
--> statement-breakpoint
CREATE POLICY directory_read ON tenants FOR SELECT TO smartalex_directory USING (true);
--> statement-breakpoint
CREATE POLICY directory_read ON numbers FOR SELECT TO smartalex_directory USING (true);
--> statement-breakpoint
CREATE POLICY directory_read ON api_keys FOR SELECT TO smartalex_directory USING (true);
--> statement-breakpoint
CREATE FUNCTION smartalex_route_number(called text)
  RETURNS TABLE (tenant_id uuid, number_id uuid, agent_id uuid, allowed_cidrs text[], digest_username text,
                 digest_realm text, digest_ha1_md5 text, digest_ha1_sha256 text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT n.tenant_id, n.id, n.agent_id, n.allowed_cidrs, n.digest_username, n.digest_realm, n.digest_ha1_md5, n.digest_ha1_sha256
        FROM numbers n WHERE n.number = called $$;
--> statement-breakpoint
CREATE FUNCTION smartalex_find_api_key(key_prefix text)
  RETURNS TABLE (tenant_id uuid, key_id uuid, key_hash text, role user_role, revoked boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT k.tenant_id, k.id, k.key_hash, k.role, k.revoked_at IS NOT NULL FROM api_keys k WHERE k.prefix = key_prefix $$;
--> statement-breakpoint
CREATE FUNCTION smartalex_tenant_ids() RETURNS SETOF uuid
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT id FROM tenants $$;
--> statement-breakpoint
ALTER FUNCTION smartalex_route_number(text) OWNER TO smartalex_directory;
--> statement-breakpoint
ALTER FUNCTION smartalex_find_api_key(text) OWNER TO smartalex_directory;
--> statement-breakpoint
ALTER FUNCTION smartalex_tenant_ids() OWNER TO smartalex_directory;
--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_route_number(text), smartalex_find_api_key(text), smartalex_tenant_ids() FROM PUBLIC;
