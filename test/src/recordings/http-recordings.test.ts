import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Registry } from 'prom-client';
import { parseWav } from '../../../media/codecs/wav.ts';
import { createAgent, createTenant, issueApiKey, listAudit, startCall } from '../../../storage/index.ts';
import { signRecordingLink } from '../../../storage/vault/index.ts';
import { createHttpServer } from '../../../src/http/server.ts';
import { registerRecordingRoutes } from '../../../src/http/recordings.ts';
import { linkActor } from '../../../src/recordings/index.ts';
import { createLogger } from '../../../src/log.ts';
import { backends } from '../../support/databases.ts';
import { expectedStereo, recordingFixture, syntheticFrame } from './support.ts';

for (const backend of await backends()) {
  const db = await backend.open();
  const fx = await recordingFixture(db);
  const app = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
  registerRecordingRoutes(app, { db, vault: fx.vault, linkSecret: fx.linkSecret });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

  const tenant = await createTenant(db, { name: 'http' });
  const other = await createTenant(db, { name: 'other' });
  const owner = await issueApiKey(db, tenant.id, { name: 'owner', role: 'owner' });
  const viewer = await issueApiKey(db, tenant.id, { name: 'viewer', role: 'viewer' });
  const otherOwner = await issueApiKey(db, other.id, { name: 'owner', role: 'owner' });
  const agent = await createAgent(db, tenant.id, { name: 'a' });
  const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
  const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: call.id, agent });
  for (let f = 0; f < 100; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
  await recorder.finish();
  const recordingId = recorder.recordingId;

  const mint = (key: string, id = recordingId, body?: unknown) => fetch(`${base}/v1/recordings/${id}/link`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const get = (path: string) => fetch(`${base}${path}`, { signal: AbortSignal.timeout(10_000) });
  const sigOf = (path: string) => new URL(path, base).searchParams.get('sig')!;

  test(`[${backend.name}] round trip: API key mints a link, the link streams the decrypted WAV, both are audited`, async () => {
    const res = await mint(owner.key, recordingId, { ttl: '10m' });
    assert.is(res.status, 201);
    const body = await res.json() as { url: string; path: string; expiresAt: string };
    assert.ok(body.path.startsWith(`/v1/recordings/${tenant.id}/${recordingId}?exp=`));
    const minutes = (Date.parse(body.expiresAt) - Date.now()) / 60_000;
    assert.ok(minutes > 9 && minutes <= 10, `ttl ${minutes}`);
    const wav = await get(body.path);
    assert.is(wav.status, 200);
    assert.is(wav.headers.get('content-type'), 'audio/wav');
    assert.is(wav.headers.get('cache-control'), 'no-store');
    const parsed = parseWav(Buffer.from(await wav.arrayBuffer()));
    assert.is(parsed.channels, 2);
    assert.is(parsed.sampleRate, 8000);
    assert.ok(parsed.data.equals(expectedStereo(100)), 'WAV audio equals what was recorded');

    const log = await listAudit(db, tenant.id);
    const created = log.find((e) => e.action === 'recording.link.created');
    const accessed = log.find((e) => e.action === 'recording.accessed');
    assert.ok(created && accessed);
    assert.is(created!.actor, `apikey:${owner.id}`);
    assert.is(created!.target, recordingId);
    assert.is(accessed!.actor, linkActor(sigOf(body.path)));
    assert.is((created!.detail as { link: string }).link, accessed!.actor, 'the access traces back to the minting');
    assert.is(accessed!.sourceIp, '127.0.0.1');
    assert.not.match(JSON.stringify(log), new RegExp(sigOf(body.path).slice(0, 20)), 'the signature itself is never stored');
  });

  test(`[${backend.name}] expired, altered and moved links get 403, unknown recordings 404, all audited`, async () => {
    const past = Date.now() - 3_600_000;
    const expired = signRecordingLink({ tenantId: tenant.id, recordingId, expiresAt: new Date(past + 60_000) }, fx.linkSecret, { now: past });
    const good = signRecordingLink({ tenantId: tenant.id, recordingId }, fx.linkSecret);
    const url = new URL(good, base);
    const laterExp = good.replace(/exp=(\d+)/, (_m, e: string) => `exp=${Number(e) + 3600}`);
    const badSig = good.replace(/sig=(.)/, (_m, c: string) => `sig=${c === 'A' ? 'B' : 'A'}`);
    const moved = good.replace(tenant.id, other.id);
    const noSig = `${url.pathname}?exp=${url.searchParams.get('exp')}`;
    const cases: [string, string, string][] = [
      [expired, 'expired', 'recording link has expired'],
      [laterExp, 'bad-signature', 'recording link is not valid'],
      [badSig, 'bad-signature', 'recording link is not valid'],
      [moved, 'bad-signature', 'recording link is not valid'],
      [noSig, 'malformed', 'recording link is not valid'],
    ];
    for (const [path, , message] of cases) {
      const res = await get(path);
      assert.is(res.status, 403, path);
      assert.equal(await res.json(), { error: message });
    }
    const unknown = crypto.randomUUID();
    const res = await get(signRecordingLink({ tenantId: tenant.id, recordingId: unknown }, fx.linkSecret));
    assert.is(res.status, 404);

    const refused = (await listAudit(db, tenant.id)).filter((e) => e.action === 'recording.access.refused');
    const reasons = refused.map((e) => (e.detail as { reason: string }).reason).sort();
    assert.equal(reasons, ['bad-signature', 'bad-signature', 'expired', 'malformed', 'not-found']);
    assert.ok(refused.every((e) => e.actor.startsWith('link:')));
    const movedRefusal = (await listAudit(db, other.id)).filter((e) => e.action === 'recording.access.refused');
    assert.is(movedRefusal.length, 1, 'the refusal of a link moved to tenant "other" is in that tenant\'s log');
  });

  test(`[${backend.name}] minting: 401 without a valid key, 403 for viewers, 404 for another tenant's recording`, async () => {
    assert.is((await mint('sak_nonsense')).status, 401);
    const noAuth = await fetch(`${base}/v1/recordings/${recordingId}/link`, { method: 'POST', signal: AbortSignal.timeout(10_000) });
    assert.is(noAuth.status, 401);
    const asViewer = await mint(viewer.key);
    assert.is(asViewer.status, 403);
    assert.equal(await asViewer.json(), { error: 'role viewer may not access recordings' });
    assert.is((await mint(otherOwner.key)).status, 404, 'a key of another tenant cannot see the recording');
    assert.is((await mint(owner.key, recordingId, { ttl: '2d' })).status, 400);
    const log = await listAudit(db, tenant.id);
    assert.ok(log.some((e) => e.action === 'recording.link.refused' && e.actor === `apikey:${viewer.id}`));
    const otherLog = await listAudit(db, other.id);
    assert.ok(otherLog.some((e) => e.action === 'recording.link.refused' && e.actor === `apikey:${otherOwner.id}` && (e.detail as { reason: string }).reason === 'not-found'));
  });

  test(`[${backend.name}] link guessing is rate-limited per source and the excess is not audited`, async () => {
    const limited = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
    registerRecordingRoutes(limited, { db, vault: fx.vault, linkSecret: fx.linkSecret, rateLimitPerMinute: 3 });
    await limited.ready();
    try {
      const before = (await listAudit(db, tenant.id)).length;
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await limited.inject({ method: 'GET', url: `/v1/recordings/${tenant.id}/${recordingId}?exp=1&sig=guess${i}` });
        statuses.push(res.statusCode);
      }
      assert.equal(statuses, [403, 403, 403, 429, 429]);
      assert.is((await listAudit(db, tenant.id)).length - before, 3, 'only the requests that were looked at are audited');
    } finally {
      await limited.close();
    }
  });

  test.after(async () => {
    await app.close();
    await fx.service.close();
    await fx.cleanup();
    await backend.cleanup();
  });
}

test.run();
