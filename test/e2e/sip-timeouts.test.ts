/**
 * Time-driven endings: a CANCEL while the server rings (200 + 487, record
 * finished as cancelled), and a call whose RTP stops, ended by the server
 * with BYE after SMARTALEX_RTP_TIMEOUT_S.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listCalls } from '../../storage/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { describeSipp, runSipp, startTestServer, type TestServer } from './support/harness.ts';
import { waitForValue } from '../support/poll.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the SIP timeout end-to-end tests');
let t: TestServer;
let target = '';

test.before(async () => {
  if (!run) return;
  t = await startTestServer({ env: { SMARTALEX_RTP_TIMEOUT_S: '1' }, server: { calls: { ringMs: 1500 } } });
  target = `127.0.0.1:${t.server.sipPort}`;
});
test.after(async () => { if (run) await t.close(); });

const ended = () => waitForValue('the ended call record', async () => { const c = (await listCalls(t.db, t.tenantId))[0]; return c?.state === 'ended' ? c : undefined; });

if (run) {
  test('CANCEL before the answer: 200 to the CANCEL, 487 to the INVITE, call recorded as cancelled', async () => {
    const r = await runSipp(target, 'uac-cancel.xml');
    assert.is(r.code, 0, describeSipp(r));
    const call = await ended();
    assert.is(call.endReason, 'cancelled');
    assert.is(call.answeredAt, null);
    assert.is(t.server.calls.activeCalls(t.tenantId), 0);
  });

  test('RTP inactivity ends the call with a BYE from the server', async () => {
    const started = Date.now();
    const r = await runSipp(target, 'uac-call-server-bye.xml');
    assert.is(r.code, 0, describeSipp(r));
    const call = await ended();
    assert.is(call.endReason, 'rtp-timeout');
    assert.ok(Date.now() - started >= 1000, 'not before the timeout');
  });
}

test.run();
