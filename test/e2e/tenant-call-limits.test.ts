/**
 * Each tenant's own concurrent call limit, over real SIP on one server (embedded PGlite, the in-memory
 * count): tenant A (limit 1) and tenant B (limit 2) under a node-wide ceiling of 3
 * (SMARTALEX_MAX_CALLS_PER_TENANT). A's second call is refused with 503 while B's second is answered;
 * `smartalex tenant update --max-concurrent-calls 5` (the real CLI, carried to the server over its admin
 * socket) lets A's next call in at once; the ceiling still holds A at 3. Each refusal is counted and
 * logged without the caller's or the called number. `tenant create --max-concurrent-calls` sets a new
 * tenant's own limit; a limit that is not a whole number from 1 up is refused in one line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { SipCallError } from '../../media/sip/index.ts';
import { createLogger } from '../../src/log.ts';
import { addNumber, createAgent, createTenant, getTenant, listAudit } from '../../storage/index.ts';
import { waitFor } from '../support/poll.ts';
import { ok, runCli } from '../src/cli/targets.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { ownCall, type OwnCall } from './support/uac.ts';

const CEILING = 3;
const CALLER = '+15550009876';
const NUMBER_A = '15557770101';
const NUMBER_B = '15557770202';

let t: TestServer;
let tenantA = '';
let tenantB = '';
const logLines: string[] = [];
const open: OwnCall[] = [];

test.before(async () => {
  t = await startTestServer({
    env: { SMARTALEX_MAX_CALLS_PER_TENANT: String(CEILING), SMARTALEX_MEDIA_THREAD: 'false' },
    logger: createLogger('info', { write: (line: string) => { logLines.push(line); } }),
  });
  for (const [name, limit, number] of [['limit-one', 1, NUMBER_A], ['limit-two', 2, NUMBER_B]] as const) {
    const tenant = await createTenant(t.db, { name, maxConcurrentCalls: limit });
    const agent = await createAgent(t.db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(t.db, tenant.id, { number, agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    if (limit === 1) tenantA = tenant.id; else tenantB = tenant.id;
  }
});

test.after(async () => {
  for (const call of open.splice(0)) await call.close().catch(() => undefined);
  await t.close();
});

/** A call to `number` that is answered (kept open until hangUpAll). */
async function answered(number: string): Promise<OwnCall> {
  const call = await ownCall(t.server.sipPort, { number, from: `sip:${CALLER}@127.0.0.1`, timeoutMs: 30_000 });
  open.push(call);
  return call;
}

/** The final status of a call to `number` that the server refuses. */
async function refused(number: string): Promise<number> {
  try {
    const call = await ownCall(t.server.sipPort, { number, from: `sip:${CALLER}@127.0.0.1`, timeoutMs: 30_000 });
    open.push(call);
  } catch (error) {
    return (error as SipCallError).status;
  }
  return 200;
}

async function hangUpAll(): Promise<void> {
  for (const call of open.splice(0)) await call.close();
  await waitFor('every call to be over', () => t.server.calls.activeCalls() === 0, { timeoutMs: 30_000 });
}

async function refusedCount(): Promise<number> {
  const metric = await t.server.metrics.getSingleMetric('smartalex_sip_calls_refused_total')!.get();
  return metric.values.find((v) => v.labels.reason === 'call-limit' && v.labels.kind === 'sip' && v.labels.direction === 'inbound')?.value ?? 0;
}

test('tenant A (limit 1) is refused its second call while tenant B (limit 2) gets its second; B is held at 2', async () => {
  await answered(NUMBER_A);
  assert.is(await refused(NUMBER_A), 503, 'A\'s second concurrent call');
  await answered(NUMBER_B);
  await answered(NUMBER_B);
  assert.is(t.server.calls.activeCalls(tenantB), 2, 'B\'s second call is up while A is at its limit');
  assert.is(await refused(NUMBER_B), 503, 'B\'s third concurrent call (its own limit, under the ceiling of 3)');
  assert.is(t.server.calls.activeCalls(tenantA), 1);
  assert.is(await refusedCount(), 2, 'both refusals counted');
  const refusals = logLines.filter((l) => l.includes('tenant is at its concurrent call limit'));
  assert.is(refusals.length, 2, 'each refusal logged once');
  const a = JSON.parse(refusals[0]!) as { tenantId: string; limit: number; kind: string };
  assert.equal([a.tenantId, a.limit, a.kind], [tenantA, 1, 'sip']);
  const all = logLines.join('\n');
  for (const secret of [CALLER.slice(1), NUMBER_A, NUMBER_B]) assert.not.ok(all.includes(secret), 'no caller or called number in the log');
  await hangUpAll();
});

test('raising A\'s limit with `smartalex tenant update` lets its next call in at once; the ceiling still holds it at 3', async () => {
  await answered(NUMBER_A);
  assert.is(await refused(NUMBER_A), 503, 'at limit 1 (read and cached by the refusal)');
  const out = ok(await runCli(['tenant', 'update', '--tenant', tenantA, '--max-concurrent-calls', '5', '--json'], { SMARTALEX_DATA_DIR: t.dir }), 'tenant update');
  assert.equal(JSON.parse(out), { tenantId: tenantA, maxConcurrentCalls: 5 });
  assert.is((await getTenant(t.db, tenantA))?.maxConcurrentCalls, 5);
  await answered(NUMBER_A);
  await answered(NUMBER_A);
  assert.is(t.server.calls.activeCalls(tenantA), 3);
  assert.is(await refused(NUMBER_A), 503, 'the fourth: SMARTALEX_MAX_CALLS_PER_TENANT (3) is lower than the tenant\'s 5');
  const audit = await listAudit(t.db, tenantA);
  const change = audit.find((e) => e.action === 'tenant.updated');
  assert.ok(change, 'the change is audited');
  assert.is(change!.actor, 'operator:cli');
  assert.equal(change!.detail, { fields: ['maxConcurrentCalls'], maxConcurrentCalls: { before: 1, after: 5 } });
  await hangUpAll();
});

test('`smartalex tenant create --max-concurrent-calls` stores the new tenant\'s own limit', async () => {
  const out = ok(await runCli(['tenant', 'create', '--name', 'Created', '--max-concurrent-calls', '7', '--json'], { SMARTALEX_DATA_DIR: t.dir }), 'tenant create');
  const { tenantId } = JSON.parse(out) as { tenantId: string };
  assert.is((await getTenant(t.db, tenantId))?.maxConcurrentCalls, 7);
});

test('the CLI refuses a limit that is not a positive whole number, in one line', async () => {
  for (const bad of ['0', '2.5', 'many', '1000001']) {
    const r = await runCli(['tenant', 'update', '--tenant', tenantB, '--max-concurrent-calls', bad], { SMARTALEX_DATA_DIR: t.dir });
    assert.is(r.code, 1, `${bad}: ${r.stderr}`);
    assert.match(r.stderr, /--max-concurrent-calls must be a whole number from 1 to/);
  }
  assert.is((await getTenant(t.db, tenantB))?.maxConcurrentCalls, 2, 'unchanged');
});

test.run();
