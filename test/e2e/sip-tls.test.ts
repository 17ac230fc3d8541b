/**
 * SIP over TLS end to end: a throwaway self-signed certificate (openssl, made
 * in a temp dir at test time, SAN IP:127.0.0.1), the server started with
 * SMARTALEX_SIP_TLS_CERT/KEY on an ephemeral TLS port, and the project's own
 * UAC (a SipEndpoint that trusts exactly that certificate) sending OPTIONS and
 * completing a call over TLS. A UAC that does not trust the certificate gets no
 * answer at all: verification stays on.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipCallError, SipEndpoint } from '../../media/sip/index.ts';
import { listCallEvents, listCalls } from '../../storage/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { eventually, startTestServer, type TestServer } from './support/harness.ts';
import { sdpOffer } from './support/uac.ts';

const run = needExternal(hasCommand('openssl'), 'openssl', 'the SIP-over-TLS end-to-end test');

if (run) {
  const certDir = mkdtempSync(join(tmpdir(), 'smartalex-tls-'));
  const certFile = join(certDir, 'cert.pem');
  const keyFile = join(certDir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=smartalex-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 60_000 });
  const cert = readFileSync(certFile);
  const key = readFileSync(keyFile);

  let t: TestServer;
  let uac: SipEndpoint;
  let tlsPort = 0;
  let rtp: Socket;
  let rtpPort = 0;

  test.before(async () => {
    t = await startTestServer({ env: { SMARTALEX_SIP_TLS_CERT: certFile, SMARTALEX_SIP_TLS_KEY: keyFile, SMARTALEX_SIP_TLS_PORT: '0' } });
    tlsPort = t.server.sipPorts.tls ?? 0;
    // Our UAC listens on TLS too (its Via and Contact name a TLS port) and trusts exactly the test certificate.
    rtp = createSocket('udp4');
    await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', () => r()));
    rtpPort = rtp.address().port;
    uac = await SipEndpoint.create({ host: '127.0.0.1', udpPort: null, tcpPort: null, tls: { port: 0, cert, key }, tlsClient: { ca: cert }, guard: false });
  });

  test.after(async () => {
    await uac?.close();
    rtp?.close();
    await t?.close();
    rmSync(certDir, { recursive: true, force: true });
  });

  test('the server listens on an ephemeral TLS port and answers OPTIONS over TLS', async () => {
    assert.ok(tlsPort > 0, 'a TLS port was bound');
    const res = await uac.options(`sip:${t.number}@127.0.0.1:${tlsPort};transport=tls`);
    assert.is(res.status, 200);
    assert.match(res.headers.get('allow') ?? '', /INVITE/);
    assert.match(res.headers.getList('via')[0] ?? '', /^SIP\/2\.0\/TLS /);
  });

  test('a call over TLS is answered, runs, and ends with our BYE', async () => {
    const uri = `sip:${t.number}@127.0.0.1:${tlsPort};transport=tls`;
    const dialog = await uac.invite({ uri, from: 'sip:uac@127.0.0.1', sdp: sdpOffer(rtpPort), timeoutMs: 20_000 });
    assert.is(dialog.transport, 'TLS');
    assert.match(dialog.remoteSdp ?? '', /m=audio \d+ RTP\/AVP 0/);
    const call = await eventually(async () => (await listCalls(t.db, t.tenantId)).find((c) => c.state === 'answered'), 20_000);
    await dialog.bye();
    const ended = await eventually(async () => {
      const row = (await listCalls(t.db, t.tenantId)).find((c) => c.id === call.id);
      return row?.endedAt ? row : undefined;
    }, 20_000);
    assert.is(ended.endReason, 'remote-bye');
    assert.is(ended.direction, 'inbound');
    const types = (await listCallEvents(t.db, t.tenantId, call.id)).map((e) => e.type);
    assert.ok(types.includes('state'));
  });

  test('a UAC that does not trust the certificate cannot reach the server (verification is not disabled)', async () => {
    const stranger = await SipEndpoint.create({ host: '127.0.0.1', udpPort: null, tcpPort: null, tls: { port: 0, cert, key }, guard: false });
    try {
      const res = await stranger.options(`sip:${t.number}@127.0.0.1:${tlsPort};transport=tls`);
      assert.is(res.status, 503, 'the TLS handshake fails: a transport error, not a SIP answer');
      await stranger.invite({ uri: `sip:${t.number}@127.0.0.1:${tlsPort};transport=tls`, from: 'sip:x@127.0.0.1', sdp: sdpOffer(rtpPort), timeoutMs: 20_000 })
        .then(() => assert.unreachable('the call must not connect'), (err: unknown) => {
          assert.instance(err, SipCallError);
          assert.is((err as SipCallError).status, 503);
        });
    } finally {
      await stranger.close();
    }
  });
}

test.run();
