/**
 * The SIPp harness's own robustness (issue 23): SIPp's ports are probed free and then bound by SIPp
 * itself, so on a busy machine another process can take one in between. A loaded run's drain test
 * met it ("Unable to bind video RTP socket ... errno = 98", SIPp exit 254). `runSipp` and
 * `startSippUas` repeat such a start on fresh ports; anything else SIPp reports is returned as it is.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket } from 'node:dgram';
import { hasCommand, needExternal } from '../support/external.ts';
import { describeSipp, freeMediaPort, runSipp, sippCouldNotBind, startSippUas, startTestServer, type TestServer } from './support/harness.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the SIPp harness tests');
let t: TestServer;

test.before(async () => { if (run) t = await startTestServer(); });
test.after(async () => { if (run) await t.close(); });

test('a bind failure is told apart from every other SIPp failure', () => {
  const bindFailure = { code: 254, stdout: '', stderr: '', errors: '2026-12-07 08:02:40 Unable to bind video RTP socket (IP=127.0.0.1, port=40048), errno = 98 (Address already in use)' };
  assert.ok(sippCouldNotBind(bindFailure));
  assert.not.ok(sippCouldNotBind({ ...bindFailure, code: 1 }), 'a failed scenario is not a bind failure, whatever it logged');
  assert.not.ok(sippCouldNotBind({ ...bindFailure, errors: 'Aborting call on unexpected message' }));
  assert.not.ok(sippCouldNotBind({ code: 0, stdout: '', stderr: '', errors: '' }));
});

if (run) {
  test('a media port taken between the probe and SIPp\'s start: the run is repeated on fresh ports and passes', async () => {
    const taken: Socket[] = [];
    const chosen: number[] = [];
    // The first media port handed out has its video port (mp + 2) already bound, as another process would.
    const choosePort = async (): Promise<number> => {
      const port = await freeMediaPort();
      if (chosen.length === 0) {
        const s = createSocket('udp4');
        await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port + 2, '127.0.0.1', () => resolve()); });
        taken.push(s);
      }
      chosen.push(port);
      return port;
    };
    try {
      const r = await runSipp(`127.0.0.1:${t.server.sipPort}`, 'options.xml', [], 20, choosePort);
      assert.is(r.code, 0, describeSipp(r));
      assert.is(chosen.length, 4, `two attempts, a media and a SIP port each (ports ${chosen.join(', ')})`);
      assert.is.not(chosen[2], chosen[0], 'the second attempt took a fresh media port');
    } finally {
      for (const s of taken) s.close();
    }
  });

  test('SIPp as a callee: a taken media port is retried on fresh ports, and it resolves once it listens', async () => {
    const taken: Socket[] = [];
    const chosen: number[] = [];
    const choosePort = async (): Promise<number> => {
      const port = await freeMediaPort();
      if (chosen.length === 0) {
        const s = createSocket('udp4');
        await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port + 2, '127.0.0.1', () => resolve()); });
        taken.push(s);
      }
      chosen.push(port);
      return port;
    };
    try {
      const uas = await startSippUas('uas-auth.xml', ['-m', '1', '-timeout', '60s'], { timeoutMs: 90_000, choosePort });
      try {
        assert.is(chosen.length, 4, `two attempts (ports ${chosen.join(', ')})`);
        assert.is(uas.mediaPort, chosen[2]);
        assert.is(uas.sipPort, chosen[3]);
        assert.is(uas.child.exitCode, null, 'SIPp is still running');
      } finally {
        uas.child.kill('SIGKILL');
        assert.is((await uas.done).code, null, 'killed');
      }
    } finally {
      for (const s of taken) s.close();
    }
  });

  test('SIPp\'s own failure is not retried: a scenario that fails runs once', async () => {
    let chosen = 0;
    const choosePort = async (): Promise<number> => { chosen += 1; return freeMediaPort(); };
    // The server answers OPTIONS 200; this scenario expects a 503, so SIPp fails the call.
    const r = await runSipp(`127.0.0.1:${t.server.sipPort}`, 'options-draining.xml', [], 5, choosePort);
    assert.is.not(r.code, 0, describeSipp(r));
    assert.not.ok(sippCouldNotBind(r));
    assert.is(chosen, 2, 'one attempt');
  });
}

test.run();
