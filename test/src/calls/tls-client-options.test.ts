/**
 * The server's outgoing TLS settings, from configuration to a real handshake:
 * by default the peer's certificate is verified (a self-signed peer is not
 * reached), SMARTALEX_SIP_TLS_CA adds trusted roots to Node's list, and
 * SMARTALEX_SIP_TLS_VERIFY=false reaches any peer. Throwaway certificates are
 * made with openssl in a temp dir.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { callManagerOptions } from '../../../src/calls/call-manager.ts';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { SipEndpoint } from '../../../media/sip/index.ts';
import type { Database } from '../../../storage/index.ts';
import { hasCommand, needExternal } from '../../support/external.ts';

const run = needExternal(hasCommand('openssl'), 'openssl', 'the outgoing SIP TLS verification test');

if (run) {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-tls-client-'));
  const certFile = join(dir, 'peer-cert.pem');
  const keyFile = join(dir, 'peer-key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=smartalex-test-peer', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 60_000 });
  let peer: SipEndpoint;

  test.before(async () => {
    peer = await SipEndpoint.create({ host: '127.0.0.1', udpPort: null, tcpPort: null, tls: { port: 0, cert: readFileSync(certFile), key: readFileSync(keyFile) }, guard: false });
  });

  test.after(async () => {
    await peer?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** OPTIONS to the self-signed peer from an endpoint with the TLS client settings this configuration gives the server. */
  async function optionsWith(env: Record<string, string>): Promise<number> {
    const options = callManagerOptions(loadConfig(env), {} as Database, createLogger('silent'));
    // Its own TLS listener only names a port for its Via; the peer does not check it.
    const tls = { port: 0, cert: readFileSync(certFile), key: readFileSync(keyFile) };
    const ep = await SipEndpoint.create({ host: '127.0.0.1', udpPort: null, tcpPort: null, tls, ...(options.tlsClient ? { tlsClient: options.tlsClient } : {}), guard: false });
    try {
      return (await ep.options(`sip:peer@127.0.0.1:${peer.ports.tls};transport=tls`)).status;
    } finally {
      await ep.close();
    }
  }

  test('default: the peer is verified, so a self-signed peer is not reached (a transport error)', async () => {
    assert.is(callManagerOptions(loadConfig({}), {} as Database, createLogger('silent')).tlsClient?.rejectUnauthorized, true);
    assert.is(await optionsWith({}), 503);
  });

  test('SMARTALEX_SIP_TLS_CA: the peer verifies, and Node\'s own roots stay trusted', async () => {
    const ca = callManagerOptions(loadConfig({ SMARTALEX_SIP_TLS_CA: certFile }), {} as Database, createLogger('silent')).tlsClient?.ca ?? [];
    assert.is(ca.length, rootCertificates.length + 1);
    assert.is(await optionsWith({ SMARTALEX_SIP_TLS_CA: certFile }), 200);
  });

  test('SMARTALEX_SIP_TLS_VERIFY=false: any certificate is accepted', async () => {
    assert.is(await optionsWith({ SMARTALEX_SIP_TLS_VERIFY: 'false' }), 200);
  });
}

test.run();
