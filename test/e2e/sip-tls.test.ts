/**
 * SIP over TLS end to end: a throwaway self-signed certificate (openssl, made
 * in a temp dir at test time, SAN IP:127.0.0.1), the server started with
 * SMARTALEX_SIP_TLS_CERT/KEY on an ephemeral TLS port, and the project's own
 * UAC (a SipEndpoint that trusts exactly that certificate) sending OPTIONS and
 * completing a call over TLS. A UAC that does not trust the certificate gets no
 * answer at all: verification stays on.
 *
 * Server hang-up over TLS: a UA with its own self-signed certificate (which
 * the server does not trust) gets the server's BYE over the connection it
 * opened; once that connection is gone the BYE fails, is logged, and the call
 * record ends anyway. The server's own TLS connections verify the peer by
 * default and trust SMARTALEX_SIP_TLS_CA when it is set.
 */
import type { SipCallSession as CallSession } from '../../src/calls/index.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipCallError, SipEndpoint, type SipPeer } from '../../media/sip/index.ts';
import { createLogger } from '../../src/log.ts';
import { listCallEvents, listCalls } from '../../storage/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
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
  // The caller's own throwaway certificate: self-signed, and not trusted by the server.
  const uaCertFile = join(certDir, 'ua-cert.pem');
  const uaKeyFile = join(certDir, 'ua-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', uaKeyFile, '-out', uaCertFile, '-days', '1',
    '-subj', '/CN=smartalex-test-ua', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 60_000 });
  const uaCert = readFileSync(uaCertFile);
  const uaKey = readFileSync(uaKeyFile);
  const logLines: string[] = [];
  const logger = createLogger('warn', new Writable({ write(chunk, _encoding, done) { logLines.push(String(chunk)); done(); } }));
  /** A TLS UA with the self-signed certificate, trusting the server's. */
  const selfSignedUa = () => SipEndpoint.create({ host: '127.0.0.1', udpPort: null, tcpPort: null, tls: { port: 0, cert: uaCert, key: uaKey }, tlsClient: { ca: cert }, guard: false });

  let t: TestServer;
  let uac: SipEndpoint;
  let tlsPort = 0;
  let rtp: Socket;
  let rtpPort = 0;

  test.before(async () => {
    t = await startTestServer({ env: { SMARTALEX_SIP_TLS_CERT: certFile, SMARTALEX_SIP_TLS_KEY: keyFile, SMARTALEX_SIP_TLS_PORT: '0' }, logger });
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
    const call = await waitForValue('the answered call', async () => (await listCalls(t.db, t.tenantId)).find((c) => c.state === 'answered'), { timeoutMs: 20_000 });
    await dialog.bye();
    const ended = await waitForValue('the ended call record', async () => {
      const row = (await listCalls(t.db, t.tenantId)).find((c) => c.id === call.id);
      return row?.endedAt ? row : undefined;
    }, { timeoutMs: 20_000 });
    assert.is(ended.endReason, 'remote-bye');
    assert.is(ended.direction, 'inbound');
    const types = (await listCallEvents(t.db, t.tenantId, call.id)).map((e) => e.type);
    assert.ok(types.includes('state'));
  });

  /** The server's session for a dialog, once answered. */
  const sessionOf = (callId: string) => waitForValue('the answered session', () => ([...t.server.calls.calls] as CallSession[]).find((s) => s.dialog.callId === callId && s.answeredAt !== undefined), { timeoutMs: 20_000 });
  const endedRecord = (id: string) => waitForValue('the ended call record', async () => {
    const row = (await listCalls(t.db, t.tenantId)).find((c) => c.id === id);
    return row?.endedAt ? row : undefined;
  }, { timeoutMs: 20_000 });

  test('the server hangs up a TLS call: the BYE reaches a self-signed UA over the UA\'s own connection', async () => {
    const ua = await selfSignedUa();
    try {
      const requests: Array<{ method: string; source: SipPeer }> = [];
      ua.transport.on('message', (m, source) => { if (m.kind === 'request') requests.push({ method: m.method, source }); });
      const dialog = await ua.invite({ uri: `sip:${t.number}@127.0.0.1:${tlsPort};transport=tls`, from: 'sip:ua@127.0.0.1', sdp: sdpOffer(rtpPort), timeoutMs: 20_000 });
      const session = await sessionOf(dialog.callId);
      await session.transport.hangup('agent-hangup');
      const bye = await waitForValue('the BYE', () => requests.find((r) => r.method === 'BYE'), { timeoutMs: 20_000 });
      assert.is(bye.source.transport, 'TLS');
      assert.is(bye.source.port, tlsPort, 'the BYE came from the server\'s TLS port: the connection the UA opened');
      assert.is(ua.transport.openConnections, 1, 'the server opened no connection of its own to the UA');
      await waitFor('the dialog to end', () => dialog.state === 'terminated', { timeoutMs: 5000 });
      const ended = await endedRecord(session.callId);
      assert.is(ended.endReason, 'agent-hangup');
    } finally {
      await ua.close();
    }
  });

  test('a BYE that cannot be delivered (the UA is gone) is logged without call details, and the call record still ends', async () => {
    const ua = await selfSignedUa();
    const dialog = await ua.invite({ uri: `sip:${t.number}@127.0.0.1:${tlsPort};transport=tls`, from: 'sip:ua@127.0.0.1', sdp: sdpOffer(rtpPort), timeoutMs: 20_000 });
    const session = await sessionOf(dialog.callId);
    await ua.close(); // its connection and its listener: the BYE has nowhere to go
    const serverTransport = t.server.calls.endpoint.transport;
    await waitFor('the server connection to the phone to close', () => serverTransport.connectionTo(session.dialog.nextHop()) === undefined, { timeoutMs: 10_000 });
    const before = logLines.length;
    await session.transport.hangup('agent-hangup');
    const ended = await endedRecord(session.callId);
    assert.is(ended.endReason, 'agent-hangup');
    const line = await waitForValue('the BYE failure in the log', () => logLines.slice(before).find((l) => l.includes('our BYE failed')), { timeoutMs: 20_000 });
    const entry = JSON.parse(line) as { status: number; callId: string; level: number };
    assert.is(entry.status, 503, 'a transport error');
    assert.is(entry.callId, session.callId);
    assert.not.match(line, /sip:|ua@|127\.0\.0\.1/, 'no URIs or addresses of the caller');
  });

  test('the server\'s own TLS connections verify the peer: refused by default, trusted with SMARTALEX_SIP_TLS_CA', async () => {
    const ua = await selfSignedUa();
    const uaUri = `sip:ua@127.0.0.1:${ua.ports.tls};transport=tls`;
    let trusting: TestServer | undefined;
    try {
      assert.is((await t.server.calls.endpoint.options(uaUri)).status, 503, 'a self-signed peer fails verification');
      trusting = await startTestServer({ env: { SMARTALEX_SIP_TLS_CERT: certFile, SMARTALEX_SIP_TLS_KEY: keyFile, SMARTALEX_SIP_TLS_PORT: '0', SMARTALEX_SIP_TLS_CA: uaCertFile } });
      assert.is((await trusting.server.calls.endpoint.options(uaUri)).status, 200, 'the configured CA is trusted');
    } finally {
      await trusting?.close();
      await ua.close();
    }
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
