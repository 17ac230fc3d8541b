/**
 * Database statements of one conversation call through the real server (SIP,
 * RTP, the conversation, the recording, the call record, its transcript), as
 * the benchmark's database probe counts them (issue 17: at most 12 a call).
 * Counts, not times: what each statement is for is listed below, so a new
 * one fails this test until it is accounted for. The window holds this call's
 * statements and no other's: it starts once the warm-up call is over on the
 * server and ends once this one is (before that fix it counted the warm-up's
 * hang-up and missed this call's).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runBench, type BenchOptions } from '../../../tools/bench/run.ts';

/**
 * Not the call's: the benchmark's own reads after the calls (tenant lookup, the recordings check), and the
 * server's timer-driven work that runs whether or not there are calls (the webhook delivery worker's poll,
 * the cluster heartbeat and the leader's jobs).
 */
const BENCH_OWN = [
  /^select smartalex_tenant_ids\(\)/, /^select "id", "tenant_id", "call_id", "object_key"/,
  /^update webhook_deliveries set lease_until/, /smartalex_node_heartbeat|pg_try_advisory_lock|smartalex_reap_lost_nodes/,
];
/**
 * The node's own, on a timer whatever the calls (src/cluster): its heartbeat, the leader's reaper and its lock
 * session's check; the leader's retention sweep (src/retention.ts: first 30 s after start, which a slow run's window
 * reaches), whose expired-recordings read shares the bench's recordings check above, and its GDPR export expiry.
 */
const NODE_BACKGROUND = [
  /^select smartalex_node_heartbeat\(/, /^select node_id, calls_ended from smartalex_reap_lost_nodes\(/, /^select 1$/,
  /^update "api_jobs" set "state" = \$1 where \("api_jobs"\."state" = \$2 and "api_jobs"\."finished_at" < \$3\)/,
];

/** One call's statements and how often each runs (the transcript insert is counted apart). */
const PER_CALL: Array<[RegExp, number, number?]> = [
  [/^select \* from smartalex_route_number/, 1], // routing: the called number's tenant and agent
  [/^select "id", "tenant_id", "name", "mode"/, 1], // the agent
  [/^with "event" as \(insert into "call_events"/, 2], // call record + 'ringing'; answered + its event
  [/^select "tenant_id", "key_id", "version"/, 1], // the tenant key that wraps the recording's data key
  [/^insert into "recordings"/, 1], // recording row (retention computed in it)
  // The call's latency summary, written when the conversation ends, before the call closes: 0 only when the hang-up
  // gave up waiting for the agent (4 s, a very busy machine) and the summary came after the window (which ends once
  // the server has closed the call: tools/bench/server-probe.ts, settle). That it is written at all:
  // test/src/calls/call-session-turns.test.ts, test/e2e/conversation.test.ts.
  [/^update "calls" set "latency"/, 0, 1],
  [/^with ended as \( update calls set state = 'ended'/, 1], // ended + its event
  [/^update "recordings" set "size_bytes"/, 1], // recording completed
  // The webhook outbox (storage/repos/webhook-outbox.ts): call.started, call.answered, call.ended, transcript.completed,
  // recording.ready, each in the transaction of its change, only for a tenant with an endpoint subscribed (none here);
  // which types a tenant's endpoints want is read at most once per 5 s (0 or 1 time in this call's window).
  [/^with ep as \( select id from webhook_endpoints/, 0],
  [/^select distinct unnest\(event_types\)/, 0, 1],
  // The tenant's own concurrent call limit (storage/repos/tenant-call-limit.ts), read at admission at most once per
  // 5 s per tenant: 0 when the warm-up call's read is still fresh, 1 when this call came later (a busy machine).
  [/^select "max_concurrent_calls" from "tenants"/, 0, 1],
];

test('one conversation call runs at most 12 database statements, each accounted for', async () => {
  const options: BenchOptions = {
    number: '1000', calls: 1, turns: 1, bargeIn: false, profile: 'instant', voiceThresholdDbfs: -45, turnTimeoutMs: 8000,
    bindAddress: '127.0.0.1', thresholdPercent: 10, ramp: false, rampMax: 1, warmupCalls: 1,
  };
  const io = { stdout: { write: () => true }, stderr: { write: () => true, isTTY: false } };
  const { report } = await runBench(options, io);
  assert.is(report.calls.completed, 1);
  assert.is(report.calls.turnsReplied, 1);
  const db = report.server.database!;
  assert.is(db.backend, 'pglite');
  const byKey = db.byStatement.filter((s) => !BENCH_OWN.some((re) => re.test(s.statement)) && !NODE_BACKGROUND.some((re) => re.test(s.statement)));
  const transcript = byKey.filter((s) => s.statement.startsWith('insert into "transcript_turns"'));
  const rest = byKey.filter((s) => !s.statement.startsWith('insert into "transcript_turns"'));
  const unexpected = rest.filter((s) => !PER_CALL.some(([re]) => re.test(s.statement)));
  assert.equal(unexpected.map((s) => s.statement), [], 'statements nobody accounted for');
  for (const [re, min, max = min] of PER_CALL) {
    const found = rest.filter((s) => re.test(s.statement)).reduce((n, s) => n + s.count, 0);
    assert.ok(found >= min && found <= max, `${re}: ${found}, expected ${min === max ? min : `${min}-${max}`}`);
  }
  // The greeting, the caller's turn and the reply: queued and written together when the call ends
  // (a second insert only if the call outlived the 15 s flush interval).
  const inserts = transcript.reduce((n, s) => n + s.count, 0);
  // The call's end waits (up to 4 s) for the agent's last turns (an answer the hang-up cut short); 0 only
  // when the agent took longer than that, and the queue's 15 s flush wrote them after this window.
  assert.ok(inserts <= 2, `transcript inserts: ${inserts}`);
  // The per-tenant reads kept for 5 s (webhook event types, the call limit) are a cost per tenant per 5 s, not per
  // call: they fall in this call's window only when it came more than 5 s after the warm-up's, which on a busy
  // machine is also when the call may outlive the transcript flush. Counted above (0 or 1 each), not in the budget.
  const perTenantCached = rest.filter((s) => /^select distinct unnest\(event_types\)|^select "max_concurrent_calls" from "tenants"/.test(s.statement)).reduce((n, s) => n + s.count, 0);
  const total = rest.reduce((n, s) => n + s.count, 0) + inserts - perTenantCached;
  assert.ok(total <= 12, `statements of one call: ${total} (besides ${perTenantCached} per-tenant cached reads)`);
});

test.run();
