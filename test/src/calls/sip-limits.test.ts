/**
 * The SIP limit settings reach the running CallManager: the pending
 * transaction cap and the per-source TCP connection cap from the
 * configuration are the ones its endpoint enforces; so are the flood guard's
 * rate and its trusted sources (a Kamailio in front sends every call).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { createConnection, type Socket } from 'node:net';
import { CallManager, callManagerOptions } from '../../../src/calls/index.ts';
import { loadConfig } from '../../../src/config.ts';
import { createLogger } from '../../../src/log.ts';
import { migrate, openDatabase } from '../../../storage/index.ts';
import { waitFor } from '../../support/poll.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


test('SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS and SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE are enforced by serve\'s endpoint', async () => {
  const db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const config = loadConfig({ SMARTALEX_SIP_MAX_PENDING_TRANSACTIONS: '7', SMARTALEX_SIP_MAX_CONNECTIONS_PER_SOURCE: '2', SMARTALEX_SIP_MESSAGE_TIMEOUT_S: '30' });
  const options = callManagerOptions(config, db, createLogger('silent'));
  assert.equal(options.sipLimits, { messageTimeoutMs: 30_000, maxConnections: 1000, maxConnectionsPerSource: 2, maxPendingTransactions: 7 });
  const manager = await CallManager.start({ ...options, host: '127.0.0.1', port: 0, mediaThread: false });
  const sockets: Socket[] = [];
  try {
    assert.is(manager.endpoint.transactions.maxPending, 7);
    const closed: boolean[] = [];
    for (let i = 0; i < 3; i++) {
      const s = createConnection({ host: '127.0.0.1', port: manager.sipPorts.tcp! });
      const n = i;
      closed[n] = false;
      s.on('error', () => undefined);
      s.on('close', () => { closed[n] = true; });
      sockets.push(s);
      await new Promise<void>((r) => s.once('connect', () => r()));
    }
    await waitFor('the third connection closed', () => closed[2] === true);
    assert.not.ok(closed[0] || closed[1]);
    assert.is(manager.endpoint.transport.stats.dropped['source-connection-limit'], 1);
  } finally {
    for (const s of sockets) s.destroy();
    await manager.close();
    await db.close();
  }
});

test('SMARTALEX_SIP_TRUSTED_SOURCES are never banned; SMARTALEX_SIP_GUARD_BURST holds everyone else', async () => {
  const db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const config = loadConfig({ SMARTALEX_SIP_TRUSTED_SOURCES: '127.0.0.1, 10.0.0.0/8', SMARTALEX_SIP_GUARD_RATE: '1', SMARTALEX_SIP_GUARD_BURST: '5' });
  const options = callManagerOptions(config, db, createLogger('silent'));
  assert.equal(options.guard, { trustedSources: ['127.0.0.1/32', '10.0.0.0/8'], ratePerSecond: 1, burst: 5 });
  const manager = await CallManager.start({ ...options, host: '127.0.0.1', port: 0, mediaThread: false });
  const sockets = await Promise.all(['127.0.0.1', '127.0.0.2'].map(async (address) => {
    const socket = createSocket('udp4');
    const answered = new Set<string>();
    socket.on('message', (m) => { const id = /Call-ID: (\S+)/i.exec(m.toString())?.[1]; if (id) answered.add(id); });
    await new Promise<void>((r) => socket.bind(0, address, r));
    return { socket, answered, address };
  }));
  try {
    const send = (from: (typeof sockets)[number], i: number): void => {
      const port = from.socket.address().port;
      from.socket.send(Buffer.from([
        'OPTIONS sip:agent@127.0.0.1 SIP/2.0', `Via: SIP/2.0/UDP ${from.address}:${port};branch=z9hG4bK-trust-${i};rport`,
        'From: <sip:kamailio@example.com>;tag=1', 'To: <sip:agent@example.com>', `Call-ID: trust-${from.address}-${i}`,
        'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
      ].join('\r\n')), manager.sipPorts.udp!, '127.0.0.1');
    };
    const [trusted, untrusted] = sockets as [(typeof sockets)[number], (typeof sockets)[number]];
    for (let i = 0; i < 30; i++) {
      send(trusted, i);
      if (i % 10 === 9) await waitFor(`${i + 1} answers to the trusted source`, () => trusted.answered.size >= i + 1);
    }
    await waitFor('every request of the trusted source answered', () => trusted.answered.size === 30);
    assert.not.ok(manager.endpoint.guard!.isBanned('127.0.0.1'));
    for (let i = 0; i < 10; i++) send(untrusted, i);
    await waitFor('the untrusted source banned', () => manager.endpoint.guard!.isBanned('127.0.0.2'));
    assert.ok(untrusted.answered.size <= 5, `the untrusted source got ${untrusted.answered.size} answers, burst 5`);
    assert.match(configError({ SMARTALEX_SIP_TRUSTED_SOURCES: '0.0.0.0/0' }), /^SMARTALEX_SIP_TRUSTED_SOURCES: .*admits every IPv4 source/);
    assert.match(configError({ SMARTALEX_SIP_TRUSTED_SOURCES: '10.1.2.3/8' }), /^SMARTALEX_SIP_TRUSTED_SOURCES: /);
  } finally {
    for (const s of sockets) s.socket.close();
    await manager.close();
    await db.close();
  }
});

function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('the configuration was accepted');
}

test.run();
