/**
 * The console mints recording links with its session cookie (POST
 * /v1/recordings/:id/link is a control-plane route, so the cookie and its CSRF
 * rule are the framework's): a manager's cookie with the CSRF token gets a
 * link (audited as the user), the same cookie without the token is refused,
 * and a viewer's session is refused by the role rule, exactly as an API key
 * of that role would be.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { Registry } from 'prom-client';
import { createAgent, createTenant, listAudit, startCall } from '../../../storage/index.ts';
import { createUserWithSetup } from '../../../src/api/auth/accounts.ts';
import { DEFAULT_SETTINGS, manualClock, registerControlPlane, type ControlPlaneDeps } from '../../../src/api/index.ts';
import { SecurityLog } from '../../../src/calls/security-log.ts';
import { registerRecordingRoutes } from '../../../src/http/recordings.ts';
import { createHttpServer } from '../../../src/http/server.ts';
import { createLogger } from '../../../src/log.ts';
import { PASSWORD } from '../../support/api.ts';
import { backends } from '../../support/databases.ts';
import { recordingFixture, syntheticFrame } from '../recordings/support.ts';

const [backend] = await backends();
test('recording links through the console session cookie: CSRF token required, role rule kept', async () => {
  const db = await backend!.open();
  const fx = await recordingFixture(db);
  const securityLog = new SecurityLog(db, createLogger('silent'), { flushIntervalMs: 3_600_000 });
  const deps: ControlPlaneDeps = {
    db, logger: createLogger('silent'), clock: manualClock(new Date()), settings: DEFAULT_SETTINGS, sessionSecret: randomBytes(32),
    services: { recordingLinkSecret: fx.linkSecret }, securityLog,
  };
  const app = createHttpServer({ logger: createLogger('silent'), metrics: new Registry(), readiness: {} });
  registerRecordingRoutes(app, { db, vault: fx.vault, linkSecret: fx.linkSecret, securityLog });
  await registerControlPlane(app, deps);
  try {
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const tenant = await createTenant(db, { name: 'links' });
    const agent = await createAgent(db, tenant.id, { name: 'a' });
    const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: crypto.randomUUID() });
    const recorder = fx.service.startCallRecording({ tenantId: tenant.id, callId: call.id, agent });
    for (let f = 0; f < 10; f++) { recorder.caller(syntheticFrame('caller', f)); recorder.agent(syntheticFrame('agent', f)); }
    await recorder.finish();

    const session = async (role: 'manager' | 'viewer') => {
      const { user } = await createUserWithSetup(db, tenant.id, { email: `${role}@example.com`, role, password: PASSWORD, actor: 'test', now: deps.clock(), ttlMs: 3600_000 });
      const res = await fetch(`${base}/v1/auth/cookie-login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: user.email, password: PASSWORD }) });
      assert.is(res.status, 200);
      const cookie = res.headers.getSetCookie().map((c) => c.slice(0, c.indexOf(';'))).join('; ');
      return { userId: user.id, cookie, csrf: /sa_csrf=([^;]+)/.exec(cookie)![1]! };
    };
    const mint = (headers: Record<string, string>) => fetch(`${base}/v1/recordings/${recorder.recordingId}/link`, { method: 'POST', headers, signal: AbortSignal.timeout(20_000) });

    const manager = await session('manager');
    const withoutToken: Record<string, string>[] = [{ cookie: manager.cookie }, { cookie: manager.cookie, 'x-csrf-token': 'forged' }];
    for (const headers of withoutToken) {
      const refused = await mint(headers);
      assert.is(refused.status, 403, 'a cookie without its CSRF token may not write');
      assert.is((await refused.json() as { code: string }).code, 'csrf_token_invalid');
    }
    assert.not.ok((await listAudit(db, tenant.id)).some((e) => e.action === 'recording.link.created'), 'nothing minted without the token');
    const ok = await mint({ cookie: manager.cookie, 'x-csrf-token': manager.csrf });
    assert.is(ok.status, 201);
    const link = (await ok.json()) as { path: string };
    assert.is((await fetch(`${base}${link.path}`, { signal: AbortSignal.timeout(20_000) })).status, 200);
    const audit = await listAudit(db, tenant.id);
    assert.ok(audit.some((e) => e.action === 'recording.link.created' && e.actor === `user:${manager.userId}`), 'audited as the user');

    const viewer = await session('viewer');
    assert.is((await mint({ cookie: viewer.cookie, 'x-csrf-token': viewer.csrf })).status, 403, 'viewers do not get recordings');
  } finally {
    await app.close();
    await securityLog.close();
    await fx.service.close();
    await fx.cleanup();
    await backend!.cleanup();
  }
});

test.run();
