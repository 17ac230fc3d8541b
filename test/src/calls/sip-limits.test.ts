/**
 * The SIP limit settings reach the running CallManager: the pending
 * transaction cap and the per-source TCP connection cap from the
 * configuration are the ones its endpoint enforces.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
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

test.run();
