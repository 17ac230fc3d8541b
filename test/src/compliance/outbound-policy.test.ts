/**
 * The outbound check against a real database, on PGlite and on a Postgres
 * server: the policy's defaults and validation, do-not-call (any spelling,
 * over consent), consent (revoked or of another kind does not count; not
 * needed when the policy says so), calling hours with a fixed `now` in two
 * time zones, weekdays, caller ID (the tenant's own numbers only; the default
 * is its first number), another tenant's rows invisible (RLS), and every
 * refusal in the audit log with the callee masked to its last 4 digits.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { sql } from 'drizzle-orm';
import {
  addNumber, createAgent, createTenant, listAudit, rows, schema, withTenant, type Database,
} from '../../../storage/index.ts';
import {
  addToDoNotCall, assertOutboundAllowed, checkOutboundCall, getCallingPolicy, grantConsent, listConsents, listDoNotCall, OutboundRefusedError,
  removeFromDoNotCall, revokeConsent, setCallingPolicy,
} from '../../../src/compliance/index.ts';
import { backends } from '../../support/databases.ts';
import { rejection } from '../../storage/vault/support/helpers.ts';

const NOON = new Date('2026-06-10T16:00:00Z'); // Wednesday 12:00 in New York, 09:00 in Los Angeles
const CALLEE = '+12125550123';

/** "<error name>: <message>" of what `work` rejects with (the compliance errors name their class). */
const failure = async (work: Promise<unknown>): Promise<string> => String(await rejection(work));

async function tenantWithNumbers(db: Database, name: string, numbers: string[]): Promise<string> {
  const tenant = await createTenant(db, { name });
  const agent = await createAgent(db, tenant.id, { name: `${name}-agent`, mode: 'echo' });
  for (const number of numbers) await addNumber(db, tenant.id, { number, agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  return tenant.id;
}

const reasonOf = async (db: Database, tenantId: string, input: { number: string; from?: string; now?: Date }): Promise<string> => {
  const d = await checkOutboundCall(db, tenantId, { now: NOON, ...input });
  return d.allowed ? `allowed:${d.callerNumber}` : d.reason;
};

for (const backend of await backends()) {
  const db = await backend.open();
  // An extension first, then a full number: the full number is the default caller ID.
  const a = await tenantWithNumbers(db, 'a', ['2000', '+12125550100', '+12125550101']);
  const b = await tenantWithNumbers(db, 'b', ['+13105550199']);

  test(`[${backend.name}] the policy: TCPA defaults, validated changes, the database's checks behind them`, async () => {
    assert.equal(await getCallingPolicy(db, a), {
      timezone: 'America/New_York', windowStart: '08:00', windowEnd: '21:00', days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], requireConsent: true,
    });
    const c = await tenantWithNumbers(db, 'c', []);
    assert.match(await failure(setCallingPolicy(db, c, { timezone: 'Mars/Olympus' })), /^CallingPolicyError: unknown time zone "Mars\/Olympus"/);
    assert.match(await failure(setCallingPolicy(db, c, { windowStart: '8am' })), /^CallingPolicyError: start must be HH:MM/);
    assert.match(await failure(setCallingPolicy(db, c, { windowStart: '21:00' })), /^CallingPolicyError: the window must start before it ends/);
    assert.match(await failure(setCallingPolicy(db, c, { windowEnd: '24:01' })), /^CallingPolicyError: end must be HH:MM/);
    const set = await setCallingPolicy(db, c, { timezone: 'america/los_angeles', windowStart: '09:00', windowEnd: '24:00', days: ['fri', 'mon'], requireConsent: false }, { actor: 'test' });
    assert.equal(set, { timezone: 'America/Los_Angeles', windowStart: '09:00', windowEnd: '24:00', days: ['mon', 'fri'], requireConsent: false });
    assert.equal(await getCallingPolicy(db, c), set);
    // Only what was given changes.
    assert.equal(await setCallingPolicy(db, c, { windowEnd: '20:00' }), { ...set, windowEnd: '20:00' });
    const audited = await listAudit(db, c);
    assert.equal(audited.map((r) => r.action), ['outbound_policy.updated', 'outbound_policy.updated']);
    // The database refuses a malformed window or an unknown day even without the application's checks: its check constraints say so.
    const checks: [ReturnType<typeof sql>, string][] = [
      [sql`outbound_window_start = '25:00'`, 'tenants_outbound_window'], [sql`outbound_window_end = '07:00'`, 'tenants_outbound_window'],
      [sql`outbound_days = '{mon,funday}'`, 'tenants_outbound_days'], [sql`outbound_days = '{}'`, 'tenants_outbound_days'],
    ];
    for (const [bad, constraint] of checks) {
      const error = await rejection(withTenant(db, c, (tx) => tx.execute(sql`update tenants set ${bad} where id = ${c}`)));
      assert.match(String((error as { cause?: unknown }).cause ?? error), constraint);
    }
    assert.match(await failure(getCallingPolicy(db, '00000000-0000-4000-8000-000000000000')), /^CallingPolicyError: no tenant /);
    assert.match(await failure(checkOutboundCall(db, '00000000-0000-4000-8000-000000000000', { number: CALLEE })), /^CallingPolicyError: no tenant /);
  });

  test(`[${backend.name}] consent: required by default; revoked or another kind does not count`, async () => {
    assert.is(await reasonOf(db, a, { number: CALLEE }), 'no-consent');
    await grantConsent(db, a, CALLEE, { source: 'web form', kind: 'marketing-email' });
    await grantConsent(db, a, CALLEE, { source: 'web form', kind: 'outbound-calls' });
    assert.is(await reasonOf(db, a, { number: CALLEE }), 'no-consent', 'consent of another kind');
    const granted = await grantConsent(db, a, '(212) 555-0123', { source: 'recorded call 2026-06-01' });
    assert.equal({ phone: granted.phone, added: granted.added, kind: granted.row.kind }, { phone: CALLEE, added: true, kind: 'outbound-call' });
    assert.is((await grantConsent(db, a, '212.555.0123', { source: 'again' })).added, false, 'one consent in force is enough');
    assert.is(await reasonOf(db, a, { number: '212-555-0123' }), 'allowed:+12125550100');
    assert.is(await reasonOf(db, a, { number: '2125550123' }), 'allowed:+12125550100');
    assert.equal(await revokeConsent(db, a, '1 212 555 0123'), { phone: CALLEE, revoked: 1 });
    assert.is(await reasonOf(db, a, { number: CALLEE }), 'no-consent', 'revoked');
    assert.equal(await revokeConsent(db, a, CALLEE), { phone: CALLEE, revoked: 0 });
    const all = await listConsents(db, a, { includeRevoked: true });
    assert.is(all.filter((c) => c.kind === 'outbound-call' && c.revokedAt).length, 1, 'the revoked record is kept');
    assert.is((await listConsents(db, a)).filter((c) => c.kind === 'outbound-call').length, 0);
    // A row stored as bare digits (not written through grantConsent) still counts.
    await withTenant(db, a, (tx) => tx.insert(schema.consents).values({ tenantId: a, phone: '2125550177', kind: 'outbound-call' }));
    assert.is(await reasonOf(db, a, { number: '+1 212 555 0177' }), 'allowed:+12125550100');
    // Granted again after a revocation: a new record.
    assert.is((await grantConsent(db, a, CALLEE, { source: 'second call' })).added, true);
    assert.is(await reasonOf(db, a, { number: CALLEE }), 'allowed:+12125550100');
    const invalid = await failure(grantConsent(db, a, 'call me', { source: 'x' }));
    assert.match(invalid, /^InvalidPhoneError: not a phone number/);
    assert.not.ok(invalid.includes('call me'), 'the refusal repeats the number');
    assert.match(await failure(grantConsent(db, a, CALLEE, { source: ' ' })), /say where the consent came from/);
  });

  test(`[${backend.name}] consent not required: allowed without it`, async () => {
    const c = await tenantWithNumbers(db, 'no-consent-needed', ['+16175550100']);
    assert.is(await reasonOf(db, c, { number: '+16175550111' }), 'no-consent');
    await setCallingPolicy(db, c, { requireConsent: false });
    assert.is(await reasonOf(db, c, { number: '+16175550111' }), 'allowed:+16175550100');
  });

  test(`[${backend.name}] do-not-call: any spelling, wins over consent, removable`, async () => {
    assert.is(await reasonOf(db, a, { number: CALLEE }), 'allowed:+12125550100', 'consent in force');
    const added = await addToDoNotCall(db, a, '212.555.0123', { reason: 'asked on call' });
    assert.equal([added.phone, added.added, added.row.phone, added.row.reason], [CALLEE, true, CALLEE, 'asked on call']);
    const again = await addToDoNotCall(db, a, '(212) 555-0123');
    assert.equal([again.phone, again.added, again.row.id], [CALLEE, false, added.row.id], 'the first entry is kept and returned');
    for (const spelling of [CALLEE, '2125550123', '(212) 555-0123', '1-212-555-0123']) {
      assert.is(await reasonOf(db, a, { number: spelling }), 'do-not-call', spelling);
    }
    const refusal = await rejection(assertOutboundAllowed(db, a, { number: CALLEE, now: NOON }));
    assert.instance(refusal, OutboundRefusedError);
    assert.is((refusal as OutboundRefusedError).reason, 'do-not-call');
    assert.is((refusal as Error).message, 'outbound call refused (do-not-call): the number ending 0123 is on the tenant\'s do-not-call list');
    const list = await listDoNotCall(db, a);
    assert.equal(list.map((e) => ({ phone: e.phone, reason: e.reason })), [{ phone: CALLEE, reason: 'asked on call' }]);
    assert.equal(await removeFromDoNotCall(db, a, '2125550123'), { phone: CALLEE, removed: true });
    assert.equal(await removeFromDoNotCall(db, a, CALLEE), { phone: CALLEE, removed: false });
    assert.is(await reasonOf(db, a, { number: CALLEE }), 'allowed:+12125550100');
    await addToDoNotCall(db, a, CALLEE);
  });

  test(`[${backend.name}] caller ID: only the tenant's own numbers; default is its first full number`, async () => {
    const callee = '+12125550177'; // consent in force, not on the list
    assert.is(await reasonOf(db, a, { number: callee, from: 'sip:+12125550101@10.0.0.1' }), 'allowed:+12125550101');
    assert.is(await reasonOf(db, a, { number: callee, from: '"Acme" <sip:212-555-0101@pbx.example>;tag=1' }), 'allowed:+12125550101');
    assert.is(await reasonOf(db, a, { number: callee, from: 'tel:+12125550100' }), 'allowed:+12125550100');
    assert.is(await reasonOf(db, a, { number: callee, from: 'sip:2000@10.0.0.1' }), 'allowed:2000');
    assert.is(await reasonOf(db, a, { number: callee, from: 'sip:+13105550199@10.0.0.1' }), 'caller-id-not-owned', 'tenant b\'s number');
    assert.is(await reasonOf(db, a, { number: callee, from: 'sip:smartalex@10.0.0.1' }), 'caller-id-not-owned');
    assert.is(await reasonOf(db, a, { number: callee, from: 'anonymous' }), 'caller-id-not-owned');
    const bare = await tenantWithNumbers(db, 'no-numbers', []);
    await setCallingPolicy(db, bare, { requireConsent: false });
    const refused = await checkOutboundCall(db, bare, { number: callee, now: NOON });
    assert.equal(refused, { allowed: false, reason: 'caller-id-not-owned', message: 'the tenant has no number to present as caller ID (add one with: smartalex number add)' });
  });

  test(`[${backend.name}] calling hours: the tenant's zone, DST, end exclusive, weekdays`, async () => {
    const c = await tenantWithNumbers(db, 'hours', ['+12125550150']);
    await setCallingPolicy(db, c, { requireConsent: false });
    const at = (iso: string) => reasonOf(db, c, { number: CALLEE.replace('0123', '0150'), now: new Date(iso) });
    // New York, the March switch day (EDT from 07:00Z)
    assert.is(await at('2026-03-08T11:59:00Z'), 'outside-calling-hours', '07:59 EDT');
    assert.is(await at('2026-03-08T12:00:00Z'), 'allowed:+12125550150', '08:00 EDT');
    assert.is(await at('2026-03-09T00:59:59Z'), 'allowed:+12125550150', '20:59:59 EDT');
    assert.is(await at('2026-03-09T01:00:00Z'), 'outside-calling-hours', '21:00 EDT, end exclusive');
    // the November switch day (EST from 06:00Z)
    assert.is(await at('2026-11-01T12:30:00Z'), 'outside-calling-hours', '07:30 EST');
    assert.is(await at('2026-11-01T13:00:00Z'), 'allowed:+12125550150', '08:00 EST');
    // Los Angeles: the same instants read differently
    await setCallingPolicy(db, c, { timezone: 'America/Los_Angeles' });
    assert.is(await at('2026-03-08T12:00:00Z'), 'outside-calling-hours', '05:00 PDT');
    assert.is(await at('2026-03-08T15:00:00Z'), 'allowed:+12125550150', '08:00 PDT');
    assert.is(await at('2026-07-01T03:59:00Z'), 'allowed:+12125550150', '20:59 PDT');
    assert.is(await at('2026-07-01T04:00:00Z'), 'outside-calling-hours', '21:00 PDT');
    // weekdays only, in New York again
    await setCallingPolicy(db, c, { timezone: 'America/New_York', days: ['mon', 'tue', 'wed', 'thu', 'fri'] });
    assert.is(await at('2026-03-06T15:00:00Z'), 'allowed:+12125550150', 'Fri 10:00');
    const saturday = await checkOutboundCall(db, c, { number: '+12125550150', now: new Date('2026-03-07T15:00:00Z') });
    assert.equal(saturday, {
      allowed: false, reason: 'outside-calling-hours', message: 'it is Sat 10:00 in America/New_York; calls are allowed 08:00-21:00 on mon-fri',
      retryAt: new Date('2026-03-09T12:00:00Z'), // Monday 08:00 EDT: when the window opens
    });
  });

  test(`[${backend.name}] another tenant's do-not-call list, consents and policy are invisible`, async () => {
    // a has CALLEE on its list and consent for +12125550177; b has neither, and its own policy.
    await setCallingPolicy(db, a, { days: ['sat'] });
    assert.is(await reasonOf(db, b, { number: '+12125550177' }), 'no-consent', 'a\'s consent does not count for b');
    await grantConsent(db, b, CALLEE, { source: 'b form' });
    assert.is(await reasonOf(db, b, { number: CALLEE }), 'allowed:+13105550199', 'a\'s do-not-call entry and a\'s days do not apply to b');
    assert.equal(await listDoNotCall(db, b), []);
    assert.equal((await listConsents(db, b, { includeRevoked: true })).map((c) => c.source), ['b form']);
    assert.equal(await withTenant(db, b, (tx) => tx.select().from(schema.doNotCall)), []);
    assert.is((await withTenant(db, b, (tx) => tx.select().from(schema.consents))).length, 1);
    // b cannot read or change a's policy through the tenant scope
    const seen = await withTenant(db, b, (tx) => tx.select({ id: schema.tenants.id }).from(schema.tenants));
    assert.equal(seen, [{ id: b }]);
    const changed = await withTenant(db, b, (tx) => tx.update(schema.tenants).set({ outboundRequireConsent: false }).where(sql`id = ${a}`).returning({ id: schema.tenants.id }));
    assert.equal(changed, []);
    assert.is((await getCallingPolicy(db, a)).requireConsent, true);
    // nor remove a's entries
    assert.is((await removeFromDoNotCall(db, b, CALLEE)).removed, false);
    assert.is((await revokeConsent(db, b, '+12125550177')).revoked, 0);
    assert.is(await reasonOf(db, a, { number: CALLEE, now: new Date('2026-06-13T16:00:00Z') }), 'do-not-call');
    await setCallingPolicy(db, a, { days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] });
  });

  test(`[${backend.name}] refusals are audited with the callee masked; allowed calls are not`, async () => {
    const c = await tenantWithNumbers(db, 'audited', ['+14155550100']);
    await addToDoNotCall(db, c, '+14155550111');
    await grantConsent(db, c, '+14155550122', { source: 'form' });
    assert.is(await reasonOf(db, c, { number: '+14155550122' }), 'allowed:+14155550100');
    assert.is(await reasonOf(db, c, { number: '(415) 555-0111' }), 'do-not-call');
    assert.is(await reasonOf(db, c, { number: '415-555-0133' }), 'no-consent');
    assert.is(await reasonOf(db, c, { number: '+14155550122', from: 'sip:+13105550199@x' }), 'caller-id-not-owned');
    assert.is(await reasonOf(db, c, { number: '+14155550122', now: new Date('2026-06-10T03:00:00Z') }), 'outside-calling-hours');
    assert.is(await reasonOf(db, c, { number: 'call 415 555 0144 now' }), 'invalid-number');
    const entries = (await listAudit(db, c)).slice(0, 5).reverse();
    assert.equal(entries.map((e) => e.action), ['call.refused', 'call.refused', 'call.refused', 'call.refused', 'call.refused']);
    assert.equal(entries.map((e) => (e.detail as { reason: string }).reason), ['do-not-call', 'no-consent', 'caller-id-not-owned', 'outside-calling-hours', 'invalid-number']);
    assert.equal(entries.map((e) => e.target), ['+*******0111', '+*******0133', '+*******0122', '+*******0122', '******0144']);
    assert.is((entries[2]!.detail as { callerId: string }).callerId, '+*******0199');
    assert.is(entries[0]!.actor, 'system:outbound-policy');
    const text = JSON.stringify(entries);
    for (const whole of ['4155550111', '4155550133', '4155550122', '4155550144', '3105550199']) assert.not.ok(text.includes(whole), `${whole} in the audit log`);
    // Everything the audit log holds for this tenant, read as the owner: no whole callee number anywhere.
    const raw = rows<{ row: string }>(await db.owner.execute(sql`select row_to_json(a)::text as row from audit_log a where tenant_id = ${c}`)).map((r) => r.row).join('\n');
    for (const whole of ['4155550111', '4155550133', '4155550144']) assert.not.ok(raw.includes(whole));
    // An explicit actor is recorded.
    await checkOutboundCall(db, c, { number: '+14155550111', now: NOON, actor: 'operator:cli' });
    assert.is((await listAudit(db, c, 1))[0]!.actor, 'operator:cli');
  });

  test(`[${backend.name}] cleanup`, async () => {
    await backend.cleanup();
  });
}

test.run();
