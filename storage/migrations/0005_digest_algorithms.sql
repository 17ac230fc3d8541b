-- Per-number SIP digest algorithms (issue 11 item 13, issue 22 item 3): the
-- algorithms a number's 401 offers, in order, and the only ones it accepts.
-- NULL follows the server default (SMARTALEX_SIP_DIGEST_ALGORITHMS), so a
-- changed default reaches every number that did not choose. The check keeps
-- the list to one or two distinct known names. "numbers" already has forced
-- RLS and its tenant_isolation policy (0001_rls.sql); the call admission reads
-- the column through the directory function, so the directory role gets the
-- column and smartalex_route_number returns it. A function's result type
-- cannot be changed in place, so it is dropped and made again exactly as in
-- 0001_rls.sql (SECURITY DEFINER, owned by smartalex_directory, not PUBLIC);
-- migrate.ts grants EXECUTE to the runtime role on every start.
ALTER TABLE "numbers" ADD COLUMN "digest_algorithms" text[];--> statement-breakpoint
ALTER TABLE "numbers" ADD CONSTRAINT "numbers_digest_algorithms" CHECK ("numbers"."digest_algorithms" is null or (cardinality("numbers"."digest_algorithms") between 1 and 2 and "numbers"."digest_algorithms" <@ '{MD5,SHA-256}'::text[] and "numbers"."digest_algorithms"[1] is distinct from "numbers"."digest_algorithms"[2]));--> statement-breakpoint
GRANT SELECT (digest_algorithms) ON numbers TO smartalex_directory;--> statement-breakpoint
DROP FUNCTION smartalex_route_number(text);--> statement-breakpoint
CREATE FUNCTION smartalex_route_number(called text)
  RETURNS TABLE (tenant_id uuid, number_id uuid, agent_id uuid, allowed_cidrs text[], digest_username text,
                 digest_realm text, digest_ha1_md5 text, digest_ha1_sha256 text, digest_algorithms text[])
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT n.tenant_id, n.id, n.agent_id, n.allowed_cidrs, n.digest_username, n.digest_realm, n.digest_ha1_md5, n.digest_ha1_sha256,
               n.digest_algorithms
        FROM numbers n WHERE n.number = called $$;--> statement-breakpoint
ALTER FUNCTION smartalex_route_number(text) OWNER TO smartalex_directory;--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_route_number(text) FROM PUBLIC;
