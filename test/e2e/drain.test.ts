/**
 * Drain on SIGTERM (issue 16), through the real `smartalex serve` process: while a call is in progress
 * the node answers OPTIONS probes and new INVITEs (SIPp) with 503 and /readyz with 503 naming
 * "draining"; the call goes on until the caller hangs up, then the process exits 0. A call that outlives
 * SMARTALEX_DRAIN_TIMEOUT_S is ended by the server with a BYE (SIPp waits for it), recorded as
 * `node-drain`, and the process still exits 0.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { openConfiguredDatabase } from '../../src/database-setup.ts';
import { addNumber, createAgent, createTenant, listCalls } from '../../storage/index.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { describeSipp, runSipp } from './support/harness.ts';
import { startServerProcess } from './support/server-process.ts';
import { ownCall, type OwnCall } from './support/uac.ts';

/** A data directory with one tenant whose echo agent answers 2000 from 127.0.0.1. */
async function seededDataDir(): Promise<{ dir: string; tenantId: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-drain-'));
  const db = await openConfiguredDatabase(loadConfig({ SMARTALEX_DATA_DIR: dir, SMARTALEX_DEMO: 'false' }));
  try {
    const tenant = await createTenant(db, { name: 'drain' });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await addNumber(db, tenant.id, { number: '2000', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    return { dir, tenantId: tenant.id };
  } finally {
    await db.close();
  }
}

async function endReasons(dir: string, tenantId: string): Promise<Array<string | null>> {
  const db = await openConfiguredDatabase(loadConfig({ SMARTALEX_DATA_DIR: dir, SMARTALEX_DEMO: 'false' }));
  try {
    return (await listCalls(db, tenantId)).map((c) => c.endReason);
  } finally {
    await db.close();
  }
}

async function readyz(port: number): Promise<{ status: number; body: { failing?: string[] } }> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.json() as { failing?: string[] } };
}

test('SIGTERM: probes and new calls get 503, /readyz 503, the call in progress goes on; exit 0 once it ends', async () => {
  const { dir, tenantId } = await seededDataDir();
  const server = await startServerProcess({ SMARTALEX_DATA_DIR: dir, SMARTALEX_DRAIN_TIMEOUT_S: '600', SMARTALEX_RTP_TIMEOUT_S: '120' });
  const target = `127.0.0.1:${server.sipPort}`;
  let call: OwnCall | undefined;
  try {
    assert.is((await readyz(server.httpPort)).status, 200);
    call = await ownCall(server.sipPort);
    await waitFor('the call to be answered', () => server.logs('call answered').length === 1, { timeoutMs: 20_000 });
    server.child.kill('SIGTERM');
    const ready = await waitForValue('/readyz to turn 503', async () => { const r = await readyz(server.httpPort); return r.status === 503 ? r : undefined; }, { timeoutMs: 20_000, intervalMs: 50 });
    assert.equal(ready.body.failing, ['draining']);

    const probe = await runSipp(target, 'options-draining.xml');
    assert.is(probe.code, 0, describeSipp(probe));
    const refused = await runSipp(target, 'uac-refused-503.xml');
    assert.is(refused.code, 0, describeSipp(refused));

    // The call in progress is untouched: its media still flows both ways.
    const before = call.received.length;
    await call.sendTone(25);
    await waitFor('the echo of the tone', () => call!.received.length > before + 10, { timeoutMs: 10_000 });
    assert.is(call.dialog.state === 'terminated', false, 'the server must not hang up before the deadline');
    assert.is(server.child.exitCode, null, 'the server waits for the call');

    await call.close(); // the caller hangs up: nothing is left, the process exits
    call = undefined;
    assert.is(await server.stop('SIGTERM', 60_000), 0, server.output().slice(-3000));
    const drained = server.logs('drained')[0];
    assert.equal({ finished: drained?.finished, wrappedUp: drained?.wrappedUp, forced: drained?.forced }, { finished: 1, wrappedUp: 0, forced: 0 });
    assert.equal(await endReasons(dir, tenantId), ['remote-bye']);
  } finally {
    await call?.close();
    await server.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SIGTERM: a call that outlives SMARTALEX_DRAIN_TIMEOUT_S gets a BYE (node-drain); exit 0', async () => {
  const { dir, tenantId } = await seededDataDir();
  const server = await startServerProcess({ SMARTALEX_DATA_DIR: dir, SMARTALEX_DRAIN_TIMEOUT_S: '1', SMARTALEX_RTP_TIMEOUT_S: '120' });
  try {
    // SIPp sends no BYE of its own: it waits for the server's (20 s at most).
    const sipp = runSipp(`127.0.0.1:${server.sipPort}`, 'uac-call-server-bye.xml', [], 40);
    await waitFor('the call to be answered', () => server.logs('call answered').length === 1, { timeoutMs: 20_000 });
    server.child.kill('SIGTERM');
    const result = await sipp;
    assert.is(result.code, 0, describeSipp(result));
    assert.is(await server.stop('SIGTERM', 60_000), 0, server.output().slice(-3000));
    const drained = server.logs('drained')[0];
    assert.equal({ finished: drained?.finished, wrappedUp: drained?.wrappedUp }, { finished: 0, wrappedUp: 1 });
    assert.equal(await endReasons(dir, tenantId), ['node-drain']);
  } finally {
    await server.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
