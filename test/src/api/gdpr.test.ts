/**
 * /v1/gdpr through the HTTP API, on PGlite and Postgres:
 *  - an export job (one data subject, or the whole tenant) runs to completion;
 *    the ZIP fetched through its signed link has a manifest whose SHA-256s
 *    match every file; expired links are refused (403), tampered, moved and
 *    recording-purpose links are 404s; an interrupted job reads as failed;
 *  - erasure of a data subject (DNC kept), a call, a recording;
 *  - whole-account erasure needs the owner's confirmation token (bogus,
 *    someone else's and expired tokens refused), then the tenant is gone;
 *  - roles (viewer, manager, admin refused where the matrix says), another
 *    tenant's ids are 404s, every step audited.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import {
  addTranscriptTurn, createAgent, finishCall, getTenant, insertApiJob, listAudit, listDoNotCallEntries, schema, startCall, withTenant, type Database,
} from '../../../storage/index.ts';
import { signRecordingLink } from '../../../storage/vault/index.ts';
import { addToDoNotCall, grantConsent } from '../../../src/compliance/index.ts';
import { GdprExportJobs, type ExportManifest } from '../../../src/gdpr/index.ts';
import { createLogger } from '../../../src/log.ts';
import { apiHarness, type ApiHarness } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { waitForValue } from '../../support/poll.ts';
import { readZip } from '../gdpr/read-zip.ts';
import { recordingFixture, syntheticFrame, type RecordingFixture } from '../recordings/support.ts';

const ACTOR = 'operator:test';
type Method = 'GET' | 'POST' | 'DELETE';

interface ExportView { id: string; state: string; scope: string; error: string | null; download: { url: string; expiresAt: string } | null; result: { counts: Record<string, number> } | null }

/** A tenant with two people (Alice with a contact, consent and DNC entry; Bob), each with a recorded call. */
async function world(h: ApiHarness, fx: RecordingFixture) {
  const tenantId = await h.tenant();
  const agent = await createAgent(h.db, tenantId, { name: 'a', mode: 'echo' });
  const [alice] = await withTenant(h.db, tenantId, (tx) => tx.insert(schema.contacts).values([
    { tenantId, name: 'Alice', phone: '+14153230001' }, { tenantId, name: 'Bob', phone: '+14153230002' },
  ]).returning());
  const calls: Record<string, string> = {};
  const recordings: Record<string, string> = {};
  for (const [who, from] of [['alice', 'sip:4153230001@carrier'], ['bob', 'sip:+14153230002@carrier']] as const) {
    const call = await startCall(h.db, tenantId, { agentId: agent.id, direction: 'inbound', fromUri: from, toUri: 'sip:2000@us', sipCallId: randomUUID() });
    await addTranscriptTurn(h.db, tenantId, { callId: call.id, seq: 1, speaker: 'caller', redacted: { text: 'my card is [CARD]', entities: [{ type: 'CARD', start: 11, end: 17 }] } });
    const recorder = fx.service.startCallRecording({ tenantId, callId: call.id, agent });
    for (let f = 0; f < 10; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
    await recorder.finish();
    await finishCall(h.db, tenantId, call.id, { reason: 'bye' });
    calls[who] = call.id;
    recordings[who] = recorder.recordingId;
  }
  await grantConsent(h.db, tenantId, '(415) 323-0001', { source: 'web form', contactId: alice!.id, actor: ACTOR });
  await addToDoNotCall(h.db, tenantId, '415-323-0001', { reason: 'asked', actor: ACTOR });
  return { tenantId, aliceId: alice!.id, calls, recordings };
}

for (const backend of await backends()) {
  const db: Database = await backend.open();
  const fx = await recordingFixture(db);
  const jobs = new GdprExportJobs({ db, vault: fx.vault, dir: join(fx.dataDir, 'exports'), logger: createLogger('silent') });
  const h = await apiHarness(db, {
    services: { keyRing: fx.vault.keys, recordingStore: fx.store, recordingLinkSecret: fx.linkSecret, recordingVault: fx.vault, gdprExports: jobs },
  });
  const call = (method: Method, url: string, auth: string | undefined, payload?: object) =>
    h.app.inject({ method, url, headers: auth ? { authorization: auth } : {}, ...(payload ? { payload } : {}) });
  /** Polls the export until it is done or failed (a job on a busy machine may take a while). */
  const settled = (auth: string, id: string) => waitForValue(`export ${id} to finish`, async () => {
    const view = (await call('GET', `/v1/gdpr/exports/${id}`, auth)).json() as ExportView;
    return view.state === 'done' || view.state === 'failed' ? view : undefined;
  }, { timeoutMs: 60_000, intervalMs: 50 });

  test(`[${backend.name}] export jobs run to completion; the ZIP's manifest matches; links expire and cannot be forged; roles and tenants`, async () => {
    const w = await world(h, fx);
    const admin = await h.bearer(w.tenantId, 'admin');
    for (const role of ['viewer', 'manager'] as const) {
      assert.is((await call('POST', '/v1/gdpr/exports', await h.bearer(w.tenantId, role), { scope: 'tenant' })).statusCode, 403, role);
    }
    assert.is((await call('POST', '/v1/gdpr/exports', admin, { scope: 'data-subject' })).statusCode, 400, 'a subject export names the subject');
    assert.is((await call('POST', '/v1/gdpr/exports', admin, { scope: 'data-subject', phone: 'not a number' })).statusCode, 400);
    assert.is((await call('POST', '/v1/gdpr/exports', admin, { scope: 'tenant', phone: '+14153230001' })).statusCode, 400);
    assert.is((await call('POST', '/v1/gdpr/exports', admin, { scope: 'data-subject', contactId: randomUUID() })).statusCode, 404);

    const started = await call('POST', '/v1/gdpr/exports', admin, { scope: 'data-subject', phone: '415 323 0001' });
    assert.is(started.statusCode, 202, started.body);
    const { id } = started.json() as ExportView;
    const done = await settled(admin, id);
    assert.is(done.state, 'done', JSON.stringify(done));
    assert.equal(done.result!.counts, { contacts: 1, calls: 1, transcriptTurns: 1, recordings: 1, consents: 1, doNotCall: 1, campaignDials: 0 });
    const link = done.download!;
    assert.ok(link.url.startsWith(`/v1/gdpr/downloads/${w.tenantId}/${id}?exp=`), link.url);

    const download = await h.app.inject({ method: 'GET', url: link.url });
    assert.is(download.statusCode, 200, download.body.slice(0, 200));
    assert.is(download.headers['content-type'], 'application/zip');
    assert.is(download.headers['cache-control'], 'no-store');
    const files = readZip(download.rawPayload);
    const manifest = JSON.parse(files.get('manifest.json')!.toString()) as ExportManifest;
    assert.is(manifest.scope, 'data-subject');
    assert.equal(manifest.files.map((f) => f.path).sort(), [...files.keys()].filter((n) => n !== 'manifest.json').sort());
    for (const f of manifest.files) assert.is(createHash('sha256').update(files.get(f.path)!).digest('hex'), f.sha256, f.path);
    assert.is([...files.keys()].filter((n) => n.endsWith('.wav')).length, 1, 'Alice\'s recording, decrypted');
    assert.not.match(files.get('contacts.csv')!.toString(), /Bob/);

    // The whole tenant: both people.
    const all = await settled(admin, ((await call('POST', '/v1/gdpr/exports', admin, { scope: 'tenant' })).json() as ExportView).id);
    assert.is(all.state, 'done');
    assert.is(all.scope, 'tenant');
    assert.equal([all.result!.counts.contacts, all.result!.counts.calls, all.result!.counts.recordings], [2, 2, 2]);
    const tenantZip = readZip((await h.app.inject({ method: 'GET', url: all.download!.url })).rawPayload);
    const tenantManifest = JSON.parse(tenantZip.get('manifest.json')!.toString()) as ExportManifest;
    for (const f of tenantManifest.files) assert.is(createHash('sha256').update(tenantZip.get(f.path)!).digest('hex'), f.sha256, f.path);

    // Forged links learn nothing (404); a link of another purpose does not open an export.
    const url = new URL(link.url, 'http://x.invalid');
    const sig = url.searchParams.get('sig')!;
    const tampered = link.url.replace(`sig=${sig}`, `sig=${sig[0] === 'A' ? 'B' : 'A'}${sig.slice(1)}`);
    const other = await h.tenant('other');
    const moved = link.url.replace(w.tenantId, other);
    const later = link.url.replace(/exp=(\d+)/, (_m, e: string) => `exp=${Number(e) + 3600}`);
    const recordingSig = signRecordingLink({ tenantId: w.tenantId, recordingId: id }, fx.linkSecret, { now: h.clock().getTime() });
    const crossPurpose = `/v1/gdpr/downloads/${w.tenantId}/${id}${recordingSig.slice(recordingSig.indexOf('?'))}`;
    for (const bad of [tampered, moved, later, crossPurpose, `/v1/gdpr/downloads/${w.tenantId}/${id}`]) {
      const res = await h.app.inject({ method: 'GET', url: bad });
      assert.is(res.statusCode, 404, `${bad}: ${res.statusCode}`);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    }
    // Expiry: 15 minutes on the server's clock; reading the export again gives a fresh link.
    h.clock.advance(15 * 60_000 + 1000);
    const expired = await h.app.inject({ method: 'GET', url: link.url });
    assert.is(expired.statusCode, 403, expired.body);
    const fresh = (await call('GET', `/v1/gdpr/exports/${id}`, admin)).json() as ExportView;
    assert.is((await h.app.inject({ method: 'GET', url: fresh.download!.url })).statusCode, 200);

    // Another tenant's export is a 404; an interrupted job reads as failed.
    const otherAdmin = await h.bearer(other, 'admin');
    assert.is((await call('GET', `/v1/gdpr/exports/${id}`, otherAdmin)).statusCode, 404);
    const lost = await insertApiJob(db, w.tenantId, { kind: 'gdpr.export', request: { scope: 'tenant' }, requestedBy: ACTOR, leaseUntil: new Date(Date.now() - 1000) }, (jobId) => ({ actor: ACTOR, action: 'test.job', target: jobId }));
    const interrupted = (await call('GET', `/v1/gdpr/exports/${lost.id}`, admin)).json() as ExportView;
    assert.equal([interrupted.state, interrupted.error, interrupted.download], ['failed', 'interrupted', null]);

    const log = await listAudit(db, w.tenantId);
    const actions = log.map((e) => e.action);
    for (const action of ['gdpr.export.requested', 'gdpr.exported', 'gdpr.export.downloaded', 'gdpr.export.download.refused']) assert.ok(actions.includes(action), action);
    assert.not.match(JSON.stringify(log), /4153230001/, 'no phone number in the audit log');
  });

  test(`[${backend.name}] erasure of a data subject (DNC kept), a call, a recording; one at a time; roles and tenants`, async () => {
    const w = await world(h, fx);
    const admin = await h.bearer(w.tenantId, 'admin');
    assert.is((await call('POST', '/v1/gdpr/erasures', await h.bearer(w.tenantId, 'manager'), { contactId: w.aliceId })).statusCode, 403);
    assert.is((await call('POST', '/v1/gdpr/erasures', admin, { contactId: w.aliceId, callId: w.calls.bob })).statusCode, 400, 'one thing at a time');
    assert.is((await call('POST', '/v1/gdpr/erasures', admin, {})).statusCode, 400);
    const other = await h.bearer(await h.tenant('other'), 'owner');
    for (const body of [{ contactId: w.aliceId }, { callId: w.calls.bob }, { recordingId: w.recordings.bob }]) {
      assert.is((await call('POST', '/v1/gdpr/erasures', other, body)).statusCode, 404, JSON.stringify(body));
    }

    const subject = await call('POST', '/v1/gdpr/erasures', admin, { contactId: w.aliceId });
    assert.is(subject.statusCode, 200, subject.body);
    assert.equal(subject.json(), { contacts: 1, calls: 1, recordings: 1, consents: 1, webhookEvents: 0, doNotCallKept: 1 });
    assert.is((await listDoNotCallEntries(db, w.tenantId)).length, 1, 'the do-not-call entry survives');
    assert.is((await call('GET', `/v1/calls/${w.calls.alice}`, admin)).statusCode, 404);

    const recording = await call('POST', '/v1/gdpr/erasures', admin, { recordingId: w.recordings.bob });
    assert.is(recording.statusCode, 200, recording.body);
    assert.is((await call('GET', `/v1/recordings/${w.recordings.bob}`, admin)).statusCode, 404);
    const erasedCall = await call('POST', '/v1/gdpr/erasures', admin, { callId: w.calls.bob });
    assert.is(erasedCall.statusCode, 200, erasedCall.body);
    assert.is((await call('GET', `/v1/calls/${w.calls.bob}`, admin)).statusCode, 404);

    const log = await listAudit(db, w.tenantId);
    for (const action of ['gdpr.erased', 'recording.erased', 'call.erased']) {
      const entry = log.find((e) => e.action === action);
      assert.ok(entry, action);
      assert.ok(entry!.actor.startsWith('apikey:') && entry!.sourceIp === '127.0.0.1', `${action}: ${entry!.actor} ${entry!.sourceIp}`);
    }
  });

  test(`[${backend.name}] account erasure: owner only, and only with the caller's own unexpired confirmation token`, async () => {
    const w = await world(h, fx);
    const owner = await h.bearer(w.tenantId, 'owner');
    const secondOwner = await h.bearer(w.tenantId, 'owner');
    const admin = await h.bearer(w.tenantId, 'admin');
    assert.is((await call('POST', '/v1/gdpr/account-erasure', admin)).statusCode, 403);
    assert.is((await call('POST', '/v1/gdpr/account-erasure/confirm', admin, { confirmationToken: 'x' })).statusCode, 403);
    assert.is((await call('POST', '/v1/gdpr/account-erasure/confirm', owner, { confirmationToken: '1.abc' })).statusCode, 400, 'no confirmation');

    const asked = await call('POST', '/v1/gdpr/account-erasure', owner);
    assert.is(asked.statusCode, 202, asked.body);
    const { confirmationToken } = asked.json() as { confirmationToken: string };
    assert.is((await call('POST', '/v1/gdpr/account-erasure/confirm', secondOwner, { confirmationToken })).statusCode, 400, 'another owner\'s token');
    h.clock.advance(11 * 60_000);
    assert.is((await call('POST', '/v1/gdpr/account-erasure/confirm', owner, { confirmationToken })).statusCode, 400, 'an expired token');
    assert.ok(await getTenant(db, w.tenantId), 'nothing was erased yet');
    const refusals = (await listAudit(db, w.tenantId)).filter((e) => e.action === 'account.erasure.refused');
    assert.is(refusals.length, 3);
    assert.ok((await listAudit(db, w.tenantId)).some((e) => e.action === 'account.erasure.requested'));

    const again = (await call('POST', '/v1/gdpr/account-erasure', owner)).json() as { confirmationToken: string };
    const erased = await call('POST', '/v1/gdpr/account-erasure/confirm', owner, { confirmationToken: again.confirmationToken });
    assert.is(erased.statusCode, 200, erased.body);
    assert.is((erased.json() as { recordings: number }).recordings, 2);
    assert.is(await getTenant(db, w.tenantId), undefined, 'the tenant is gone');
    assert.is((await call('GET', '/v1/me', owner)).statusCode, 401, 'and its keys with it');
    const events = await db.owner.select().from(schema.securityEvents);
    assert.ok(events.some((e) => e.type === 'tenant.erased' && (e.detail as { tenantId: string }).tenantId === w.tenantId), 'the erasure is kept as a security event');
  });

  test.after(async () => {
    await h.close();
    await jobs.close();
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
