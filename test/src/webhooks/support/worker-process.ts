/**
 * A delivery worker in its own process, for the crash test: opens the PGlite
 * database in WEBHOOK_TEST_DATA_DIR with the master key in
 * SMARTALEX_MASTER_KEY, delivers (loopback allowed) and says "ready".
 */
import { openDatabase, PostgresTenantKeyStore } from '../../../../storage/index.ts';
import { KeyRing, LocalMasterKey } from '../../../../storage/vault/index.ts';
import { WebhookDeliveryWorker } from '../../../../src/webhooks/index.ts';

const db = await openDatabase({ dataDir: process.env.WEBHOOK_TEST_DATA_DIR!, appRole: 'smartalex_app', owner: 'the webhook worker test process' });
const keys = new KeyRing({ master: LocalMasterKey.fromEnv()!, store: new PostgresTenantKeyStore(db) });
const worker = new WebhookDeliveryWorker({ db, keys, allowLoopback: true, timeoutMs: 60_000, pollMs: 50 });
worker.start();
process.stdout.write('ready\n');
