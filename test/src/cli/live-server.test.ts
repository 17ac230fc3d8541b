/**
 * Issue 22.1: the CLI beside a running server on one embedded data directory.
 * A real `smartalex serve` child owns the directory; `smartalex` commands run
 * against the same directory while it runs (they are carried to the server
 * over its admin socket and run there). The server writes before and after
 * them; after a restart nothing written is lost. A second `serve` on the same
 * directory exits with one line naming the owner; a server killed with
 * SIGKILL leaves a stale lock that does not block the next opener. A digest
 * password typed on the CLI's stdin reaches the server's command but never a
 * log. A command while another command owns the directory is refused in
 * one line naming it.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { lockDataDir } from '../../../storage/data-dir-lock.ts';
import { openDatabase, rows } from '../../../storage/index.ts';
import { ok, refusedWith, root, runCli } from './targets.ts';

interface Serve {
  child: ChildProcessWithoutNullStreams;
  httpPort: number;
  tenantId: string | undefined;
  output(): string;
  /** SIGTERM (twice: again once it logs that it is shutting down) or SIGKILL; resolves with the exit code. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<number | null>;
}

function serveEnv(dataDir: string): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', SMARTALEX_DATA_DIR: dataDir,
    SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_HTTP_PORT: '0', SMARTALEX_SIP_HOST: '127.0.0.1', SMARTALEX_SIP_PORT: '0',
    SMARTALEX_MEDIA_THREAD: 'false', SMARTALEX_LOG_LEVEL: 'info',
  };
}

/** Starts `serve` and resolves once it has logged its start-up line. */
function serve(dataDir: string): Promise<Serve> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve'], { cwd: root, env: serveEnv(dataDir), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  void exited.then(() => clearTimeout(timer));
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const line = out.split('\n').find((l) => l.includes('"smartalex media server started"'));
      if (!line) return;
      child.stdout.off('data', check);
      resolve({
        child,
        httpPort: (JSON.parse(line) as { httpPort: number }).httpPort,
        tenantId: /^ {2}tenant {3}(\S+)$/m.exec(out)?.[1],
        output: () => out,
        stop: async (signal = 'SIGTERM') => {
          child.kill(signal);
          if (signal === 'SIGTERM') {
            // a second signal while it closes (an impatient operator, a supervisor) must not cut the close short
            const deadline = Date.now() + 120_000;
            while (child.exitCode === null && child.signalCode === null && !out.includes('"shutting down"') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
            child.kill('SIGTERM');
          }
          return exited;
        },
      });
    };
    child.stdout.on('data', check);
    void exited.then((code) => reject(new Error(`serve exited (${code}) before starting:\n${out}`)));
  });
}

/**
 * A server-side write: minting a link (with the demo owner's API key) for a recording that does not
 * exist is refused, and the server audits the refusal in the tenant's log.
 */
async function serverWrites(server: Serve, dataDir: string, recordingId: string): Promise<void> {
  const apiKey = /owner API key (\S+)/.exec(readFileSync(join(dataDir, 'demo-credentials.txt'), 'utf8'))?.[1];
  assert.ok(apiKey, 'the demo owner API key is in the credentials file');
  const response = await fetch(`http://127.0.0.1:${server.httpPort}/v1/recordings/${recordingId}/link`, {
    method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: '{}', signal: AbortSignal.timeout(30_000),
  });
  assert.is(response.status, 404);
  await response.arrayBuffer();
}

test('CLI commands beside a running server lose nothing across a restart; a second serve is refused; a SIGKILLed server does not block the next opener', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-live-'));
  const env = { SMARTALEX_DATA_DIR: dataDir, SMARTALEX_MEDIA_THREAD: 'false' };
  const password = 'pw-on-stdin-7f3a9c';
  let server: Serve | undefined;
  try {
    server = await serve(dataDir);
    const tenantId = server.tenantId;
    assert.ok(tenantId, `demo tenant not announced:\n${server.output()}`);
    const before = randomUUID();
    const after = randomUUID();

    await serverWrites(server, dataDir, before);
    const created = JSON.parse(ok(await runCli(['agent', 'create', '--tenant', tenantId!, '--name', 'made-beside-the-server', '--mode', 'echo', '--json'], env), 'agent create')) as { agentId: string };
    const numbers = JSON.parse(ok(await runCli(['number', 'list', '--tenant', tenantId!, '--json'], env), 'number list')) as { number: string }[];
    assert.equal(numbers.map((n) => n.number), ['1000']);
    ok(await runCli(['number', 'add', '--tenant', tenantId!, '--number', '2000', '--agent', 'made-beside-the-server', '--digest-user', 'carrier', '--digest-password-stdin'], env, `${password}\n`), 'number add (password on stdin)');
    refusedWith(await runCli(['number', 'add', '--tenant', tenantId!, '--number', '3000', '--agent', 'nobody', '--allow', '127.0.0.1'], env), /^smartalex: no agent "nobody" in this tenant$/);
    // The first owner, made over the admin socket (password on stdin), logs in to the running server's /v1.
    const owner = JSON.parse(ok(await runCli(['user', 'create', '--tenant', tenantId!, '--email', 'first@example.com', '--role', 'owner', '--json'], env, 'Live-Server-Owner-9\n'), 'user create')) as { userId: string };
    const login = await fetch(`http://127.0.0.1:${server.httpPort}/v1/auth/login`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'first@example.com', password: 'Live-Server-Owner-9' }), signal: AbortSignal.timeout(10_000),
    });
    assert.is(login.status, 200);
    assert.is(((await login.json()) as { user: { id: string } }).user.id, owner.userId);
    await serverWrites(server, dataDir, after);

    // a second server on the same directory: one line naming the owner, exit 1
    const second = await runCli(['serve'], { ...serveEnv(dataDir) });
    refusedWith(second, new RegExp(`^smartalex: .* is in use by the server \\(pid ${server.child.pid}\\): one process at a time owns the embedded database; stop that server first`));

    assert.is(await server.stop(), 0, `serve did not stop cleanly:\n${server.output()}`);
    const log = server.output();
    assert.not.ok(log.includes(password), 'the stdin password reached the server\'s output');
    assert.match(log, /"command":"number add","code":0/);

    // restart: everything is there
    server = await serve(dataDir);
    const agents = JSON.parse(ok(await runCli(['agent', 'list', '--tenant', tenantId!, '--json'], env), 'agent list after restart')) as { id: string }[];
    assert.ok(agents.some((a) => a.id === created.agentId), 'the agent made beside the server is gone');
    const afterRestart = JSON.parse(ok(await runCli(['number', 'list', '--tenant', tenantId!, '--json'], env), 'number list')) as { number: string; digest: boolean }[];
    assert.equal(afterRestart.map((n) => [n.number, n.digest]), [['1000', false], ['2000', true]]);

    // SIGKILL leaves a stale lock (test/storage/data-dir-lock.test.ts covers it in detail); the next opener takes it over
    assert.is(await server.stop('SIGKILL'), null);
    server = undefined;
    const db = await openDatabase({ dataDir, appRole: 'smartalex_app' });
    try {
      const audited = rows<{ target: string }>(await db.owner.execute(sql`select target from audit_log where tenant_id = ${tenantId} and action = 'recording.link.refused'`)).map((r) => r.target);
      assert.ok(audited.some((t) => t.includes(before)), 'the server\'s write before the CLI commands is lost');
      assert.ok(audited.some((t) => t.includes(after)), 'the server\'s write after the CLI commands is lost');
    } finally {
      await db.close();
    }
  } finally {
    if (server) await server.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('a command while another command owns the directory (no server to run it) is refused with one line naming that command', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'smartalex-live-'));
  try {
    const lock = await lockDataDir(dataDir, '`smartalex tenant erase`');
    try {
      refusedWith(await runCli(['number', 'list', '--tenant', randomUUID()], { SMARTALEX_DATA_DIR: dataDir }),
        new RegExp(`^smartalex: .* is in use by \`smartalex tenant erase\` \\(pid ${process.pid}\\): one process at a time owns the embedded database; try again when it has finished$`));
    } finally {
      await lock.release();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test.run();
