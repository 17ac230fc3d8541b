/**
 * Refusals leave a trace: every 401, 403 and 488 the server sends is counted
 * in smartalex_sip_refusals_total{status,method} and logged at debug with the
 * source address, without
 * the numbers or URIs of the request; every 488 carries a Warning (RFC 3261
 * 20.43) saying why: 305 for no common codec, 302 for an unsupported media
 * transport, also on a refused re-INVITE.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { Writable } from 'node:stream';
import { Registry } from 'prom-client';
import { CallManager } from '../../../src/calls/call-manager.ts';
import { createLogger } from '../../../src/log.ts';
import { SipCallError, SipEndpoint, parseCSeq, type SipResponse } from '../../../media/sip/index.ts';
import { addNumber, createAgent, createTenant, migrate, openDatabase, type Database } from '../../../storage/index.ts';
import { waitForValue } from '../../support/poll.ts';

let db: Database;
let manager: CallManager;
let uac: SipEndpoint;
let rtp: Socket;
const registry = new Registry();
const logLines: string[] = [];

const OPEN_NUMBER = '4000'; // allowed from 127.0.0.1: reaches offer/answer
const DIGEST_NUMBER = '4001'; // allowed from elsewhere: challenged

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'refusals' });
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  await addNumber(db, tenant.id, { number: OPEN_NUMBER, agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
  const ha1 = (alg: 'md5' | 'sha256') => createHash(alg).update('carrier:smartalex:s3cret').digest('hex');
  await addNumber(db, tenant.id, {
    number: DIGEST_NUMBER, agentId: agent.id, allowedCidrs: ['192.0.2.0/24'],
    digest: { username: 'carrier', realm: 'smartalex', ha1Md5: ha1('md5'), ha1Sha256: ha1('sha256') },
  });
  const logger = createLogger('debug', new Writable({ write(chunk, _encoding, done) { logLines.push(String(chunk)); done(); } }));
  manager = await CallManager.start({ db, logger, host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 5, mediaThread: false, metrics: registry });
  uac = await SipEndpoint.create({ host: '127.0.0.1', udpPort: 0, tcpPort: null, guard: false, timers: { t1: 50, t2: 200, t4: 250, trying100Ms: 200 } });
  rtp = createSocket('udp4');
  await new Promise<void>((r) => rtp.bind(0, '127.0.0.1', () => r()));
});

test.after(async () => {
  rtp?.close();
  await uac?.close();
  await manager?.close();
  await db?.close();
});

const sdp = (codecs: string, protocol = 'RTP/AVP') => ['v=0', 'o=uac 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0',
  `m=audio ${rtp.address().port} ${protocol} ${codecs}`, ''].join('\r\n');

async function refused(number: string, offer: string, auth?: { username: string; password: string }): Promise<SipResponse> {
  const error = await uac.invite({ uri: `sip:${number}@127.0.0.1:${manager.sipPorts.udp}`, from: 'sip:prober@127.0.0.1', sdp: offer, timeoutMs: 20_000, ...(auth ? { auth } : {}) })
    .then(() => undefined, (e: unknown) => e);
  assert.instance(error, SipCallError, `the call to ${number} was refused`);
  return (error as SipCallError).response!;
}

async function count(status: number, method: string): Promise<number> {
  const metric = await registry.getSingleMetric('smartalex_sip_refusals_total')!.get();
  return metric.values.find((v) => v.labels.status === String(status) && v.labels.method === method)?.value ?? 0;
}


test('a G.729-only offer gets 488 with Warning 305; an SRTP-only offer 488 with Warning 302', async () => {
  const codec = await refused(OPEN_NUMBER, sdp('18'));
  assert.is(codec.status, 488);
  assert.is(codec.headers.get('warning'), '305 127.0.0.1 "Incompatible media format"');
  const transport = await refused(OPEN_NUMBER, sdp('0', 'RTP/SAVP'));
  assert.is(transport.status, 488);
  assert.is(transport.headers.get('warning'), '302 127.0.0.1 "Incompatible transport protocol"');
});

test('a refused re-INVITE gets 488 with Warning 305 and the call goes on', async () => {
  const responses: SipResponse[] = [];
  const onMessage = (m: { kind: string }) => { if (m.kind === 'response') responses.push(m as SipResponse); };
  uac.transport.on('message', onMessage);
  try {
    const dialog = await uac.invite({ uri: `sip:${OPEN_NUMBER}@127.0.0.1:${manager.sipPorts.udp}`, from: 'sip:caller@127.0.0.1', sdp: sdp('0'), timeoutMs: 20_000 });
    const error = await dialog.reinvite(sdp('18')).then(() => undefined, (e: unknown) => e);
    assert.match(String(error), /488/);
    const refusal = responses.find((r) => r.status === 488 && parseCSeq(r.headers.get('cseq') ?? '')?.seq === dialog.localSeq);
    assert.is(refusal?.headers.get('warning'), '305 127.0.0.1 "Incompatible media format"');
    assert.is(dialog.state, 'confirmed');
    assert.is(await dialog.bye(), 200);
  } finally {
    uac.transport.off('message', onMessage);
  }
});

test('401 and 403 (wrong password) and the 488s are counted once each and logged at debug with the source, without numbers or URIs', async () => {
  const before = { c401: await count(401, 'INVITE'), c403: await count(403, 'INVITE') };
  const res = await refused(DIGEST_NUMBER, sdp('0'), { username: 'carrier', password: 'wrong' });
  assert.is(res.status, 403);
  assert.is(await count(401, 'INVITE'), before.c401 + 1, 'the challenge');
  assert.is(await count(403, 'INVITE'), before.c403 + 1);
  // Two INVITEs and one re-INVITE were refused with 488 by the tests above.
  assert.is(await count(488, 'INVITE'), 3);
  const refusals = await waitForValue('the refusals in the log', () => {
    const lines = logLines.map((l) => JSON.parse(l) as { msg: string; status: number; source: string; level: number }).filter((l) => l.msg === 'SIP request refused');
    return lines.length >= 5 ? lines : undefined;
  });
  assert.equal(new Set(refusals.map((l) => l.status)), new Set([401, 403, 488]));
  for (const l of refusals) {
    assert.is(l.level, 20, 'debug');
    assert.is(l.source, '127.0.0.1');
  }
  const text = logLines.filter((l) => l.includes('SIP request refused')).join('');
  assert.not.match(text, new RegExp(`${OPEN_NUMBER}|${DIGEST_NUMBER}|sip:|prober`));
  const exposition = await registry.metrics();
  assert.match(exposition, /smartalex_sip_refusals_total\{status="403",method="INVITE"\} 1/);
});

test.run();
