-- Cluster state (issue 16): several media nodes share one Postgres, so what
-- one process used to hold in memory lives here.
--  * cluster_nodes: one row per node process, its heartbeat and state.
--  * calls.node_id: the node that holds a call, so the call can be ended
--    ("node-lost") when that node's heartbeat stops.
--  * call_leases: one row per call in progress, the per-tenant concurrent
--    call limit counted across nodes; a lease of a node whose heartbeat is
--    stale no longer counts (it expires with its node) and the reaper deletes it.
--  * rate_limit_windows: fixed-window request counters shared by every node
--    (the recording link routes' per-source limit).
-- None of these tables is granted to the runtime role. It reaches them only
-- through the SECURITY DEFINER functions below, owned by the NOLOGIN role
-- smartalex_cluster (like the directory in 0001_rls.sql); migrate.ts grants
-- EXECUTE on them to the runtime role. call_leases has a tenant_id, so it has
-- forced RLS and a tenant_isolation policy like every tenant table, plus a
-- policy for smartalex_cluster, which counts and reaps across tenants.
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'smartalex_cluster') THEN
    CREATE ROLE smartalex_cluster NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END $$;
--> statement-breakpoint
CREATE TABLE "cluster_nodes" (
	"id" text PRIMARY KEY NOT NULL,
	"sip_uri" text,
	"state" text DEFAULT 'running' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "cluster_nodes_state" CHECK ("cluster_nodes"."state" in ('running', 'draining', 'stopped', 'lost'))
);
--> statement-breakpoint
ALTER TABLE "calls" ADD COLUMN "node_id" text;--> statement-breakpoint
CREATE INDEX "calls_node_open" ON "calls" USING btree ("node_id") WHERE "calls"."ended_at" is null;--> statement-breakpoint
CREATE TABLE "call_leases" (
	"id" uuid PRIMARY KEY NOT NULL,
	"tenant_id" uuid NOT NULL REFERENCES "tenants"("id") ON DELETE cascade,
	"node_id" text NOT NULL REFERENCES "cluster_nodes"("id") ON DELETE cascade,
	"acquired_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "call_leases_tenant" ON "call_leases" USING btree ("tenant_id");--> statement-breakpoint
CREATE INDEX "call_leases_node" ON "call_leases" USING btree ("node_id");--> statement-breakpoint
CREATE TABLE "rate_limit_windows" (
	"bucket" text PRIMARY KEY NOT NULL,
	"window_start" timestamp with time zone DEFAULT now() NOT NULL,
	"hits" integer DEFAULT 1 NOT NULL
);
--> statement-breakpoint
ALTER TABLE call_leases ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE call_leases FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON call_leases USING (tenant_id = smartalex_current_tenant()) WITH CHECK (tenant_id = smartalex_current_tenant());--> statement-breakpoint
CREATE POLICY cluster_all ON call_leases TO smartalex_cluster USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY cluster_reap ON calls FOR SELECT TO smartalex_cluster USING (true);--> statement-breakpoint
CREATE POLICY cluster_reap_update ON calls FOR UPDATE TO smartalex_cluster USING (true) WITH CHECK (true);--> statement-breakpoint
CREATE POLICY cluster_reap_events ON call_events FOR INSERT TO smartalex_cluster WITH CHECK (true);--> statement-breakpoint
GRANT USAGE ON SCHEMA public TO smartalex_cluster;--> statement-breakpoint
GRANT SELECT, INSERT, UPDATE, DELETE ON cluster_nodes, call_leases, rate_limit_windows TO smartalex_cluster;--> statement-breakpoint
GRANT SELECT (id, tenant_id, node_id, ended_at), UPDATE (state, ended_at, end_reason) ON calls TO smartalex_cluster;--> statement-breakpoint
GRANT INSERT (tenant_id, call_id, type, data) ON call_events TO smartalex_cluster;--> statement-breakpoint
GRANT USAGE ON SEQUENCE call_events_id_seq TO smartalex_cluster;--> statement-breakpoint
-- A node says it is alive (and whether it takes calls); a node marked lost that comes back is running again.
CREATE FUNCTION smartalex_node_heartbeat(node text, node_sip_uri text, node_state text) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ INSERT INTO cluster_nodes (id, sip_uri, state) VALUES (node, node_sip_uri, node_state)
        ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), state = excluded.state, sip_uri = excluded.sip_uri $$;
--> statement-breakpoint
-- One call lease for the tenant unless its live leases (on nodes whose heartbeat is fresh) are at max_calls.
-- The advisory lock, held to the end of the caller's transaction, makes count-then-insert atomic per tenant.
CREATE FUNCTION smartalex_acquire_call_lease(tenant uuid, node text, lease uuid, max_calls integer, stale_after_ms integer) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE live integer;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('smartalex.call-lease'), hashtext(tenant::text));
  SELECT count(*) INTO live FROM call_leases l JOIN cluster_nodes n ON n.id = l.node_id
    WHERE l.tenant_id = tenant AND n.state IN ('running', 'draining')
      AND n.heartbeat_at > now() - make_interval(secs => stale_after_ms / 1000.0);
  IF live >= max_calls THEN RETURN false; END IF;
  INSERT INTO call_leases (id, tenant_id, node_id) VALUES (lease, tenant, node);
  RETURN true;
END $$;
--> statement-breakpoint
CREATE FUNCTION smartalex_release_call_lease(lease uuid) RETURNS void
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ DELETE FROM call_leases WHERE id = lease $$;
--> statement-breakpoint
-- Ends every open call of `node` (reason `reason`), drops its leases and sets its state; returns the calls ended.
CREATE FUNCTION smartalex_end_node(node text, node_state text, reason text) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE ended integer;
BEGIN
  UPDATE cluster_nodes SET state = node_state WHERE id = node;
  DELETE FROM call_leases WHERE node_id = node;
  WITH gone AS (
    UPDATE calls SET state = 'ended', ended_at = now(), end_reason = reason
      WHERE node_id = node AND ended_at IS NULL RETURNING id, tenant_id
  ), logged AS (
    INSERT INTO call_events (tenant_id, call_id, type, data)
      SELECT tenant_id, id, 'state', jsonb_build_object('state', 'ended', 'reason', reason) FROM gone
  ) SELECT count(*) INTO ended FROM gone;
  RETURN ended;
END $$;
--> statement-breakpoint
-- The reaper: every node whose heartbeat is older than stale_after_ms is lost, its calls end as `node-lost`.
-- Also forgets rate-limit windows over a day old and nodes gone for a week.
CREATE FUNCTION smartalex_reap_lost_nodes(stale_after_ms integer) RETURNS TABLE (node_id text, calls_ended integer)
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$
DECLARE n record;
BEGIN
  DELETE FROM rate_limit_windows WHERE window_start < now() - interval '1 day';
  DELETE FROM cluster_nodes c WHERE c.state IN ('stopped', 'lost') AND c.heartbeat_at < now() - interval '7 days'
    AND NOT EXISTS (SELECT 1 FROM calls WHERE calls.node_id = c.id AND calls.ended_at IS NULL);
  FOR n IN SELECT c.id FROM cluster_nodes c
      WHERE c.state IN ('running', 'draining') AND c.heartbeat_at < now() - make_interval(secs => stale_after_ms / 1000.0)
      FOR UPDATE SKIP LOCKED
  LOOP
    node_id := n.id;
    calls_ended := smartalex_end_node(n.id, 'lost', 'node-lost');
    RETURN NEXT;
  END LOOP;
END $$;
--> statement-breakpoint
-- One hit on a fixed window of window_ms for `bucket`: the hits so far in the window and the ms left in it.
CREATE FUNCTION smartalex_rate_limit_hit(bucket_key text, window_ms integer) RETURNS TABLE (hits integer, ttl_ms integer)
  LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = public, pg_temp
  AS $$ INSERT INTO rate_limit_windows AS w (bucket, window_start, hits) VALUES (bucket_key, now(), 1)
        ON CONFLICT (bucket) DO UPDATE SET
          hits = CASE WHEN w.window_start + make_interval(secs => window_ms / 1000.0) <= now() THEN 1 ELSE w.hits + 1 END,
          window_start = CASE WHEN w.window_start + make_interval(secs => window_ms / 1000.0) <= now() THEN now() ELSE w.window_start END
        RETURNING w.hits, greatest(0, ceil(extract(epoch FROM (w.window_start + make_interval(secs => window_ms / 1000.0) - now())) * 1000))::integer $$;
--> statement-breakpoint
ALTER FUNCTION smartalex_node_heartbeat(text, text, text) OWNER TO smartalex_cluster;--> statement-breakpoint
ALTER FUNCTION smartalex_acquire_call_lease(uuid, text, uuid, integer, integer) OWNER TO smartalex_cluster;--> statement-breakpoint
ALTER FUNCTION smartalex_release_call_lease(uuid) OWNER TO smartalex_cluster;--> statement-breakpoint
ALTER FUNCTION smartalex_end_node(text, text, text) OWNER TO smartalex_cluster;--> statement-breakpoint
ALTER FUNCTION smartalex_reap_lost_nodes(integer) OWNER TO smartalex_cluster;--> statement-breakpoint
ALTER FUNCTION smartalex_rate_limit_hit(text, integer) OWNER TO smartalex_cluster;--> statement-breakpoint
REVOKE ALL ON FUNCTION smartalex_node_heartbeat(text, text, text), smartalex_acquire_call_lease(uuid, text, uuid, integer, integer),
  smartalex_release_call_lease(uuid), smartalex_end_node(text, text, text), smartalex_reap_lost_nodes(integer),
  smartalex_rate_limit_hit(text, integer) FROM PUBLIC;
