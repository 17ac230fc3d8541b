/**
 * A media node for `smartalex bench --through-kamailio`: `smartalex serve` (bin/smartalex.js) in its own
 * process with the given settings, ready once it logs that it started (its SIP and HTTP ports are read
 * from that line). Only the last 64 KiB of its output are kept (they are shown if it fails).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const KEEP_OUTPUT = 64 * 1024;

export interface NodeProcess {
  id: string;
  child: ChildProcess;
  pid: number;
  sipPort: number;
  httpPort: number;
  output(): string;
  /** SIGTERM (a drain), SIGKILL after `timeoutMs`; resolves with the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export async function startNodeProcess(id: string, env: Record<string, string>, startTimeoutMs = 90_000): Promise<NodeProcess> {
  const child = spawn(process.execPath, [join(root, 'bin/smartalex.js'), 'serve'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '',
      SMARTALEX_HTTP_HOST: '127.0.0.1', SMARTALEX_HTTP_PORT: '0', SMARTALEX_DEMO: 'false', SMARTALEX_LOG_LEVEL: 'info',
      SMARTALEX_NODE_ID: id, ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: string): void => { out = (out + d).slice(-KEEP_OUTPUT); };
  let started: { httpPort: number; sipPorts: { udp?: number; tcp?: number } } | undefined;
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    keep(d);
    if (started) return;
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (line.startsWith('{') && line.includes('"msg":"smartalex media server started"')) started = JSON.parse(line) as typeof started;
    }
  });
  child.stderr!.setEncoding('utf8').on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + startTimeoutMs;
  while (!started) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`node ${id} did not start:\n${out.slice(-4000)}`);
    }
    await sleep(50);
  }
  const ready = started;
  return {
    id, child, pid: child.pid!, sipPort: ready.sipPorts.udp ?? ready.sipPorts.tcp ?? 0, httpPort: ready.httpPort, output: () => out,
    async stop(timeoutMs = 60_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try { return await exited; } finally { clearTimeout(timer); }
    },
  };
}
