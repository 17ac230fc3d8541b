-- The control plane (issue 12): users with passwords and TOTP, invitations,
-- server-side sessions, API key rotation, the tenant's 2FA requirement.
-- users: Argon2id password hashes (password_hash, existing), a TOTP secret
-- sealed by the tenant key ring (never plain text; totp_key_id names the
-- tenant key version), a pending secret while enrolment is unconfirmed, the
-- last accepted time step (a code is not reusable within its window), and a
-- disabled mark. New tenant tables (recovery codes, sessions, invitations)
-- get forced RLS and the tenant_isolation policy like 0001_rls.sql; the
-- runtime role's grants are in storage/migrate.ts. API keys gain expires_at: a
-- rotated key's old secret works until then; smartalex_find_api_key returns it
-- (a function's result type cannot change in place: dropped and made again as
-- in 0001_rls.sql). Login happens before a tenant is known, so the directory
-- gets one more SECURITY DEFINER function answering one exact e-mail address.
ALTER TABLE "tenants" ADD COLUMN "require_2fa" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "totp_secret_sealed" bytea;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "totp_key_id" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "totp_pending_sealed" bytea;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "totp_pending_key_id" text;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "totp_last_step" bigint;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "disabled_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "api_keys" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
CREATE TABLE "user_recovery_codes" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "tenant_id" uuid NOT NULL REFERENCES "tenants"("id") ON DELETE cascade,
  "user_id" uuid NOT NULL REFERENCES "users"("id") ON DELETE cascade,
  "code_hash" text NOT NULL,
  "used_at" timestamp with time zone,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
CREATE INDEX "user_recovery_codes_user" ON "user_recovery_codes" USING btree ("user_id");--> statement-breakpoint
CREATE TABLE "sessions" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "tenant_id" uuid NOT NULL REFERENCES "tenants"("id") ON DELETE cascade,
  "user_id" uuid NOT NULL REFERENCES "users"("id") ON DELETE cascade,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL,
  "last_seen_at" timestamp with time zone DEFAULT now() NOT NULL,
  "expires_at" timestamp with time zone NOT NULL,
  "revoked_at" timestamp with time zone,
  "user_agent" text,
  "source_ip" text,
  "mfa_pending" boolean DEFAULT false NOT NULL
);--> statement-breakpoint
CREATE INDEX "sessions_user" ON "sessions" USING btree ("tenant_id","user_id");--> statement-breakpoint
CREATE TABLE "invitations" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "tenant_id" uuid NOT NULL REFERENCES "tenants"("id") ON DELETE cascade,
  "email" text NOT NULL,
  "role" "user_role" NOT NULL,
  "token_hash" text NOT NULL UNIQUE,
  "user_id" uuid REFERENCES "users"("id") ON DELETE cascade,
  "created_by" text NOT NULL,
  "created_at" timestamp with time zone DEFAULT now() NOT NULL,
  "expires_at" timestamp with time zone NOT NULL,
  "accepted_at" timestamp with time zone
);--> statement-breakpoint
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['user_recovery_codes','sessions','invitations']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = smartalex_current_tenant()) WITH CHECK (tenant_id = smartalex_current_tenant())', t);
  END LOOP;
END $$;--> statement-breakpoint
GRANT SELECT (expires_at) ON api_keys TO smartalex_directory;--> statement-breakpoint
DROP FUNCTION smartalex_find_api_key(text);--> statement-breakpoint
CREATE FUNCTION smartalex_find_api_key(key_prefix text)
  RETURNS TABLE (tenant_id uuid, key_id uuid, key_hash text, role user_role, revoked boolean, expires_at timestamptz)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT k.tenant_id, k.id, k.key_hash, k.role, k.revoked_at IS NOT NULL, k.expires_at FROM api_keys k WHERE k.prefix = key_prefix $$;--> statement-breakpoint
ALTER FUNCTION smartalex_find_api_key(text) OWNER TO smartalex_directory;--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_find_api_key(text) FROM PUBLIC;--> statement-breakpoint
GRANT SELECT (id, tenant_id, email, password_hash, disabled_at, created_at) ON users TO smartalex_directory;--> statement-breakpoint
CREATE POLICY directory_read ON users FOR SELECT TO smartalex_directory USING (true);--> statement-breakpoint
CREATE FUNCTION smartalex_find_login(login_email text)
  RETURNS TABLE (tenant_id uuid, user_id uuid, password_hash text)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT u.tenant_id, u.id, u.password_hash FROM users u
        WHERE u.email = login_email AND u.disabled_at IS NULL AND u.password_hash IS NOT NULL
        ORDER BY u.created_at, u.id LIMIT 10 $$;--> statement-breakpoint
ALTER FUNCTION smartalex_find_login(text) OWNER TO smartalex_directory;--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_find_login(text) FROM PUBLIC;
