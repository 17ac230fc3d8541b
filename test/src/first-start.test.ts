/**
 * First start: `smartalex serve` on an empty data directory (and on an empty
 * Postgres server database) migrates, provisions a demo tenant with agent
 * "demo" at number 1000 allowed from 127.0.0.1, says so, writes the owner key
 * to a 0600 file and never to its output; a second start provisions nothing.
 * HTTP and SIP bind ephemeral loopback ports (port 0) and the bound ports are
 * reported in the start-up log line.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { authenticateApiKey, getAgent, listTenantIds, routeNumber } from '../../storage/index.ts';
import { describeDemo } from '../../src/provision.ts';
import { root, targetKinds, type Target } from './cli/targets.ts';

interface Run { stdout: string; stderr: string; code: number | null; httpPort: number; sipPort: number; health: number; ready: { status: number; body: unknown } }

/** Starts `serve`, waits for its start-up line, probes HTTP, stops it with SIGTERM. */
function serveOnce(target: Target): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...target.env,
        SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_HTTP_PORT: '0',
        SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_SIP_PORT: '0',
        SMARTALEX_LOG_LEVEL: 'info',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let started: Promise<Omit<Run, 'stdout' | 'stderr' | 'code'>> | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000); // bounds a hang: a first start on a loaded machine took over a minute
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (started) return;
      const line = stdout.split('\n').find((l) => l.includes('"smartalex media server started"'));
      if (!line) return;
      const entry = JSON.parse(line) as { httpPort: number; sipPorts?: { udp?: number; tcp?: number } };
      started = probe(entry.httpPort).then((p) => ({ ...p, httpPort: entry.httpPort, sipPort: entry.sipPorts?.udp ?? entry.sipPorts?.tcp ?? 0 }));
      started.finally(() => child.kill('SIGTERM')).catch(() => undefined);
    });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (!started) return reject(new Error(`serve exited (${code}) before starting:\n${stdout}\n${stderr}`));
      started.then((p) => resolve({ ...p, stdout, stderr, code }), reject);
    });
  });
}

async function probe(port: number): Promise<{ health: number; ready: { status: number; body: unknown } }> {
  const health = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(10_000) });
  await health.arrayBuffer();
  const ready = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) });
  return { health: health.status, ready: { status: ready.status, body: await ready.json() } };
}

for (const kind of await targetKinds()) {
  test(`[${kind.name}] first start provisions the demo once, keeps its key out of the output`, async () => {
    const target = await kind.create();
    try {
      const first = await serveOnce(target);
      assert.is(first.code, 0, `serve did not stop cleanly:\n${first.stderr}`);
      assert.is(first.stderr, '', 'serve wrote to stderr');
      assert.ok(first.httpPort > 0, 'bound HTTP port not reported');
      assert.ok(first.sipPort > 0, 'bound SIP port not reported');
      assert.is(first.health, 200);
      assert.is(first.ready.status, 200);
      assert.is((first.ready.body as { checks: { database: boolean } }).checks.database, true);

      // it says so, with the bound SIP port
      assert.match(first.stdout, /First start: created a demo tenant\./);
      assert.ok(first.stdout.includes(`sip:1000@127.0.0.1:${first.sipPort} (allowed from 127.0.0.1)`), first.stdout);
      const tenantId = /^ {2}tenant {3}(\S+)$/m.exec(first.stdout)?.[1];
      assert.ok(tenantId, 'tenant id not printed');

      // the key: in a 0600 file, never in the output (stdout is not a terminal here)
      const file = join(target.dataDir, 'demo-credentials.txt');
      assert.is(statSync(file).mode & 0o777, 0o600);
      const credentials = readFileSync(file, 'utf8');
      const apiKey = /owner API key (sak_\S+)/.exec(credentials)?.[1];
      assert.ok(apiKey, 'no key in the credentials file');
      assert.ok(credentials.includes(tenantId!));
      assert.ok(first.stdout.includes(file), 'output does not say where the key is');
      const secretPart = apiKey!.slice(13);
      assert.not.ok(first.stdout.includes(secretPart) || first.stderr.includes(secretPart), 'owner key in the output');
      // every non-blank output line after the banner is a JSON log line
      for (const line of first.stdout.split('\n').filter((l) => l.startsWith('{'))) JSON.parse(line);

      const second = await serveOnce(target);
      assert.is(second.code, 0);
      assert.is(second.ready.status, 200);
      assert.not.match(second.stdout, /First start|demo tenant provisioned/);
      assert.is(readFileSync(file, 'utf8'), credentials, 'credentials file rewritten');

      const db = await target.open();
      try {
        assert.equal(await listTenantIds(db), [tenantId]);
        const route = await routeNumber(db, '1000');
        assert.is(route?.tenantId, tenantId);
        assert.ok(route?.allowedCidrs.includes('127.0.0.1/32'), `1000 not allowed from 127.0.0.1: ${route?.allowedCidrs}`);
        const agent = await getAgent(db, tenantId!, 'demo');
        assert.is(route?.agentId, agent?.id);
        assert.is((await authenticateApiKey(db, apiKey!))?.role, 'owner');
      } finally {
        await db.close();
      }
    } finally {
      await target.cleanup();
    }
  });
}

test('the demo banner shows the key only on a terminal', () => {
  const demo = { tenantId: 't-1', agentId: 'a-1', number: '1000', apiKey: 'sak_AAAAAAAA_secret', credentialsFile: '/data/demo-credentials.txt' };
  const tty = describeDemo(demo, 5062, true);
  assert.ok(tty.includes('sak_AAAAAAAA_secret'));
  assert.ok(tty.includes('sip:1000@127.0.0.1:5062'));
  const piped = describeDemo(demo, 5062, false);
  assert.not.ok(piped.includes('sak_AAAAAAAA_secret'));
  assert.ok(piped.includes('/data/demo-credentials.txt'));
});

test.run();
