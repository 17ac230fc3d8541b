/**
 * `smartalex keys rotate-master` beside a live server (embedded data
 * directory): the command is carried to the server over its admin socket and
 * the server's own key ring switches when the re-wrap commits. A call in
 * progress across the rotation keeps being answered (echo) and its recording
 * completes; a recording made before it still streams through a link minted
 * after it; a tenant made after it gets a key under the new master. After a
 * restart with the data directory's key file (now the new key only), all
 * three recordings decrypt to what the server read while it ran.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { parseWav } from '../../media/audio/index.ts';
import { addNumber, createAgent, createTenant, listRecordings, openDatabase, PostgresTenantKeyStore, type RecordingRow } from '../../storage/index.ts';
import { LocalMasterKey } from '../../storage/vault/index.ts';
import { openRecordingVault } from '../../src/recordings/index.ts';
import type { SipCallSession as CallSession } from '../../src/calls/index.ts';
import { ok, runCli } from '../src/cli/targets.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { toneBurst } from './support/energy.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { ownCall } from './support/uac.ts';

let t: TestServer | undefined;
let serverClosed = false;
const started: CallSession[] = [];

test.after(async () => {
  if (!t) return;
  if (!serverClosed) await t.server.close();
  rmSync(t.dir, { recursive: true, force: true });
});

async function completedRecording(db: TestServer['db'], tenantId: string, callId: string): Promise<RecordingRow> {
  return waitForValue(`the completed recording of call ${callId}`, async () => {
    const [row] = await listRecordings(db, tenantId, { callId });
    return row?.completedAt ? row : undefined;
  }, { timeoutMs: 60_000, intervalMs: 50 });
}

async function sessionAt(index: number): Promise<CallSession> {
  return waitForValue(`call ${index + 1} at the call manager`, () => started[index], { timeoutMs: 60_000, intervalMs: 20 });
}

test('rotate-master beside a live server: a call across the rotation is served and recorded, an old recording still streams, and after a restart with the new key only everything decrypts', async () => {
  t = await startTestServer({ agent: { recordingEnabled: true } });
  const server = t;
  server.server.calls.on('call-started', (s) => started.push(s as CallSession));
  const env = { SMARTALEX_DATA_DIR: server.dir };
  const oldMaster = await LocalMasterKey.fromKeyFile(join(server.dir, 'master.key'));

  // A recording made before the rotation.
  const first = await ownCall(server.server.sipPort);
  await first.sendPcm(toneBurst(1.0, 0.2, 0.8));
  await first.close();
  const oldRow = await completedRecording(server.db, server.tenantId, (await sessionAt(0)).callId);
  const oldRef = { tenantId: server.tenantId, recordingId: oldRow.id };
  const oldPcm = (await server.server.recordings.vault.read(oldRef)).pcm;

  // A call in progress across the rotation.
  const during = await ownCall(server.server.sipPort);
  let stop = false;
  const sending = during.sendPcm(toneBurst(180, 0, 180), { stop: () => stop });
  try {
    const duringSession = await sessionAt(1);
    await waitFor('the echo of the call in progress', () => during.received.length > 10, { timeoutMs: 60_000 });

    const newKeyPath = join(server.dir, 'new-master.key');
    const out = ok(await runCli(['keys', 'rotate-master', '--generate', '--out', newKeyPath], env), 'rotate-master beside the server');
    const newMaster = await LocalMasterKey.fromKeyFile(newKeyPath);
    assert.match(out, new RegExp(`master key rotated: ${oldMaster.keyId} -> ${newMaster.keyId}; 1 tenant key versions of 1 tenants re-wrapped`));
    assert.is(server.server.recordings.vault.keys.masterKeyId, newMaster.keyId, 'the live server did not switch');

    const echoedAtRotation = during.received.length;
    await waitFor('the echo after the rotation', () => during.received.length > echoedAtRotation + 25, { timeoutMs: 60_000 });
    stop = true;
    await sending;
    await during.close();
    const duringRow = await completedRecording(server.db, server.tenantId, duringSession.callId);
    const duringPcm = (await server.server.recordings.vault.read({ tenantId: server.tenantId, recordingId: duringRow.id })).pcm;
    assert.ok(duringPcm.length > 0);

    // The old recording streams through a link minted (inside the server) after the rotation.
    const link = ok(await runCli(['recording', 'link', oldRow.id, '--tenant', server.tenantId], env), 'recording link').split('\n')[0]!;
    const response = await fetch(`http://127.0.0.1:${server.server.httpPort}${link}`, { signal: AbortSignal.timeout(30_000) });
    assert.is(response.status, 200);
    assert.ok(parseWav(Buffer.from(await response.arrayBuffer())).data.equals(oldPcm), 'the old recording streams as it was');

    // A tenant made after the rotation: its key is wrapped by the new master, and its call records.
    const fresh = await createTenant(server.db, { name: 'after-rotation' });
    const freshAgent = await createAgent(server.db, fresh.id, { name: 'echo', mode: 'echo', recordingEnabled: true });
    await addNumber(server.db, fresh.id, { number: '2002', agentId: freshAgent.id, allowedCidrs: ['127.0.0.1/32'] });
    const after = await ownCall(server.server.sipPort, { number: '2002' });
    await after.sendPcm(toneBurst(1.0, 0.2, 0.8));
    await after.close();
    const afterRow = await completedRecording(server.db, fresh.id, (await sessionAt(2)).callId);
    assert.is((await new PostgresTenantKeyStore(server.db).get(fresh.id))?.masterKeyId, newMaster.keyId);
    const afterPcm = (await server.server.recordings.vault.read({ tenantId: fresh.id, recordingId: afterRow.id })).pcm;

    // Restart: the data directory's key file is the new key, and it alone reads all three.
    await server.server.close();
    serverClosed = true;
    const db = await openDatabase({ dataDir: server.dir, appRole: 'smartalex_app' });
    try {
      const setup = await openRecordingVault({ SMARTALEX_DATA_DIR: server.dir, SMARTALEX_MASTER_KEY: undefined }, db);
      assert.is(setup.vault.keys.masterKeyId, newMaster.keyId);
      assert.ok((await setup.vault.read(oldRef)).pcm.equals(oldPcm), 'the old recording after the restart');
      assert.ok((await setup.vault.read({ tenantId: server.tenantId, recordingId: duringRow.id })).pcm.equals(duringPcm), 'the recording across the rotation after the restart');
      assert.ok((await setup.vault.read({ tenantId: fresh.id, recordingId: afterRow.id })).pcm.equals(afterPcm), 'the recording after the rotation after the restart');
    } finally {
      await db.close();
    }
  } finally {
    stop = true;
    await sending.catch(() => undefined);
    await during.close().catch(() => undefined);
  }
});

test.run();
