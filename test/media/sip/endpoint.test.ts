/**
 * Two SipEndpoints on 127.0.0.1 calling each other over UDP and TCP.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { SipEndpoint, SipCallError } from '../../../media/sip/endpoint.ts';
import { DigestServer, ha1, type DigestAlgorithm } from '../../../media/sip/digest.ts';
import type { Dialog } from '../../../media/sip/dialog.ts';
import type { TransportName } from '../../../media/sip/transport.ts';

const OFFER = 'v=0\r\no=caller 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n';
const ANSWER = OFFER.replace('caller', 'agent').replace('40000', '40002');
const timers = { t1: 40, t2: 160, t4: 200, trying100Ms: 0 };

async function pair() {
  const a = await SipEndpoint.create({ timers, guard: false });
  const b = await SipEndpoint.create({ timers, guard: false });
  return { a, b, close: () => Promise.all([a.close(), b.close()]) };
}

const once = <T>(fn: (resolve: (v: T) => void) => void) => new Promise<T>(fn);

for (const transport of ['UDP', 'TCP'] as TransportName[]) {
  test(`${transport}: invite, accept, bye from caller; then from callee`, async () => {
    const { a, b, close } = await pair();
    try {
      const serverDialogs: Dialog[] = [];
      b.onInvite((call) => {
        assert.is(call.offer, OFFER);
        call.progress(180);
        serverDialogs.push(call.accept(ANSWER));
      });
      const d1 = await a.invite({ uri: b.uri('agent', transport), from: 'sip:caller@example.com', sdp: OFFER, timeoutMs: 5000 });
      assert.is(d1.remoteSdp, ANSWER);
      assert.is(d1.state, 'confirmed');
      const s1 = serverDialogs[0]!;
      const ack = once<void>((r) => s1.once('ack', () => r()));
      await ack;
      const byeSeen = once<void>((r) => s1.once('bye', () => r()));
      assert.is(await d1.bye(), 200);
      await byeSeen;
      assert.is(s1.state, 'terminated');
      assert.is(b.dialogCount, 0);

      const d2 = await a.invite({ uri: b.uri('agent', transport), from: 'sip:caller@example.com', sdp: OFFER, timeoutMs: 5000 });
      const s2 = serverDialogs[1]!;
      const byeAtCaller = once<void>((r) => d2.once('bye', () => r()));
      assert.is(await s2.bye(), 200);
      await byeAtCaller;
      assert.is(d2.state, 'terminated');
      assert.is(a.dialogCount, 0);
    } finally { await close(); }
  });

  test(`${transport}: cancel before answer gives 487 and aborts the signal`, async () => {
    const { a, b, close } = await pair();
    try {
      let aborted = false;
      b.onInvite((call) => {
        call.progress(183, ANSWER);
        call.cancelled.addEventListener('abort', () => { aborted = true; });
      });
      let early = '';
      const err = await a.invite({ uri: b.uri('agent', transport), from: 'sip:c@example.com', sdp: OFFER, timeoutMs: 300, onEarlyMedia: (sdp) => { early = sdp; } }).catch((e: unknown) => e);
      assert.instance(err, SipCallError);
      assert.is((err as SipCallError).status, 487);
      assert.ok(aborted);
      assert.is(early, ANSWER);
    } finally { await close(); }
  });
}

test('TCP: in-dialog requests go over the connection the dialog was set up on, both ways', async () => {
  const { a, b, close } = await pair();
  try {
    const seen: Array<{ at: 'a' | 'b'; method: string; port: number }> = [];
    a.transport.on('message', (m, src) => { if (m.kind === 'request') seen.push({ at: 'a', method: m.method, port: src.port }); });
    b.transport.on('message', (m, src) => { if (m.kind === 'request') seen.push({ at: 'b', method: m.method, port: src.port }); });
    const serverDialogs: Dialog[] = [];
    b.onInvite((call) => { serverDialogs.push(call.accept(ANSWER)); });
    const d = await a.invite({ uri: b.uri('agent', 'TCP'), from: 'sip:caller@example.com', sdp: OFFER, timeoutMs: 5000 });
    const s = serverDialogs[0]!;
    assert.is(await s.info('Signal=1\r\n', 'application/dtmf-relay'), 200);
    const info = seen.find((r) => r.at === 'a' && r.method === 'INFO')!;
    assert.is(info.port, b.ports.tcp, 'the callee\'s INFO came from its listening port: the caller\'s connection');
    assert.is(await d.info('Signal=2\r\n', 'application/dtmf-relay'), 200);
    assert.is(await s.bye(), 200);
    assert.is(a.transport.openConnections, 1, 'the callee never opened a connection to the caller\'s Contact');
    assert.is(b.transport.openConnections, 1);
  } finally { await close(); }
});

test('UDP: a BYE nobody answers is retransmitted (timer E), ends in 408 (timer F) and is emitted as byeFailed', async () => {
  const { a, b, close } = await pair();
  try {
    const serverDialogs: Dialog[] = [];
    b.onInvite((call) => { serverDialogs.push(call.accept(ANSWER)); });
    await a.invite({ uri: b.uri('agent'), from: 'sip:caller@example.com', sdp: OFFER, timeoutMs: 5000 });
    const s = serverDialogs[0]!;
    await a.close(); // the caller is gone: nothing answers the BYE
    let byes = 0;
    const send = b.transport.send.bind(b.transport);
    b.transport.send = (m, target) => { if (m.kind === 'request' && m.method === 'BYE') byes++; return send(m, target); };
    const failed: number[] = [];
    s.on('byeFailed', (status) => failed.push(status));
    assert.is(await s.bye(), 408);
    assert.ok(byes >= 3, `BYE sent ${byes} times`);
    assert.equal(failed, [408]);
    assert.is(s.state, 'terminated');
  } finally { await close(); }
});

test('re-INVITE: handler answer accepted, undefined refused with 488', async () => {
  const { a, b, close } = await pair();
  try {
    let server: Dialog | undefined;
    b.onInvite((call) => { server = call.accept(ANSWER); });
    const d = await a.invite({ uri: b.uri('agent'), from: 'sip:c@example.com', sdp: OFFER });
    server!.onReinvite = (offer) => (offer.includes('40010') ? ANSWER.replace('40002', '40012') : undefined);
    const answer = await d.reinvite(OFFER.replace('40000', '40010'));
    assert.match(answer, /40012/);
    assert.match(server!.remoteSdp!, /40010/);
    const refused = await d.reinvite(OFFER.replace('40000', '40020')).catch((e: Error) => e.message);
    assert.match(String(refused), /488/);
    await d.bye();
  } finally { await close(); }
});

test('OPTIONS is answered 200 with Allow/Accept/Supported over UDP and TCP', async () => {
  const { a, b, close } = await pair();
  try {
    for (const t of ['UDP', 'TCP'] as TransportName[]) {
      const res = await a.options(b.uri('x', t));
      assert.is(res.status, 200);
      assert.match(res.headers.get('allow')!, /INVITE/);
      assert.is(res.headers.get('accept'), 'application/sdp');
      assert.ok(res.headers.has('supported'));
    }
  } finally { await close(); }
});

test('digest challenge then success; wrong password fails with 401', async () => {
  const { a, b, close } = await pair();
  try {
    const server = new DigestServer({ realm: 'smartalex' });
    const store = new Map<string, string>();
    for (const alg of ['SHA-256', 'MD5'] as DigestAlgorithm[]) store.set(`trunk:${alg}`, ha1(alg, 'trunk', 'smartalex', 'pw'));
    let challenges = 0;
    b.onInvite(async (call) => {
      const r = await call.verifyCredentials(server, (u, _realm, alg) => store.get(`${u}:${alg}`));
      if (!r.ok) { challenges++; return call.challenge(server, { stale: r.stale }); }
      call.accept(ANSWER);
    });
    const d = await a.invite({ uri: b.uri('agent'), from: 'sip:trunk@example.com', sdp: OFFER, auth: { username: 'trunk', password: 'pw' } });
    assert.is(challenges, 1);
    await d.bye();
    const err = await a.invite({ uri: b.uri('agent'), from: 'sip:trunk@example.com', sdp: OFFER, auth: { username: 'trunk', password: 'bad' } }).catch((e: unknown) => e);
    assert.is((err as SipCallError).status, 401);
  } finally { await close(); }
});

test('reject, and requests outside a dialog get 481', async () => {
  const { a, b, close } = await pair();
  try {
    b.onInvite((call) => call.reject(486, 'Busy Here'));
    const err = await a.invite({ uri: b.uri('agent'), from: 'sip:c@example.com', sdp: OFFER }).catch((e: unknown) => e);
    assert.is((err as SipCallError).status, 486);
    // A BYE for a dialog b never had.
    let server: Dialog | undefined;
    const c = await SipEndpoint.create({ timers, guard: false });
    c.onInvite((call) => { server = call.accept(ANSWER); });
    const d = await a.invite({ uri: c.uri('agent'), from: 'sip:c@example.com', sdp: OFFER });
    await c.close();
    void server;
    // Point the dialog at b instead: b has no such dialog.
    d.remoteTarget = b.uri('agent');
    assert.is(await d.bye(), 481);
  } finally { await close(); }
});

test('REFER: transferee gets the refer event and its NOTIFY completes the transfer', async () => {
  const { a, b, close } = await pair();
  try {
    let server: Dialog | undefined;
    b.onInvite((call) => { server = call.accept(ANSWER); });
    const d = await a.invite({ uri: b.uri('agent'), from: 'sip:c@example.com', sdp: OFFER });
    d.on('refer', (refer) => {
      assert.is(refer.target, 'sip:human@example.com');
      void refer.notify(200, 'OK');
    });
    const progress: number[] = [];
    server!.on('referProgress', (s) => progress.push(s));
    assert.is(await server!.refer('sip:human@example.com'), 200);
    assert.ok(progress.includes(200));
    await d.bye();
  } finally { await close(); }
});

test.run();
