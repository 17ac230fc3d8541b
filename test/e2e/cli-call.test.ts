/**
 * `smartalex call` as a user runs it, against a SIPp UAS that plays the
 * carrier: digest challenge (401), authenticated INVITE, answer, audio, BYE
 * from the carrier. The outbound call row is checked afterwards.
 *
 * Load: if our INVITE is retransmitted before SIPp's 401 is read, the 401
 * comes twice and its second ACK can follow the authenticated INVITE; the
 * UAS scenario absorbs that ACK (uas-auth.xml), and the transaction layer no
 * longer retransmits a request whose answer is already waiting (it lets
 * pending I/O run first after a stall), which made this test flaky.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { openConfiguredDatabase } from '../../src/database-setup.ts';
import { addNumber, createAgent, createTenant, listCalls, listCallEvents, type Database } from '../../storage/index.ts';
import { grantConsent, setCallingPolicy } from '../../src/compliance/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { startSippUas } from './support/harness.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the `smartalex call` end-to-end test');
/** The outbound policy lets these calls through: a number to present, consent for the callee, any hour. */
async function allowOutbound(db: Database, tenantId: string, agentId: string): Promise<void> {
  await addNumber(db, tenantId, { number: '+14152100000', agentId, allowedCidrs: [] });
  await grantConsent(db, tenantId, '4152101234', { source: 'e2e test' });
  await setCallingPolicy(db, tenantId, { windowStart: '00:00', windowEnd: '24:00' }); // tests run at any hour
}

/** A tenant with an echo agent allowed to call out; the database is closed either way (an open PGlite keeps the test process alive). */
async function seedOutbound(db: Database): Promise<{ tenant: { id: string }; agent: { id: string } }> {
  try {
    const tenant = await createTenant(db, { name: 'outbound' });
    const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
    await allowOutbound(db, tenant.id, agent.id);
    return { tenant, agent };
  } finally {
    await db.close();
  }
}

const root = fileURLToPath(new URL('../../', import.meta.url));

function exec(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs: number }): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeoutMs }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
    child.stdin?.end(options.input ?? '');
  });
}

if (run) {
  test('smartalex call answers the carrier\'s digest challenge, runs the agent and records the outbound call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalex-cli-call-'));
    const env = { ...process.env, SMARTALEX_DATA_DIR: dir, SMARTALEX_DEMO: 'false', SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_LOG_LEVEL: 'warn', SMARTALEX_HTTP_PORT: '0' };
    try {
      const config = loadConfig(env);
      let db = await openConfiguredDatabase(config);
      const { tenant, agent } = await seedOutbound(db);

      const carrier = await startSippUas('uas-auth.xml', ['-m', '1', '-timeout', '60s', '-timeout_error', '-trace_err', '-error_file', join(dir, 'sipp-errors.log')], { timeoutMs: 90_000 });
      const port = carrier.sipPort;
      const cli = await exec(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'call', '4152101234', '--tenant', tenant.id, '--agent', 'echo', '--via', `sip:127.0.0.1:${port}`, '--timeout', '10', '--digest-user', 'carrier', '--digest-password-stdin'], { cwd: root, env, input: 'carrier-secret\n', timeoutMs: 90_000 });
      const sipp = await carrier.done;
      assert.is(cli.code, 0, cli.stderr);
      assert.is(sipp.code, 0, sipp.stdout.slice(-2000));
      assert.match(cli.stdout, /answered after \d+ ms, ended: remote-bye/);
      assert.not.match(cli.stdout + cli.stderr, /carrier-secret/);

      db = await openConfiguredDatabase(config);
      const calls = await listCalls(db, tenant.id);
      assert.is(calls.length, 1);
      const call = calls[0]!;
      assert.is(call.direction, 'outbound');
      assert.is(call.agentId, agent.id);
      assert.is(call.endReason, 'remote-bye');
      assert.ok(call.answeredAt);
      assert.match(call.toUri, new RegExp(`^sip:\\+?1?4152101234@127\\.0\\.0\\.1:${port}$`));
      const types = (await listCallEvents(db, tenant.id, call.id)).map((e) => e.type);
      assert.ok(types.includes('sip'));
      await db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('smartalex call reports a carrier refusal in one line and exits non-zero', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalex-cli-call-'));
    const env = { ...process.env, SMARTALEX_DATA_DIR: dir, SMARTALEX_DEMO: 'false', SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_LOG_LEVEL: 'silent' };
    try {
      const config = loadConfig(env);
      const { tenant } = await seedOutbound(await openConfiguredDatabase(config));
      const carrier = await startSippUas('uas-auth.xml', ['-m', '1', '-timeout', '60s'], { timeoutMs: 90_000 });
      const port = carrier.sipPort;
      const cli = await exec(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'call', '4152101234', '--tenant', tenant.id, '--agent', 'echo', '--via', `sip:127.0.0.1:${port}`, '--timeout', '10', '--digest-user', 'carrier', '--digest-password-stdin'], { cwd: root, env, input: 'wrong\n', timeoutMs: 90_000 });
      await carrier.done;
      assert.is.not(cli.code, 0);
      assert.match(cli.stderr, /^smartalex: call failed: 403 Forbidden\n$/m);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
