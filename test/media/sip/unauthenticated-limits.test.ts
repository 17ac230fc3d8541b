/**
 * Limits on what an unauthenticated sender can make the server hold or send,
 * against a running endpoint on loopback: the flood guard charges malformed
 * requests too (Kamailio REQINIT order) and a spray of other sources does not
 * lift a ban; unadmitted server transactions are capped (stateless 503
 * beyond); TCP connections are held to a per-source count and a message
 * deadline (slowloris), and a normal call still completes.
 * Limits are set small and every wait polls with a deadline.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SipEndpoint } from '../../../media/sip/endpoint.ts';
import type { IncomingCall } from '../../../media/sip/endpoint.ts';
import { parseMessage } from '../../../media/sip/parser.ts';
import type { SipResponse } from '../../../media/sip/message.ts';
import { hasCommand, needExternal } from '../../support/external.ts';
import { waitFor } from '../../support/poll.ts';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const timers = { t1: 40, t2: 160, t4: 200, trying100Ms: 0 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/** A UDP socket on `address` that keeps every response it receives. */
async function udpClient(address = '127.0.0.1'): Promise<{ socket: UdpSocket; responses: SipResponse[] }> {
  const socket = createSocket('udp4');
  const responses: SipResponse[] = [];
  socket.on('message', (m) => { const r = parseMessage(m); if (r.ok && r.message.kind === 'response') responses.push(r.message); });
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  return { socket, responses };
}

function request(method: string, callId: string, port: number, opts: { uri?: string; extra?: string[]; transport?: string } = {}): Buffer {
  return Buffer.from([
    `${method} ${opts.uri ?? 'sip:agent@127.0.0.1'} SIP/2.0`, `Via: SIP/2.0/${opts.transport ?? 'UDP'} 127.0.0.1:${port};branch=z9hG4bK${callId};rport`,
    'From: <sip:a@example.com>;tag=1', 'To: <sip:agent@example.com>', `Call-ID: ${callId}`, `CSeq: 1 ${method}`, 'Max-Forwards: 70',
    ...(opts.extra ?? []), 'Content-Length: 0', '', '',
  ].join('\r\n'));
}

/** A request the parser refuses but can answer (a Request-URI with < >): the old code sent 400 to every one. */
const malformed = (i: number, port: number, extra: string[] = []) => request('OPTIONS', `malformed${i}`, port, { uri: 'sip:<x>@127.0.0.1', extra });

test('300 malformed requests from one source end in a ban; later requests from it get no answer', async () => {
  // A frozen clock: no refill, so exactly the burst is answered.
  const ep = await SipEndpoint.create({ timers, guard: { ratePerSecond: 20, burst: 40, now: () => 0 } });
  const flooder = await udpClient('127.0.0.1');
  const other = await udpClient('127.0.0.2');
  try {
    const port = flooder.socket.address().port;
    for (let i = 0; i < 300; i++) {
      flooder.socket.send(malformed(i, port), ep.ports.udp!, '127.0.0.1');
      // Let the server read as we go: 300 datagrams queued at once could overflow a default socket buffer.
      if (i % 50 === 49) await waitFor(`${i + 1} received`, () => ep.transport.stats.received >= i + 1);
    }
    await waitFor('300 datagrams received', () => ep.transport.stats.received >= 300);
    assert.ok(ep.guard!.isBanned('127.0.0.1'), 'the flooding source is banned');
    assert.is(ep.transport.stats.responded400, 40, 'only the burst was answered');
    assert.is(ep.transport.stats.dropped.rate, 1);
    assert.is(ep.transport.stats.dropped.banned, 259);
    // A well-formed request from the banned source, then one from another source: the second's answer
    // shows the first was handled (one socket, in order) and got nothing.
    flooder.socket.send(request('OPTIONS', 'after-ban', port), ep.ports.udp!, '127.0.0.1');
    other.socket.send(request('OPTIONS', 'bystander', other.socket.address().port), ep.ports.udp!, '127.0.0.1');
    await waitFor('the bystander answered', () => other.responses.some((r) => r.status === 200));
    assert.is(ep.transport.stats.dropped.banned, 260);
    assert.not.ok(flooder.responses.some((r) => r.headers.get('call-id') === 'after-ban'));
  } finally { flooder.socket.close(); other.socket.close(); await ep.close(); }
});

test('a scanner User-Agent on a malformed request is dropped silently, not answered 400', async () => {
  const ep = await SipEndpoint.create({ timers, guard: { ratePerSecond: 1000, burst: 1000 } });
  const client = await udpClient();
  try {
    const port = client.socket.address().port;
    client.socket.send(malformed(1, port, ['User-Agent: friendly-scanner']), ep.ports.udp!, '127.0.0.1');
    client.socket.send(request('OPTIONS', 'probe', port), ep.ports.udp!, '127.0.0.1');
    await waitFor('the probe answered', () => client.responses.some((r) => r.headers.get('call-id') === 'probe'));
    assert.is(ep.transport.stats.dropped.scanner, 1);
    assert.is(ep.transport.stats.responded400, 0);
    assert.is(client.responses.length, 1);
  } finally { client.socket.close(); await ep.close(); }
});

test('a spray from 200 other loopback sources does not unban a banned source (tracked sources bounded)', async () => {
  const ep = await SipEndpoint.create({ timers, guard: { ratePerSecond: 20, burst: 5, maxSources: 50, now: () => 0 } });
  const flooder = await udpClient('127.0.0.1');
  const spray: UdpSocket[] = [];
  try {
    for (let i = 0; i < 10; i++) flooder.socket.send(request('OPTIONS', `flood${i}`, flooder.socket.address().port), ep.ports.udp!, '127.0.0.1');
    await waitFor('the flooder banned', () => ep.guard!.isBanned('127.0.0.1'));
    for (let i = 1; i <= 200; i++) {
      const c = await udpClient(`127.0.1.${i}`);
      spray.push(c.socket);
      c.socket.send(request('OPTIONS', `spray${i}`, c.socket.address().port), ep.ports.udp!, '127.0.0.1');
      // Let the server read as we go: 200 datagrams queued at once overflow a default socket buffer.
      if (i % 20 === 0) await waitFor(`spray ${i} received`, () => ep.transport.stats.received >= 10 + i);
    }
    assert.ok(ep.guard!.trackedSources <= 50, `tracked: ${ep.guard!.trackedSources}`);
    assert.ok(ep.guard!.isBanned('127.0.0.1'), 'still banned');
  } finally { flooder.socket.close(); for (const s of spray) s.close(); await ep.close(); }
});

test('unadmitted INVITE transactions are capped: beyond it a stateless 503 with Retry-After; admitted calls free their slot', async () => {
  const ep = await SipEndpoint.create({ timers, guard: false, maxPendingTransactions: 3 });
  const calls: IncomingCall[] = [];
  ep.onInvite((call) => { calls.push(call); }); // never answers on its own: the INVITEs stay pending
  const client = await udpClient();
  const port = client.socket.address().port;
  const invite = (id: string) => client.socket.send(request('INVITE', id, port, { extra: ['Contact: <sip:a@127.0.0.1>'] }), ep.ports.udp!, '127.0.0.1');
  const finalFor = (id: string) => client.responses.find((r) => r.headers.get('call-id') === id && r.status >= 200);
  try {
    for (const id of ['inv1', 'inv2', 'inv3']) invite(id);
    await waitFor('three calls offered', () => calls.length === 3);
    invite('inv4');
    await waitFor('the fourth answered', () => finalFor('inv4') !== undefined);
    const busy = finalFor('inv4')!;
    assert.is(busy.status, 503);
    assert.is(busy.headers.get('retry-after'), '5');
    assert.is(calls.length, 3, 'the fourth never reached the application');
    assert.is(ep.transactions.pendingCount, 3);
    assert.is(ep.transactions.serverCount, 3, 'no state kept for the refused one');
    client.socket.send(request('OPTIONS', 'opt1', port), ep.ports.udp!, '127.0.0.1');
    await waitFor('the OPTIONS answered', () => finalFor('opt1') !== undefined);
    assert.is(finalFor('opt1')!.status, 503, 'out-of-dialog requests share the cap');
    // A CANCEL for a pending INVITE still gets through.
    client.socket.send(request('CANCEL', 'inv2', port), ep.ports.udp!, '127.0.0.1');
    await waitFor('the CANCEL answered', () => client.responses.some((r) => r.headers.get('call-id') === 'inv2' && r.headers.get('cseq') === '1 CANCEL'));
    assert.is(client.responses.find((r) => r.headers.get('call-id') === 'inv2' && r.headers.get('cseq') === '1 CANCEL')!.status, 200);
    // Admitting a call frees its slot.
    calls[0]!.accept(SDP);
    await waitFor('the first call answered', () => finalFor('inv1')?.status === 200);
    assert.is(ep.transactions.pendingCount, 2);
    invite('inv5');
    await waitFor('the fifth offered', () => calls.length === 4);
    assert.ok(ep.transactions.overloadedCount >= 2);
  } finally { client.socket.close(); await ep.close(); }
});

function connect(port: number, localAddress = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ host: '127.0.0.1', port, localAddress }, () => resolve(s));
    s.on('error', reject);
  });
}

const closed = (s: Socket) => s.destroyed || s.readyState === 'closed';

test('TCP: a connection trickling one byte at a time is closed at the message deadline', async () => {
  const ep = await SipEndpoint.create({ timers, guard: false, messageTimeoutMs: 300, tcpIdleMs: 60_000 });
  let trickle: NodeJS.Timeout | undefined;
  try {
    const s = await connect(ep.ports.tcp!);
    s.on('error', () => undefined);
    let ended = false;
    s.on('close', () => { ended = true; });
    const bytes = request('OPTIONS', 'slow', s.localPort!, { transport: 'TCP' });
    let i = 0;
    trickle = setInterval(() => { if (!ended && i < bytes.length) s.write(bytes.subarray(i, ++i)); }, 20);
    await waitFor('the trickling connection closed', () => ended);
    assert.ok(i < bytes.length, `closed before the message completed (${i} of ${bytes.length} bytes)`);
    assert.is(ep.transport.stats.dropped['message-timeout'], 1);
    await waitFor('the server forgot it', () => ep.transport.openConnections === 0);
  } finally { clearInterval(trickle); await ep.close(); }
});

test('TCP: the N+1th connection from one address is closed, another address still connects, a call still works', async () => {
  const ep = await SipEndpoint.create({ timers, guard: false, maxConnectionsPerSource: 3, messageTimeoutMs: 2000 });
  let accepted = 0;
  ep.onInvite((call) => { accepted++; call.accept(SDP); });
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 3; i++) sockets.push(await connect(ep.ports.tcp!, '127.0.0.1'));
    await waitFor('three connections adopted', () => ep.transport.openConnections === 3);
    const fourth = await connect(ep.ports.tcp!, '127.0.0.1');
    fourth.on('error', () => undefined);
    sockets.push(fourth);
    await waitFor('the fourth closed by the server', () => closed(fourth) || fourth.readableEnded);
    assert.is(ep.transport.stats.dropped['source-connection-limit'], 1);
    // Another address is not affected: it connects and is answered.
    const elsewhere = await connect(ep.ports.tcp!, '127.0.0.2');
    sockets.push(elsewhere);
    let answer = '';
    elsewhere.on('data', (d) => (answer += d.toString('latin1')));
    elsewhere.write(request('OPTIONS', 'elsewhere', elsewhere.localPort!, { transport: 'TCP' }));
    await waitFor('127.0.0.2 answered', () => answer.startsWith('SIP/2.0 200'));
    // A slot freed is a slot available again: close one and a call over TCP from 127.0.0.1 completes.
    sockets[0]!.destroy();
    await waitFor('the slot returned', () => ep.transport.openConnections === 3);
    const caller = await SipEndpoint.create({ timers, guard: false, host: '127.0.0.1' });
    try {
      const dialog = await caller.invite({ uri: ep.uri('agent', 'TCP'), from: 'sip:caller@example.com', sdp: SDP, timeoutMs: 5000 });
      assert.is(await dialog.bye(), 200);
      assert.is(accepted, 1);
    } finally { await caller.close(); }
  } finally { for (const s of sockets) s.destroy(); await ep.close(); }
});

test('TCP: a connect flood is charged to its source and ends in a ban; the banned source is refused at once', async () => {
  const ep = await SipEndpoint.create({ timers, guard: { ratePerSecond: 20, burst: 5, now: () => 0 } });
  const sockets: Socket[] = [];
  try {
    for (let i = 0; i < 10; i++) {
      const s = await connect(ep.ports.tcp!);
      s.on('error', () => undefined);
      sockets.push(s);
    }
    await waitFor('ten connections seen', () => (ep.transport.stats.dropped.rate ?? 0) + (ep.transport.stats.dropped.banned ?? 0) >= 5);
    assert.ok(ep.guard!.isBanned('127.0.0.1'));
    assert.is(ep.transport.stats.dropped.rate, 1);
    assert.is(ep.transport.stats.dropped.banned, 4);
    await waitFor('the refused ones closed', () => sockets.slice(5).every((s) => closed(s) || s.readableEnded));
  } finally { for (const s of sockets) s.destroy(); await ep.close(); }
});

if (needExternal(hasCommand('openssl'), 'openssl', 'the TLS slowloris test')) {
  test('TLS: unfinished handshakes count against the per-source cap and are closed at the deadline', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'smartalex-tls-limits-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=smartalex-test'], { stdio: 'ignore', timeout: 60_000 });
    const ep = await SipEndpoint.create({
      timers, guard: false, udpPort: null, tcpPort: null, maxConnectionsPerSource: 2, messageTimeoutMs: 300,
      tls: { port: 0, cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) },
    });
    const sockets: Socket[] = [];
    try {
      const ended: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await connect(ep.ports.tls!);
        const n = i;
        ended[n] = false;
        s.on('error', () => undefined);
        s.on('close', () => { ended[n] = true; });
        s.write(Buffer.from([0x16, 0x03])); // the first bytes of a ClientHello, and nothing more
        sockets.push(s);
      }
      await waitFor('the third refused', () => ended[2] === true);
      assert.is(ep.transport.stats.dropped['source-connection-limit'], 1);
      assert.not.ok(ended[0] || ended[1], 'the first two still wait for their handshake');
      await waitFor('the stalled handshakes closed', () => ended[0] === true && ended[1] === true);
      assert.ok((ep.transport.stats.dropped['tls-handshake'] ?? 0) >= 2, 'counted as failed handshakes');
    } finally { for (const s of sockets) s.destroy(); await ep.close(); rmSync(dir, { recursive: true, force: true }); }
  });
}

test.run();
