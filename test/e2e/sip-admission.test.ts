/**
 * Who gets in: digest challenge as shipped (MD5 first, then SHA-256) then
 * success (SIPp with MD5, our UAC with SHA-256), 403 that looks the same for a known and an unknown number, the
 * per-tenant concurrent call limit, and a flood from one source banned while
 * a legitimate call from another source completes; security events written.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ha1 } from '../../media/sip/index.ts';
import { SipCallError } from '../../media/sip/index.ts';
import { addNumber, listAudit, listCalls, schema } from '../../storage/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { describeSipp, runSipp, startTestServer, type TestServer } from './support/harness.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { ownCall } from './support/uac.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the SIP admission end-to-end tests');
let t: TestServer;
let target = '';
const user = 'carrier';
const password = 'correct horse battery';

test.before(async () => {
  if (!run) return;
  t = await startTestServer({
    env: { SMARTALEX_MAX_CALLS_PER_TENANT: '1' },
    allowedCidrs: ['10.0.0.0/8'],
    digest: { username: user, realm: 'smartalex', ha1Md5: ha1('MD5', user, 'smartalex', password), ha1Sha256: ha1('SHA-256', user, 'smartalex', password) },
    // The default digest algorithms as shipped (SMARTALEX_SIP_DIGEST_ALGORITHMS): SIPp answers only the first challenge and knows only MD5.
    server: { calls: { guard: { ratePerSecond: 20, burst: 40, banMs: 60_000 } } },
  });
  await addNumber(t.db, t.tenantId, { number: '2002', agentId: t.agentId, allowedCidrs: ['127.0.0.1/32'] });
  target = `127.0.0.1:${t.server.sipPort}`;
});
test.after(async () => { if (run) await t.close(); });

/** A response with the per-call values (tags, Call-ID, branch, nonces, ports) blanked. */
function shape(messages: string, status: number): string {
  const block = messages.split(/-{10,}[^\n]*\n/).find((b) => new RegExp(`^SIP/2\\.0 ${status} `, 'm').test(b)) ?? '';
  const start = block.indexOf('SIP/2.0');
  return block.slice(start).split('\n').map((l) => l.trim()).filter(Boolean)
    .map((l) => l.replace(/(tag|branch|nonce|received|rport)=("[^"]*"|[^;,\s]*)/g, '$1=*').replace(/^(Call-ID|CSeq|Content-Length):.*/i, '$1: *').replace(/:\d{2,5}\b/g, ':*').replace(/sip:\d+@/g, 'sip:N@'))
    .join('\n');
}

if (run) {
  test('a caller outside the allowed CIDRs with digest credentials (MD5 from SIPp) gets in', async () => {
    // SIPp's digest uri is remote_ip:port unless told; the server requires the Request-URI (RFC 3261 22.4).
    const r = await runSipp(target, 'uac-auth.xml', ['-au', user, '-ap', password, '-auth_uri', `2000@${target}`]);
    assert.is(r.code, 0, describeSipp(r));
    const challenge = r.messages.split(/-{10,}[^\n]*\n/).find((b) => /^SIP\/2\.0 401 /m.test(b)) ?? '';
    const offered = [...challenge.matchAll(/^WWW-Authenticate:.*algorithm=([\w-]+)/gim)].map((m) => m[1]);
    assert.equal(offered, ['MD5'], `the 401 as shipped: ${challenge}`);
    const calls = await waitForValue('the call to be ended', async () => { const c = await listCalls(t.db, t.tenantId); return c[0]?.state === 'ended' ? c : undefined; });
    assert.is(calls.length, 1);
  });

  test('our UAC answers the challenge with SHA-256 and gets in', async () => {
    const call = await ownCall(t.server.sipPort, { auth: { username: user, password } });
    assert.is(call.dialog.state, 'confirmed');
    await call.close();
  });

  test('403 for wrong credentials looks the same for a known and an unknown number', async () => {
    const known = await runSipp(target, 'uac-forbidden.xml', ['-s', '2000', '-au', user, '-ap', 'wrong']);
    assert.is(known.code, 0, describeSipp(known));
    const unknown = await runSipp(target, 'uac-forbidden.xml', ['-s', '9999', '-au', user, '-ap', 'wrong']);
    assert.is(unknown.code, 0, describeSipp(unknown));
    const noNumberRule = await runSipp(target, 'uac-forbidden.xml', ['-s', '2002', '-i', '127.0.0.3', '-au', 'nobody', '-ap', 'x']);
    assert.is(noNumberRule.code, 0, describeSipp(noNumberRule));
    assert.is(shape(known.messages, 401), shape(unknown.messages, 401));
    assert.is(shape(known.messages, 403), shape(unknown.messages, 403));
    assert.ok(shape(known.messages, 403).startsWith('SIP/2.0 403 Forbidden'));
    // Each refusal is counted on the server's /metrics registry.
    const refusals = await t.server.metrics.getSingleMetric('smartalex_sip_refusals_total')!.get();
    assert.ok((refusals.values.find((v) => v.labels.status === '403')?.value ?? 0) >= 3, 'three 403s counted');
    await t.server.calls.securityLog.flush();
    const audit = await listAudit(t.db, t.tenantId);
    assert.ok(audit.some((a) => a.action === 'sip.call-rejected'), 'rejections of a known number reach its tenant audit log');
  });

  test('the per-tenant concurrent call limit answers 503 beyond it', async () => {
    const first = await ownCall(t.server.sipPort, { number: '2002' });
    try {
      let status = 0;
      try { const second = await ownCall(t.server.sipPort, { number: '2002' }); await second.close(); } catch (e) { status = (e as SipCallError).status; }
      assert.is(status, 503);
      assert.is(t.server.calls.activeCalls(t.tenantId), 1);
    } finally {
      await first.close();
    }
    await waitFor('the tenant to have no call up', () => t.server.calls.activeCalls(t.tenantId) === 0);
  });

  test('a flood from 127.0.0.2 is banned while a call from 127.0.0.1 completes', async () => {
    const flood = runSipp(target, 'options.xml', ['-i', '127.0.0.2', '-m', '400', '-r', '400', '-l', '400'], 4);
    const r = await flood;
    assert.is.not(r.code, 0, 'the flood did not get all its answers');
    assert.ok(t.server.calls.endpoint.guard!.isBanned('127.0.0.2'));
    assert.ok((t.server.calls.endpoint.transport.stats.dropped.banned ?? 0) > 0);
    const legit = await runSipp(target, 'uac-call-pcmu.xml', ['-s', '2002']);
    assert.is(legit.code, 0, describeSipp(legit));
    await t.server.calls.securityLog.flush();
    const events = await t.db.owner.select().from(schema.securityEvents);
    const ban = events.find((e) => e.type === 'ban' && e.sourceIp === '127.0.0.2');
    assert.ok(ban, `ban recorded: ${events.map((e) => e.type).join(',')}`);
    assert.ok(events.length < 20, `a flood is coalesced into few rows (${events.length})`);
  });
}

test.run();
