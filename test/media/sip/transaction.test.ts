/**
 * Transaction state machines with a recording sender and short timers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { TransactionLayer, newBranch, type MessageSender } from '../../../media/sip/transaction.ts';
import { createRequest, createResponseTo, type SipMessage, type SipRequest } from '../../../media/sip/message.ts';
import type { SipPeer } from '../../../media/sip/transport.ts';

const UDP: SipPeer = { transport: 'UDP', address: '127.0.0.1', port: 5999 };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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
  await sleep(80);
  const before = sent.filter((m) => m.kind === 'response' && m.status === 200).length;
  assert.ok(before >= 3, `2xx retransmitted (${before})`);
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
  await sleep(5 * 64 + 50);
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
  await sleep(50);
  assert.ok(sent.filter((m) => m.kind === 'response' && m.status === 486).length >= 2);
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
  await sleep(45);
  assert.ok(sent.filter((m) => m.kind === 'request' && m.method === 'INVITE').length >= 3);
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

test.run();
