/**
 * Transport: every RFC 4475 message sent over UDP and TCP to a running
 * endpoint (answered or dropped, never crashing it), counters, 400s for
 * broken requests, RFC 3581 rport routing, and a call completed afterwards.
 * Responses go to the real source, never to a `received`/`rport` the sender
 * wrote: a victim listener on 127.0.0.2 gets nothing (no datagram, no
 * connection) while the real source gets its responses and retransmissions.
 */
import { test } from 'uvu';
import { RFC4475_DIR } from './conformance-dir.ts';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import { createConnection, createServer, type Server } from 'node:net';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SipEndpoint } from '../../../media/sip/endpoint.ts';
import { parseMessage } from '../../../media/sip/parser.ts';
import type { SipResponse } from '../../../media/sip/message.ts';
import { waitFor } from '../../support/poll.ts';

const dir = RFC4475_DIR;
const files = readdirSync(dir).filter((f) => f.endsWith('.dat')).sort();
const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const timers = { t1: 40, t2: 160, t4: 200, trying100Ms: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds, bounded by a deadline. */

async function server() {
  const ep = await SipEndpoint.create({ timers, guard: { ratePerSecond: 1000, burst: 1000 } });
  let invites = 0;
  ep.onInvite((call) => {
    if ((call.request.headers.get('from') ?? '').includes('sip:test-caller@example.com')) call.accept(SDP);
    else { invites++; call.reject(486); }
  });
  return { ep, invites: () => invites };
}

/**
 * Sends raw bytes over a new TCP connection and collects what comes back until
 * a final (non-1xx) response arrived, the server closed, or the deadline passed.
 */
function tcpExchange(port: number, data: Buffer, deadlineMs = 3000): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const done = () => { clearTimeout(timer); sock.destroy(); resolve(got); };
    const sock = createConnection({ host: '127.0.0.1', port }, () => sock.write(data));
    sock.on('data', (d) => { got += d.toString('latin1'); if (/^SIP\/2\.0 [2-6]\d\d [^\r\n]*\r\n[\s\S]*?\r\n\r\n/m.test(got)) done(); });
    sock.on('error', () => undefined);
    sock.on('close', done);
    const timer = setTimeout(done, deadlineMs);
  });
}

async function completeCall(ep: SipEndpoint) {
  const caller = await SipEndpoint.create({ timers, guard: false });
  try {
    for (const t of ['UDP', 'TCP'] as const) {
      const d = await caller.invite({ uri: ep.uri('agent', t), from: 'sip:test-caller@example.com', sdp: SDP, timeoutMs: 3000 });
      assert.is(await d.bye(), 200);
    }
  } finally { await caller.close(); }
}

test('every RFC 4475 message over UDP, then a call completes', async () => {
  const { ep } = await server();
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    for (const f of files) sock.send(readFileSync(join(dir, f)), ep.ports.udp!, '127.0.0.1');
    const s = ep.transport.stats;
    for (const deadline = Date.now() + 15_000; s.received < files.length && Date.now() < deadline;) await sleep(10);
    assert.is(s.received, files.length);
    assert.is(s.parsed, 30);
    assert.ok(s.responded400 >= 10, `400s sent: ${s.responded400}`);
    assert.ok((s.dropped.unparseable ?? 0) + (s.dropped['invalid-response'] ?? 0) >= 1);
    await completeCall(ep);
  } finally { sock.close(); await ep.close(); }
});

test('every RFC 4475 message over TCP (one connection each), answers on the connection, then a call completes', async () => {
  const { ep } = await server();
  try {
    const answers = new Map<string, string>();
    await Promise.all(files.map(async (f) => answers.set(f, await tcpExchange(ep.ports.tcp!, readFileSync(join(dir, f))))));
    if (process.env.DEBUG_SIP) for (const [f, a] of answers) console.log(f, JSON.stringify(a.slice(0, 300)));
    // The final (last) status line: INVITEs get a 100 Trying first.
    const status = (f: string) => [...(answers.get(f) ?? '').matchAll(/^SIP\/2\.0 (\d{3})/gm)].at(-1)?.[1];
    assert.is(status('ltgtruri.dat'), '400');
    assert.is(status('escruri.dat'), '400');
    assert.is(status('mismatch01.dat'), '400');
    assert.is(status('badvers.dat'), '505');
    assert.is(status('unkscm.dat'), '416');
    assert.is(status('bext01.dat'), '420');
    assert.is(status('insuf.dat'), '400');
    assert.is(status('zeromf.dat'), '483');
    assert.is(status('invut.dat'), '415');
    assert.is(status('multi01.dat'), '400');
    assert.is(status('esc02.dat'), '501');
    assert.is(status('transports.dat'), '200');
    assert.is(status('wsinv.dat'), '481', 'wsinv carries a To tag: a re-INVITE for an unknown dialog');
    assert.is(status('esc01.dat'), '486', 'a new INVITE reaches the application');
    assert.is(status('intmeth.dat'), '501');
    assert.is(answers.get('bigcode.dat'), '', 'responses are never answered');
    assert.ok((ep.transport.stats.dropped.framing ?? 0) >= 1, 'messages without Content-Length break TCP framing');
    await completeCall(ep);
  } finally { await ep.close(); }
});

test('rport: the response goes back to the source port of a UDP request', async () => {
  const ep = await SipEndpoint.create({ timers, guard: false });
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    const req = Buffer.from([
      `OPTIONS sip:x@127.0.0.1:${ep.ports.udp} SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.99:5080;branch=z9hG4bKrport1;rport',
      'From: <sip:a@example.com>;tag=1', 'To: <sip:x@example.com>', 'Call-ID: rport-test', 'CSeq: 1 OPTIONS', 'Max-Forwards: 70', 'Content-Length: 0', '', '',
    ].join('\r\n'));
    const got = new Promise<SipResponse>((resolve) => sock.once('message', (m) => { const r = parseMessage(m); if (r.ok && r.message.kind === 'response') resolve(r.message); }));
    sock.send(req, ep.ports.udp!, '127.0.0.1');
    const res = await got;
    assert.is(res.status, 200);
    const via = res.headers.get('via')!;
    assert.match(via, /received=127\.0\.0\.1/);
    assert.match(via, new RegExp(`rport=${sock.address().port}`));
  } finally { sock.close(); await ep.close(); }
});

function invite(via: string, callId: string, contactPort: number): Buffer {
  return Buffer.from([
    `INVITE sip:agent@127.0.0.1 SIP/2.0`, `Via: ${via}`, 'Max-Forwards: 70', 'From: <sip:a@example.com>;tag=spoof', 'To: <sip:agent@example.com>',
    `Call-ID: ${callId}`, 'CSeq: 1 INVITE', `Contact: <sip:a@127.0.0.1:${contactPort}>`, 'Content-Type: application/sdp', `Content-Length: ${Buffer.byteLength(SDP)}`, '', SDP,
  ].join('\r\n'));
}

/** A TCP listener on the victim address; counts the connections it is made to accept. */
async function tcpVictim(): Promise<{ server: Server; port: number; connections: () => number }> {
  let connections = 0;
  const server = createServer((s) => { connections++; s.destroy(); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.2', () => r()));
  return { server, port: (server.address() as { port: number }).port, connections: () => connections };
}

const finalStatuses = (messages: string[], status: number) => messages.filter((m) => m.startsWith(`SIP/2.0 ${status} `)).length;

test('UDP: a received/rport the sender wrote is overwritten; responses and retransmissions go to the real source only', async () => {
  const ep = await SipEndpoint.create({ timers, guard: false });
  ep.onInvite((call) => call.reject(486));
  const attacker = createSocket('udp4');
  const victim = createSocket('udp4');
  await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
  await new Promise<void>((r) => victim.bind(0, '127.0.0.2', () => r()));
  const atAttacker: string[] = [];
  const atVictim: string[] = [];
  attacker.on('message', (m) => atAttacker.push(m.toString('latin1')));
  victim.on('message', (m) => atVictim.push(m.toString('latin1')));
  try {
    // The sent-by host is the real source, so the old code kept the sender's received/rport and answered the victim.
    const via = `SIP/2.0/UDP 127.0.0.1:${attacker.address().port};branch=z9hG4bKreflect1;received=127.0.0.2;rport=${victim.address().port}`;
    attacker.send(invite(via, 'reflect-udp', attacker.address().port), ep.ports.udp!, '127.0.0.1');
    // The 486 is retransmitted (timer G) because nobody ACKs it: wait for three copies at the real source.
    await waitFor('three 486s at the real source', () => finalStatuses(atAttacker, 486) >= 3 || atVictim.length > 0);
    assert.is(atVictim.length, 0, 'the victim address got nothing');
    const via486 = atAttacker.find((m) => m.startsWith('SIP/2.0 486 '))!.match(/^Via: (.*)$/m)![1]!;
    assert.match(via486, /received=127\.0\.0\.1/);
    assert.match(via486, new RegExp(`rport=${attacker.address().port}`));
  } finally { attacker.close(); victim.close(); await ep.close(); }
});

test('UDP: a datagram whose Via names TCP is answered over UDP to its source, never with a TCP connection', async () => {
  const ep = await SipEndpoint.create({ timers, guard: false });
  ep.onInvite((call) => call.reject(486));
  const attacker = createSocket('udp4');
  await new Promise<void>((r) => attacker.bind(0, '127.0.0.1', () => r()));
  const atAttacker: string[] = [];
  attacker.on('message', (m) => atAttacker.push(m.toString('latin1')));
  const victim = await tcpVictim();
  try {
    const via = `SIP/2.0/TCP 127.0.0.1:${victim.port};branch=z9hG4bKreflect2;received=127.0.0.2;rport=${victim.port}`;
    attacker.send(invite(via, 'reflect-udp-tcp', attacker.address().port), ep.ports.udp!, '127.0.0.1');
    await waitFor('three 486s at the real source over UDP', () => finalStatuses(atAttacker, 486) >= 3 || victim.connections() > 0);
    assert.is(victim.connections(), 0, 'no connection to the victim');
    assert.ok(finalStatuses(atAttacker, 486) >= 3);
    assert.is(ep.transport.openConnections, 0, 'no connection opened at all');
  } finally { attacker.close(); victim.server.close(); await ep.close(); }
});

test('TCP: after the request\'s connection closed, the response opens a connection only to the source address, not to a received/rport', async () => {
  const ep = await SipEndpoint.create({ timers: { ...timers, trying100Ms: 60_000 }, guard: false });
  // Answer only once the caller's connection is gone, so the response needs a new connection.
  ep.onInvite(async (call) => {
    await waitFor('the caller to hang up its connection', () => ep.transport.openConnections === 0);
    call.reject(486);
  });
  const victim = await tcpVictim();
  // The caller's own listener (its sent-by port): where RFC 3261 18.2.2 says a new connection goes.
  const received: string[] = [];
  const own = createServer((s) => s.on('data', (d) => received.push(d.toString('latin1'))));
  await new Promise<void>((r) => own.listen(0, '127.0.0.1', () => r()));
  const ownPort = (own.address() as { port: number }).port;
  try {
    const via = `SIP/2.0/TCP 127.0.0.1:${ownPort};branch=z9hG4bKreflect3;received=127.0.0.2;rport=${victim.port}`;
    const sock = createConnection({ host: '127.0.0.1', port: ep.ports.tcp! });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    await new Promise<void>((r) => sock.end(invite(via, 'reflect-tcp', ownPort), () => r()));
    await waitFor('the 486 at the caller\'s own address', () => received.join('').includes('SIP/2.0 486 ') || victim.connections() > 0);
    assert.is(victim.connections(), 0, 'no connection to the victim');
    assert.match(received.join(''), /^SIP\/2\.0 486 /m);
  } finally { own.close(); victim.server.close(); await ep.close(); }
});

test('guard bans a flooding source; its requests are dropped and counted', async () => {
  const events: string[] = [];
  const ep = await SipEndpoint.create({ timers, guard: { ratePerSecond: 1, burst: 3, onSecurityEvent: (e) => events.push(e.type) } });
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  try {
    for (let i = 0; i < 10; i++) {
      sock.send(Buffer.from([`OPTIONS sip:x@127.0.0.1 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${sock.address().port};branch=z9hG4bKflood${i};rport`, 'From: <sip:a@b>;tag=1', 'To: <sip:x@y>', `Call-ID: flood${i}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n')), ep.ports.udp!, '127.0.0.1');
    }
    sock.send(Buffer.from('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nUser-Agent: friendly-scanner\r\n\r\n'), ep.ports.udp!, '127.0.0.1');
    await sleep(200);
    assert.ok(events.includes('ban'));
    assert.is(ep.transport.stats.dropped.rate, 1);
    assert.ok((ep.transport.stats.dropped.banned ?? 0) >= 6);
  } finally { sock.close(); await ep.close(); }
});

test('idle TCP connections are closed', async () => {
  const ep = await SipEndpoint.create({ timers, guard: false, tcpIdleMs: 50 });
  try {
    const sock = createConnection({ host: '127.0.0.1', port: ep.ports.tcp! });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    await sleep(20);
    assert.is(ep.transport.openConnections, 1);
    await new Promise<void>((r) => sock.once('close', () => r()));
    await sleep(20);
    assert.is(ep.transport.openConnections, 0);
  } finally { await ep.close(); }
});

test.run();
