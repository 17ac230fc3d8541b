/**
 * Debian's Kamailio running deploy/kamailio/kamailio.cfg in the foreground: on 127.0.0.1 at a free port of
 * its own, its dispatcher list naming the given nodes, logging to stderr, stopped by stop(). Used by
 * `smartalex bench --through-kamailio` and the Kamailio end-to-end tests. Needs the `kamailio` program.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const KAMAILIO_CFG = fileURLToPath(new URL('../../deploy/kamailio/kamailio.cfg', import.meta.url));

export interface Kamailio {
  port: number;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on every one of `hosts` right now (SIP binds both). */
export async function freeSipPort(hosts: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 30000 + Math.floor(Math.random() * 20000);
    let ok = true;
    for (const host of hosts) {
      ok &&= await new Promise<boolean>((resolve) => {
        const s = createSocket('udp4');
        s.once('error', () => resolve(false));
        s.bind(port, host, () => s.close(() => resolve(true)));
      });
      ok &&= await new Promise<boolean>((resolve) => {
        const s = createServer();
        s.once('error', () => resolve(false));
        s.listen(port, host, () => s.close(() => resolve(true)));
      });
      if (!ok) break;
    }
    if (ok) return port;
  }
  throw new Error('no free SIP port');
}

/** Resolves once something listens on UDP `port` (from /proc/net/udp; without /proc, after one second). */
async function udpPortBound(port: number, timeoutMs: number): Promise<void> {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let table: string;
    try {
      table = readFileSync('/proc/net/udp', 'utf8');
    } catch {
      return sleep(1000);
    }
    if (table.split('\n').slice(1).some((line) => line.trim().split(/\s+/)[1]?.endsWith(hex))) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on UDP ${port} in time`);
    await sleep(50);
  }
}

export async function startKamailio(nodes: string[], defines: Record<string, string | number> = {}): Promise<Kamailio> {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-kamailio-'));
  const list = join(dir, 'nodes.list');
  writeFileSync(list, nodes.map((uri) => `1 ${uri}\n`).join(''));
  const port = await freeSipPort(['127.0.0.1']);
  const args = [
    '-f', KAMAILIO_CFG, '-DD', '-E', '-m', '64', '-M', '8', '-Y', dir, '-P', join(dir, 'kamailio.pid'),
    '-l', `udp:127.0.0.1:${port}`, '-A', `DISPATCHER_LIST="${list}"`,
    ...Object.entries(defines).flatMap(([k, v]) => ['-A', `${k}=${v}`]),
  ];
  const child = spawn('kamailio', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (out += `\n${error.message}`));
  try {
    await udpPortBound(port, 20_000);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`kamailio did not start: ${(error as Error).message}\n${out.slice(-3000)}`);
  }
  return {
    port, child, output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
