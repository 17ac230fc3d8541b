-- Asynchronous API jobs (issue 13): GDPR data exports started by POST /v1/gdpr/exports.
--  * api_jobs: one row per job, its state (queued -> running -> done | failed),
--    what it was asked (the data subject: contact ids and/or phone numbers, or
--    the whole tenant), who asked, the file it produced (under the server's data
--    directory, never served but through an expiring signed link), a summary of
--    the result (counts and the manifest's file count, no content) and, while it
--    runs, a lease: a job whose lease ran out was interrupted (a crash), and is
--    reported as failed rather than running forever.
-- A tenant table: forced RLS with the tenant_isolation policy (0001_rls.sql).
CREATE TABLE "api_jobs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"tenant_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"state" text DEFAULT 'queued' NOT NULL,
	"request" jsonb NOT NULL,
	"requested_by" text NOT NULL,
	"file_path" text,
	"result" jsonb,
	"error" text,
	"lease_until" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	CONSTRAINT "api_jobs_state" CHECK ("api_jobs"."state" in ('queued', 'running', 'done', 'failed')),
	CONSTRAINT "api_jobs_kind" CHECK ("api_jobs"."kind" in ('gdpr.export'))
);
--> statement-breakpoint
ALTER TABLE "api_jobs" ADD CONSTRAINT "api_jobs_tenant_id_tenants_id_fk" FOREIGN KEY ("tenant_id") REFERENCES "public"."tenants"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "api_jobs_tenant_created" ON "api_jobs" USING btree ("tenant_id","created_at");--> statement-breakpoint
ALTER TABLE "api_jobs" ENABLE ROW LEVEL SECURITY;--> statement-breakpoint
ALTER TABLE "api_jobs" FORCE ROW LEVEL SECURITY;--> statement-breakpoint
CREATE POLICY tenant_isolation ON "api_jobs" USING (tenant_id = smartalex_current_tenant()) WITH CHECK (tenant_id = smartalex_current_tenant());
