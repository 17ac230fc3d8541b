-- SRTP on SIP trunks (issue 14, Codecs): a number can require SRTP. With
-- require_srtp a call to it is answered only with RTP/SAVP (SDES keys, RFC
-- 4568) over SIP TLS; a plain RTP offer, or any offer over UDP/TCP, gets 488.
-- "numbers" already has forced RLS and its tenant_isolation policy
-- (0001_rls.sql); call admission reads the column through the directory
-- function, so the directory role gets the column and smartalex_route_number
-- returns it. A function's result type cannot be changed in place, so it is
-- dropped and made again as in 0005_digest_algorithms.sql (SECURITY DEFINER,
-- owned by smartalex_directory, not PUBLIC); migrate.ts grants EXECUTE to the
-- runtime role on every start.
ALTER TABLE "numbers" ADD COLUMN "require_srtp" boolean DEFAULT false NOT NULL;--> statement-breakpoint
GRANT SELECT (require_srtp) ON numbers TO smartalex_directory;--> statement-breakpoint
DROP FUNCTION smartalex_route_number(text);--> statement-breakpoint
CREATE FUNCTION smartalex_route_number(called text)
  RETURNS TABLE (tenant_id uuid, number_id uuid, agent_id uuid, allowed_cidrs text[], digest_username text,
                 digest_realm text, digest_ha1_md5 text, digest_ha1_sha256 text, digest_algorithms text[], require_srtp boolean)
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ SELECT n.tenant_id, n.id, n.agent_id, n.allowed_cidrs, n.digest_username, n.digest_realm, n.digest_ha1_md5, n.digest_ha1_sha256,
               n.digest_algorithms, n.require_srtp
        FROM numbers n WHERE n.number = called $$;--> statement-breakpoint
ALTER FUNCTION smartalex_route_number(text) OWNER TO smartalex_directory;--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_route_number(text) FROM PUBLIC;
