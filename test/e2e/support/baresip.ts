/**
 * A real SIP phone for the interop suite: Debian's baresip (1.0), headless,
 * driven over its `ctrl_tcp` module (netstring-framed JSON commands and
 * events) with `aufile` as its microphone. Each instance gets its own config
 * directory, loopback ports and account line; nothing here is written by
 * hand that baresip already does (SIP, SDP, RTP, digest, DTMF, TLS are its own).
 *
 * Commands are the `menu` module's (dial, hangup, hold, resume, sndcode...);
 * events are baresip's UA events (CALL_ESTABLISHED, CALL_CLOSED...), kept in
 * order so a test can wait for one with a deadline.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../../support/poll.ts';
import { freeMediaPort } from './harness.ts';

export interface BaresipEvent {
  type: string;
  /** CALL_RTCP: the phone's RTP counters (rx.sent: packets it received from us). */
  rtcp_stats?: { tx: { sent: number; lost: number }; rx: { sent: number; lost: number } };
  class?: string;
  param?: string;
  peeruri?: string;
  id?: string;
  [key: string]: unknown;
}

export interface BaresipOptions {
  /** Codecs the phone offers, in order (baresip names: PCMU, PCMA, G722). Default PCMU, PCMA. */
  codecs?: string[];
  /** Digest credentials the phone answers challenges with. */
  auth?: { user: string; password: string };
  /** Microphone: a WAV file (8 or 16 kHz mono PCM16) played in a loop. */
  audioFile: string;
  /** PEM with the phone's own certificate and key (listens for TLS with it). */
  tlsCertificate?: string;
  /** PEM of the CA the phone trusts for outgoing TLS. */
  tlsCaFile?: string;
  /** Extra config lines. */
  config?: string[];
  /** Media encryption of the account (baresip's `mediaenc`), e.g. `srtp-mand` (loads the srtp module). */
  mediaenc?: string;
}

// The account module reads the accounts file as it loads, so the codecs its audio_codecs names must load first.
const MODULES = ['g711.so', 'g722.so', 'aufile.so', 'aubridge.so', 'ctrl_tcp.so', 'menu.so', 'account.so'];

async function freeTcpPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export class Baresip {
  readonly events: BaresipEvent[] = [];
  private output = '';
  private buffer = Buffer.alloc(0);
  private readonly waiting = new Map<string, (reply: { ok: boolean; data: string }) => void>();
  private token = 0;
  private exited = false;

  private constructor(
    private readonly child: ChildProcess,
    private readonly control: Socket,
    private readonly dir: string,
    /** The phone's SIP address (UDP and TCP on this port; TLS on sipPort + 1 when a certificate is given). */
    readonly sipPort: number,
  ) {
    control.on('data', (chunk: Buffer) => this.onData(chunk));
    child.on('exit', () => { this.exited = true; });
  }

  /**
   * Starts a phone on free loopback ports. The ports are probed free, then bound by baresip: another
   * process can take one in between, so a start that fails on "Address already in use" is retried.
   */
  static async start(options: BaresipOptions): Promise<Baresip> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await Baresip.startOnce(options);
      } catch (error) {
        if (attempt >= 5 || !/Address already in use/.test((error as Error).message)) throw error;
      }
    }
  }

  private static async startOnce(options: BaresipOptions): Promise<Baresip> {
    const dir = mkdtempSync(join(tmpdir(), 'smartalex-baresip-'));
    const sipPort = await freeMediaPort();
    const rtpBase = await freeMediaPort();
    const controlPort = await freeTcpPort();
    const lines = [
      'module_path /usr/lib/baresip/modules',
      ...(options.mediaenc ? ['module srtp.so'] : []),
      ...MODULES.map((m) => `module ${m}`),
      `sip_listen 127.0.0.1:${sipPort}`,
      `audio_source aufile,${options.audioFile}`,
      'audio_player aubridge,sink',
      'audio_alert aubridge,sink',
      `ctrl_tcp_listen 127.0.0.1:${controlPort}`,
      `rtp_ports ${rtpBase}-${rtpBase + 3}`,
      ...(options.tlsCertificate ? [`sip_certificate ${options.tlsCertificate}`] : []),
      ...(options.tlsCaFile ? [`sip_cafile ${options.tlsCaFile}`] : []),
      ...(options.config ?? []),
    ];
    writeFileSync(join(dir, 'config'), lines.join('\n') + '\n');
    // Full names: baresip reads a bare name as <name>/8000/1, which misses G.722 (16000) and then offers every codec.
    const codecs = (options.codecs ?? ['PCMU', 'PCMA']).map((c) => `${c}/${c === 'G722' ? 16000 : 8000}/1`);
    const params = [`regint=0`, `audio_codecs=${codecs.join(',')}`];
    if (options.mediaenc) params.push(`mediaenc=${options.mediaenc}`);
    if (options.auth) params.push(`auth_user=${options.auth.user}`, `auth_pass=${options.auth.password}`);
    writeFileSync(join(dir, 'accounts'), `<sip:phone@127.0.0.1>;${params.join(';')}\n`);
    writeFileSync(join(dir, 'contacts'), '');
    // -4 -n 127.0.0.1: loopback only (its default is the first interface, unreachable from our loopback-bound server).
    const child = spawn('baresip', ['-4', '-n', '127.0.0.1', ...(process.env.BARESIP_TRACE ? ['-s'] : []), '-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    try {
      await waitFor('baresip to start', () => output.includes('baresip is ready') || child.exitCode !== null, { timeoutMs: 20_000 });
      if (child.exitCode !== null) throw new Error(`baresip exited (${child.exitCode}): ${output.slice(-2000)}`);
      const control = connect(controlPort, '127.0.0.1');
      await new Promise<void>((resolve, reject) => { control.once('connect', resolve); control.once('error', reject); });
      const phone = new Baresip(child, control, dir, sipPort);
      phone.output = output;
      child.stdout!.on('data', (d: Buffer) => { phone.output += d.toString(); });
      child.stderr!.on('data', (d: Buffer) => { phone.output += d.toString(); });
      return phone;
    } catch (error) {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Runs a `menu` command (e.g. `dial`, `hangup`, `hold`, `resume`, `sndcode`) and returns baresip's reply. */
  command(command: string, params = ''): Promise<{ ok: boolean; data: string }> {
    const token = String(++this.token);
    const body = Buffer.from(JSON.stringify({ command, params, token }));
    this.control.write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.waiting.delete(token); reject(new Error(`baresip: no reply to ${command}\n${this.log()}`)); }, 15_000);
      this.waiting.set(token, (reply) => { clearTimeout(timer); resolve(reply); });
    });
  }

  dial(uri: string): Promise<{ ok: boolean; data: string }> {
    return this.command('dial', uri);
  }

  /** Sends DTMF digits one by one (RFC 4733 events, baresip's `sndcode`). */
  async sendDigits(digits: string): Promise<void> {
    for (const digit of digits) await this.command('sndcode', digit);
  }

  /** Waits for the first event of `type` after index `from` (default: any so far). */
  async waitEvent(type: string, options: { from?: number; timeoutMs?: number } = {}): Promise<BaresipEvent> {
    let found: BaresipEvent | undefined;
    let closed: BaresipEvent | undefined;
    await waitFor(`baresip event ${type}`, () => {
      const since = this.events.slice(options.from ?? 0);
      found = since.find((e) => e.type === type);
      // Waiting for anything else: a call that closed will not produce it.
      closed = type === 'CALL_CLOSED' ? undefined : since.find((e) => e.type === 'CALL_CLOSED');
      return found !== undefined || closed !== undefined || this.exited;
    }, { timeoutMs: options.timeoutMs ?? 20_000 }).catch((error: Error) => { throw new Error(`${error.message}; events: ${this.events.map((e) => e.type).join(' ')}\n${this.log()}`); });
    if (!found && closed) throw new Error(`baresip: the call closed (${String(closed.param)}) before ${type}\n${this.log()}`);
    if (!found) throw new Error(`baresip exited before ${type}\n${this.log()}`);
    return found;
  }

  /** The phone's log so far (SIP traces are off; enough to explain a failure). */
  log(): string {
    // Without its status line (rewritten in place with \r every 100 ms while a call is up).
    return this.output.replace(/\[\d+:\d+:\d+\] audio=[^\n]*?\r/g, '').slice(-4000);
  }

  async close(): Promise<void> {
    this.control.destroy();
    if (!this.exited) {
      this.child.kill('SIGTERM');
      await waitFor('baresip to exit', () => this.exited, { timeoutMs: 5000 }).catch(() => this.child.kill('SIGKILL'));
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  private onData(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const colon = this.buffer.indexOf(0x3a);
      if (colon < 0) return;
      const length = Number(this.buffer.subarray(0, colon).toString());
      if (this.buffer.length < colon + 1 + length + 1) return;
      const body = this.buffer.subarray(colon + 1, colon + 1 + length).toString();
      this.buffer = this.buffer.subarray(colon + 1 + length + 1);
      const message = JSON.parse(body) as { event?: boolean; response?: boolean; ok?: boolean; data?: string; token?: string } & BaresipEvent;
      if (message.event) this.events.push(message);
      else if (message.response && message.token) {
        this.waiting.get(message.token)?.({ ok: message.ok === true, data: message.data ?? '' });
        this.waiting.delete(message.token);
      }
    }
  }
}
