/**
 * Transaction state machines with a recording sender and short timers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TransactionLayer, newBranch, type MessageSender } from '../../../media/sip/transaction.ts';
import { createRequest, createResponseTo, type SipMessage, type SipRequest } from '../../../media/sip/message.ts';
import type { SipPeer } from '../../../media/sip/transport.ts';
import { waitFor } from '../../support/poll.ts';

const UDP: SipPeer = { transport: 'UDP', address: '127.0.0.1', port: 5999 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (generously: the machine is shared) until `check` holds; timers are short, so this is quick when unloaded. */

function recorder() {
  const sent: SipMessage[] = [];
  const sender: MessageSender = {
    send: async (m) => { sent.push(m); },
    sendResponse: async (m) => { sent.push(m); },
  };
  return { sent, sender };
}

function invite(branch = newBranch(), method = 'INVITE'): SipRequest {
  return createRequest(method, 'sip:agent@127.0.0.1', [
    ['Via', `SIP/2.0/UDP 127.0.0.1:5999;branch=${branch}`], ['From', '<sip:a@x>;tag=1'], ['To', '<sip:b@y>'],
    ['Call-ID', 'c1'], ['CSeq', `1 ${method}`], ['Max-Forwards', '70'],
  ]);
}
const statuses = (sent: SipMessage[]) => sent.map((m) => (m.kind === 'response' ? m.status : m.method));

test('INVITE server: 100 Trying, 2xx retransmitted until the ACK, then silence', async () => {
  const { sent, sender } = recorder();
  const layer = new TransactionLayer(sender, { t1: 10, t2: 40, trying100Ms: 0 });
  const req = invite();
  const r = layer.receiveRequest(req, UDP);
  assert.ok(r && 'tx' in r);
  const tx = (r as { tx: import('../../../media/sip/transaction.ts').ServerTransaction }).tx;
  assert.equal(statuses(sent), [100]);
  tx.respond(createResponseTo(req, 200, 'OK', { toTag: 'srv' }));
  await waitFor('2xx retransmissions', () => sent.filter((m) => m.kind === 'response' && m.status === 200).length >= 3);
  const ack = createRequest('ACK', req.uri, [['Via', `SIP/2.0/UDP 127.0.0.1:5999;branch=${newBranch()}`], ['From', '<sip:a@x>;tag=1'], ['To', '<sip:b@y>;tag=srv'], ['Call-ID', 'c1'], ['CSeq', '1 ACK']]);
  const routed = layer.receiveRequest(ack, UDP);
  assert.ok(routed && 'ack' in routed && routed.tx === tx);
  assert.is(tx.state, 'terminated');
  const count = sent.length;
  await sleep(100);
  assert.is(sent.length, count, 'no retransmission after the ACK');
  layer.close();
});

test('retransmitted INVITE is absorbed and answered with the last response', () => {
  const { sent, sender } = recorder();
  const layer = new TransactionLayer(sender, { t1: 10, trying100Ms: 0 });
  const branch = newBranch();
  const first = layer.receiveRequest(invite(branch), UDP);
  assert.ok(first && 'tx' in first);
  assert.is(layer.receiveRequest(invite(branch), UDP), undefined);
  assert.equal(statuses(sent), [100, 100]);
  layer.close();
});

test('non-INVITE server: retransmission gets the final response again; timer J ends it', async () => {
  const { sent, sender } = recorder();
  const layer = new TransactionLayer(sender, { t1: 5 });
  const branch = newBranch();
  const r = layer.receiveRequest(invite(branch, 'OPTIONS'), UDP) as { tx: import('../../../media/sip/transaction.ts').ServerTransaction };
  r.tx.respond(createResponseTo(r.tx.request, 200, 'OK', { toTag: 'x' }));
  assert.is(layer.receiveRequest(invite(branch, 'OPTIONS'), UDP), undefined);
  assert.equal(statuses(sent), [200, 200]);
  await waitFor('timer J', () => r.tx.state === 'terminated');
  assert.is(r.tx.state, 'terminated');
  assert.is(layer.serverCount, 0);
});

test('INVITE server non-2xx: timer G retransmits, ACK (same branch) confirms', async () => {
  const { sent, sender } = recorder();
  const layer = new TransactionLayer(sender, { t1: 10, t2: 40, t4: 20, trying100Ms: 0 });
  const branch = newBranch();
  const req = invite(branch);
  const r = layer.receiveRequest(req, UDP) as { tx: import('../../../media/sip/transaction.ts').ServerTransaction };
  r.tx.respond(createResponseTo(req, 486, 'Busy Here', { toTag: 't' }));
  await waitFor('timer G', () => sent.filter((m) => m.kind === 'response' && m.status === 486).length >= 2);
  assert.is(layer.receiveRequest(invite(branch, 'ACK'), UDP), undefined, 'ACK absorbed by the transaction');
  assert.is(r.tx.state, 'confirmed');
  layer.close();
});

test('RFC 2543 matching: a retransmission without a magic-cookie branch is absorbed', () => {
  const { sender } = recorder();
  const layer = new TransactionLayer(sender, { trying100Ms: 0 });
  const old = () => createRequest('INVITE', 'sip:b@y', [['Via', 'SIP/2.0/UDP 10.0.0.1'], ['From', '<sip:a@x>'], ['To', '<sip:b@y>'], ['Call-ID', 'old'], ['CSeq', '5 INVITE']]);
  assert.ok(layer.receiveRequest(old(), UDP));
  assert.is(layer.receiveRequest(old(), UDP), undefined);
  layer.close();
});

test('INVITE client: timer A retransmits, a 486 is ACKed with the same branch', async () => {
  const { sent, sender } = recorder();
  const layer = new TransactionLayer(sender, { t1: 10 });
  const req = invite();
  const finals: number[] = [];
  layer.sendRequest(req, UDP, { onResponse: (res) => finals.push(res.status) });
  await waitFor('timer A', () => sent.filter((m) => m.kind === 'request' && m.method === 'INVITE').length >= 3);
  const res = createResponseTo(req, 486, 'Busy Here', { toTag: 'z' });
  assert.ok(layer.receiveResponse(res));
  const ack = sent.at(-1)!;
  assert.ok(ack.kind === 'request' && ack.method === 'ACK');
  assert.is(ack.headers.get('via'), req.headers.get('via'));
  assert.match(ack.headers.get('to')!, /tag=z/);
  layer.receiveResponse(res);
  assert.ok(sent.at(-1)!.kind === 'request' && sent.filter((m) => m.kind === 'request' && m.method === 'ACK').length === 2, 'retransmitted final re-ACKed');
  assert.equal(finals, [486]);
  layer.close();
});

test('non-INVITE client: timer F times out without a response', async () => {
  const { sender } = recorder();
  const layer = new TransactionLayer(sender, { t1: 2, t2: 8 });
  const reason = await new Promise<string>((resolve) => layer.sendRequest(invite(newBranch(), 'OPTIONS'), UDP, { onResponse: () => resolve('response'), onTimeout: (_tx, why) => resolve(why) }));
  assert.is(reason, 'timeout');
  assert.is(layer.clientCount, 0);
});

test('after an event-loop stall, an answer already waiting wins over the retransmission timer', async () => {
  // A real UDP transport as the UAC, a raw socket as the UAS. The UAS answers 401 and then the
  // process blocks (well past T1) before the UAC has read it: the retransmission timer expires
  // while the 401 waits in the socket. The transaction must read the 401 and ACK it, not resend
  // the INVITE (whose duplicate 401 would need a second ACK after our next request).
  const { SipTransport } = await import('../../../media/sip/transport.ts');
  const { parseMessage } = await import('../../../media/sip/parser.ts');
  const { serializeMessage } = await import('../../../media/sip/serializer.ts');
  const { createSocket } = await import('node:dgram');
  const transport = await SipTransport.listen({ host: '127.0.0.1', udpPort: 0, tcpPort: null });
  // What the UAC sends, and when: a retransmission decided before the 401 could be read is legitimate (on a busy
  // machine the UAS, in this same process, may take longer than T1 to answer, and a timer that expired before the
  // 401 was sent may run its action in the same loop turn as the send's callback); one after the stall, when the
  // 401 has been waiting throughout, is the fault this test is about.
  const invitesSentAt: number[] = [];
  const send = transport.send.bind(transport);
  transport.send = (message, peer) => {
    if (message.kind === 'request' && message.method === 'INVITE') invitesSentAt.push(performance.now());
    return send(message, peer);
  };
  const layer = new TransactionLayer(transport, { t1: 10, t2: 40 });
  transport.on('message', (m) => { if (m.kind === 'response') layer.receiveResponse(m); });
  const uas = createSocket('udp4');
  await new Promise<void>((r) => uas.bind(0, '127.0.0.1', () => r()));
  const seen: string[] = [];
  let answered = false;
  let stallStartedAt = Infinity;
  const acked = new Promise<void>((resolve) => {
    uas.on('message', (data) => {
      const parsed = parseMessage(data, { datagram: true });
      if (!parsed.ok || parsed.message.kind !== 'request') return;
      const req = parsed.message;
      seen.push(req.method);
      if (req.method === 'ACK') resolve();
      if (req.method !== 'INVITE' || answered) return;
      answered = true;
      const res = serializeMessage(createResponseTo(req, 401, 'Unauthorized', { toTag: 'uas' }));
      uas.send(res, transport.localPort('UDP'), '127.0.0.1', () => {
        // The 401 is in the UAC's socket now. Block from the check phase, so expired timers run before the next poll.
        setImmediate(() => {
          stallStartedAt = performance.now();
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
        });
      });
    });
  });
  const target: SipPeer = { transport: 'UDP', address: '127.0.0.1', port: uas.address().port };
  const req = createRequest('INVITE', `sip:agent@127.0.0.1:${target.port}`, [
    ['Via', transport.viaFor('UDP', newBranch())], ['From', '<sip:a@x>;tag=1'], ['To', '<sip:b@y>'], ['Call-ID', 'stall-1'], ['CSeq', '1 INVITE'], ['Max-Forwards', '70'],
  ]);
  const finals: number[] = [];
  let giveUp: NodeJS.Timeout | undefined;
  try {
    layer.sendRequest(req, target, { onResponse: (res) => finals.push(res.status) });
    await Promise.race([acked, new Promise((_, reject) => { giveUp = setTimeout(() => reject(new Error('no ACK')), 20_000); })]);
    assert.ok(stallStartedAt < Infinity, 'the stall happened');
    assert.equal(invitesSentAt.filter((at) => at > stallStartedAt), [],
      `no INVITE retransmitted once the 401 was waiting (INVITEs at ${invitesSentAt.map((at) => at.toFixed(1)).join(', ')} ms; stall from ${stallStartedAt.toFixed(1)} ms)`);
    assert.is(seen[seen.length - 1], 'ACK');
    assert.is(seen.filter((m) => m === 'ACK').length, 1, 'one ACK');
    assert.equal(finals, [401]);
  } finally {
    clearTimeout(giveUp);
    layer.close();
    uas.close();
    await transport.close();
  }
});

test.run();
