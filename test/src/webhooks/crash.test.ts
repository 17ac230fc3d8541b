/**
 * A delivery worker killed (SIGKILL) while the receiver holds its request:
 * after a restart the message is delivered, with the same webhook-id, and
 * the call's later events follow in order; nothing is lost. PGlite on disk
 * (the database a killed embedded server leaves behind).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createAgent, createTenant, finishCall, listWebhookDeliveries, markCallAnswered, migrate, openDatabase, PostgresTenantKeyStore, startCall,
} from '../../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../../storage/vault/index.ts';
import { createWebhookEndpoint, WebhookDeliveryWorker } from '../../../src/webhooks/index.ts';
import { waitFor } from '../../support/poll.ts';
import { ManualClock, Receiver } from './support/receiver.ts';

const WORKER = fileURLToPath(new URL('./support/worker-process.ts', import.meta.url));

test('a worker killed mid-delivery loses nothing: the restarted one delivers the same message, then the rest in order', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-webhook-crash-'));
  const masterHex = randomBytes(32).toString('hex');
  const receiver = await Receiver.start();
  const open = () => openDatabase({ dataDir: dir, appRole: 'smartalex_app', owner: 'the webhook crash test' });
  const keyRing = (db: Awaited<ReturnType<typeof open>>) => new KeyRing({ master: LocalMasterKey.fromEnv({ SMARTALEX_MASTER_KEY: masterHex })!, store: new PostgresTenantKeyStore(db) });
  let child: ReturnType<typeof spawn> | undefined;
  try {
    let db = await open();
    await migrate(db);
    const tenant = await createTenant(db, { name: 'crash' });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    const { secret } = await createWebhookEndpoint(db, keyRing(db), tenant.id, { url: receiver.url, eventTypes: ['call.started', 'call.answered', 'call.ended'], actor: 'operator:test' });
    receiver.secrets = [secret];
    const call = await startCall(db, tenant.id, { agentId: agent.id, direction: 'inbound', fromUri: 'sip:a@x', toUri: 'sip:b@y', sipCallId: 'c1' });
    await markCallAnswered(db, tenant.id, call.id);
    await finishCall(db, tenant.id, call.id, { reason: 'bye' });
    await db.close();

    receiver.answer = () => (receiver.received.length === 0 ? 'hang' : 200);
    child = spawn(process.execPath, ['--import', 'tsx', WORKER], {
      env: { ...process.env, WEBHOOK_TEST_DATA_DIR: dir, SMARTALEX_MASTER_KEY: masterHex }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<void>((resolve) => child!.once('exit', () => resolve()));
    await waitFor('the worker process to send the first event', () => receiver.received.length >= 1, { timeoutMs: 60_000 });
    child.kill('SIGKILL');
    await exited;
    const held = receiver.received[0]!;
    assert.is(held.type, 'call.started');
    assert.is(receiver.accepted.length, 0);

    db = await open();
    try {
      // The killed worker's lease runs out (timeout x 2 + margin); the new worker's clock is past it.
      const clock = new ManualClock(Date.now() + 3 * 60_000);
      await new WebhookDeliveryWorker({ db, keys: keyRing(db), allowLoopback: true, clock: clock.now }).runOnce();
      assert.equal(receiver.accepted.map((r) => r.type), ['call.started', 'call.answered', 'call.ended']);
      assert.is(receiver.accepted[0]!.id, held.id, 'the interrupted message is re-sent with the same webhook-id');
      assert.is(new Set(receiver.accepted.map((r) => r.id)).size, 3, 'each delivered once');
      const deliveries = await listWebhookDeliveries(db, tenant.id);
      assert.ok(deliveries.every((d) => d.status === 'delivered'));
    } finally {
      await db.close();
    }
  } finally {
    child?.kill('SIGKILL');
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
