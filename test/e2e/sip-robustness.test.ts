/**
 * Hostile input against the running server: the 49 RFC 4475 torture messages
 * over UDP and TCP, garbage, truncated headers, wrong Content-Length, huge
 * headers, and RTP with bad versions and lengths in the middle of a call.
 * Everything is answered 400 or dropped and counted; the call in progress
 * keeps its audio and a new call still completes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { RFC4475_DIR } from '../media/sip/conformance-dir.ts';
import type { SipCallSession as CallSession } from '../../src/calls/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { describeSipp, runSipp, sleep, startTestServer, type TestServer } from './support/harness.ts';
import { ownCall } from './support/uac.ts';
import { receivedRms } from './support/energy.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the SIP robustness end-to-end tests');
let t: TestServer;
const sessions: CallSession[] = [];

test.before(async () => {
  if (!run) return;
  t = await startTestServer({ server: { calls: { guard: { ratePerSecond: 500, burst: 1000 } } } });
  t.server.calls.on('call-started', (s) => sessions.push(s as CallSession));
});
test.after(async () => { if (run) await t.close(); });

async function sendUdp(messages: Buffer[]): Promise<Buffer[]> {
  const s = createSocket('udp4');
  const replies: Buffer[] = [];
  s.on('message', (m) => replies.push(m));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  for (const m of messages) { s.send(m, t.server.sipPort, '127.0.0.1'); await sleep(5); }
  await sleep(500);
  s.close();
  return replies;
}

/** Sends one message on a new connection; resolves with what came back once a response arrived, the server closed, or the deadline passed. */
async function sendTcp(message: Buffer, deadlineMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const done = () => { clearTimeout(timer); c.destroy(); resolve(out); };
    const c = connect(t.server.sipPorts.tcp!, '127.0.0.1', () => c.write(message));
    c.on('data', (d) => { out += d.toString(); if (/\r\n\r\n/.test(out)) done(); });
    c.on('error', () => undefined);
    c.on('close', done);
    const timer = setTimeout(done, deadlineMs);
  });
}

const torture = (): Buffer[] => readdirSync(RFC4475_DIR).filter((f) => f.endsWith('.dat')).sort().map((f) => readFileSync(join(RFC4475_DIR, f)));

if (run) {
  test('the RFC 4475 messages over UDP and TCP: answered or dropped, nothing crashes', async () => {
    const files = torture();
    assert.is(files.length, 49);
    const stats = t.server.calls.endpoint.transport.stats;
    const before = stats.received;
    const refused = stats.responded400;
    // Responses follow each message's own Via (mostly made-up hosts), so count them at the server.
    await sendUdp(files);
    assert.ok(stats.responded400 - refused >= 5, `invalid ones get 400 (${stats.responded400 - refused})`);
    const tcp = await Promise.all(files.map((f) => sendTcp(f)));
    assert.ok(tcp.filter((r) => r.startsWith('SIP/2.0')).length > 10, 'answered over TCP too');
    assert.ok(t.server.calls.endpoint.transport.stats.received - before >= 49 * 2 - 5);
  });

  test('garbage, truncated headers, wrong Content-Length and huge headers are dropped or refused and counted', async () => {
    const stats = t.server.calls.endpoint.transport.stats;
    const dropsBefore = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
    const refusedBefore = stats.responded400;
    const head = (extra: string, body = '') => Buffer.from(`OPTIONS sip:2000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK${Math.random().toString(36).slice(2)}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:2000@127.0.0.1>\r\nCall-ID: ${Math.random()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n${extra}\r\n${body}`);
    const replies = await sendUdp([
      Buffer.from([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3, 4, 5, 6, 7, 8]),
      Buffer.from('INVITE sip:2000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP'),
      head('Content-Length: 500\r\n', 'short body'),
      head(`X-Huge: ${'a'.repeat(70_000)}\r\nContent-Length: 0\r\n`),
      Buffer.alloc(2000, 0x41),
    ]);
    const tcpReply = await sendTcp(head(`X-Huge: ${'b'.repeat(100_000)}\r\nContent-Length: 0\r\n`));
    void tcpReply;
    const dropsAfter = Object.values(stats.dropped).reduce((a, b) => a + b, 0);
    assert.ok(dropsAfter - dropsBefore + (stats.responded400 - refusedBefore) >= 4, `counted: ${JSON.stringify(stats.dropped)} 400s ${stats.responded400}`);
    assert.ok(replies.every((r) => !r.toString().startsWith('SIP/2.0 200')), 'none of them is accepted');
  });

  test('bad RTP in a call is counted and dropped; the call keeps its audio; a new call completes', async () => {
    const call = await ownCall(t.server.sipPort);
    try {
      await call.sendTone(10);
      const session = sessions[sessions.length - 1]!;
      const attacker = createSocket('udp4');
      await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
      const v1 = Buffer.alloc(172); v1[0] = 0x40; // version 1
      const short = Buffer.from([0x80, 0x00, 0x01]);
      const badCsrc = Buffer.alloc(20); badCsrc[0] = 0x8f; // 15 CSRCs announced, none present
      for (const p of [v1, short, badCsrc, v1, short]) attacker.send(p, call.serverMedia.port, call.serverMedia.address);
      // The same junk from the caller's own (latched) address.
      for (const p of [v1, short]) call.rtp.send(p, call.serverMedia.port, call.serverMedia.address);
      await sleep(100);
      attacker.close();
      const voiced = (): number => receivedRms(call.received).filter((p) => p.rms > 1000).length; // RTP never stops: count the echo
      const got = voiced();
      await call.sendTone(25);
      await sleep(100);
      const d = session.rtp.stats.dropped;
      assert.ok(d['bad-version'] >= 3, JSON.stringify(d));
      assert.ok(d['too-short'] + d['bad-csrc'] >= 3, JSON.stringify(d));
      for (let i = 0; i < 250 && voiced() - got < 20; i++) await sleep(20); // polled, up to 5 s
      assert.ok(voiced() - got >= 20, 'the echo kept flowing');
    } finally {
      await call.close();
    }
    const r = await runSipp(`127.0.0.1:${t.server.sipPort}`, 'uac-call-pcmu.xml');
    assert.is(r.code, 0, describeSipp(r));
    const tcp = await runSipp(`127.0.0.1:${t.server.sipPorts.tcp}`, 'options.xml', ['-t', 't1']);
    assert.is(tcp.code, 0, describeSipp(tcp));
  });
}

test.run();
