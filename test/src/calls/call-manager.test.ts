/**
 * CallManager admission without enumeration: from a source that is on no
 * number's allowlist, a known number without digest credentials, a known
 * number with credentials (same realm) and a number that does not exist all
 * get the same 401 challenge without credentials and the same 403 with wrong
 * ones: same status, reason, header names and challenge parameters (only the
 * nonce and the To tag differ, as they do between any two requests).
 * The challenge as shipped offers MD5 first, then SHA-256; a number set to
 * SHA-256 only offers just that and refuses an MD5 answer with the right
 * password.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { CallManager } from '../../../src/calls/call-manager.ts';
import { createLogger } from '../../../src/log.ts';
import { buildAuthorization, pickChallenge, SipCallError, SipEndpoint, type SipResponse } from '../../../media/sip/index.ts';
import { addNumber, createAgent, createTenant, migrate, openDatabase, type Database } from '../../../storage/index.ts';

let db: Database;
let manager: CallManager;
let uac: SipEndpoint;

const KNOWN_NO_DIGEST = '3000';
const KNOWN_WITH_DIGEST = '3001';
const SHA256_ONLY = '3002';
const UNKNOWN = '3999';

test.before(async () => {
  db = await openDatabase({ dataDir: '', inMemory: true, appRole: 'smartalex_app' });
  await migrate(db);
  const tenant = await createTenant(db, { name: 'enumeration' });
  const agent = await createAgent(db, tenant.id, { name: 'echo', mode: 'echo' });
  // Neither number allows 127.0.0.1 (where the test calls from), so the source is on no allowlist.
  await addNumber(db, tenant.id, { number: KNOWN_NO_DIGEST, agentId: agent.id, allowedCidrs: ['10.0.0.0/8'] });
  const ha1 = (alg: 'md5' | 'sha256') => createHash(alg).update('carrier:smartalex:s3cret').digest('hex');
  await addNumber(db, tenant.id, {
    number: KNOWN_WITH_DIGEST, agentId: agent.id, allowedCidrs: ['192.0.2.0/24'],
    digest: { username: 'carrier', realm: 'smartalex', ha1Md5: ha1('md5'), ha1Sha256: ha1('sha256') },
  });
  await addNumber(db, tenant.id, {
    number: SHA256_ONLY, agentId: agent.id, allowedCidrs: ['192.0.2.0/24'], digestAlgorithms: ['SHA-256'],
    digest: { username: 'carrier', realm: 'smartalex', ha1Md5: ha1('md5'), ha1Sha256: ha1('sha256') },
  });
  // This file probes admission from one address: about 45 requests (INVITEs, their ACKs, two BYEs) within a second,
  // more than the flood guard's default burst (40) before it bans a source for a minute and drops it silently (a
  // 408 here, CI). The guard is not what this file tests (test/media/sip/guard.test.ts is): room for every request.
  manager = await CallManager.start({
    db, logger: createLogger('silent'), host: '127.0.0.1', port: 0, rtpTimeoutMs: 30_000, maxCallsPerTenant: 5, guard: { burst: 200 },
  });
  uac = await SipEndpoint.create({ host: '127.0.0.1', udpPort: 0, tcpPort: null, guard: false });
});

test.after(async () => {
  await uac?.close();
  await manager?.close();
  await db?.close();
});

const uriOf = (number: string): string => `sip:${number}@127.0.0.1:${manager.sipPorts.udp}`;
const sdp = ['v=0', 'o=uac 1 1 IN IP4 127.0.0.1', 's=-', 'c=IN IP4 127.0.0.1', 't=0 0', 'm=audio 9 RTP/AVP 0', 'a=rtpmap:0 PCMU/8000', ''].join('\r\n');

async function refusal(number: string, auth?: { username: string; password: string }, headers: Array<[string, string]> = []): Promise<SipResponse> {
  const uri = uriOf(number);
  try {
    await uac.invite({ uri, from: 'sip:prober@127.0.0.1', sdp, timeoutMs: 20_000, headers, ...(auth ? { auth } : {}) });
  } catch (error) {
    assert.instance(error, SipCallError);
    const res = (error as SipCallError).response;
    assert.ok(res, `a SIP answer for ${number}`);
    return res!;
  }
  throw new Error(`the call to ${number} was answered`);
}

/** What a prober can compare: status, reason, header names in order, challenge parameters without the nonce. */
function shape(res: SipResponse): unknown {
  return {
    status: res.status,
    reason: res.reason,
    headers: res.headers.entries().map((h) => h.name.toLowerCase()),
    challenges: res.headers.getAll('www-authenticate').map((v) => v.replace(/nonce="[^"]*"/, 'nonce=…').replace(/opaque="[^"]*"/, 'opaque=…')),
    body: res.body.length,
  };
}

test('no credentials: a known number without digest, one with digest and an unknown number get the same 401', async () => {
  const a = await refusal(KNOWN_NO_DIGEST);
  const b = await refusal(KNOWN_WITH_DIGEST);
  const c = await refusal(UNKNOWN);
  assert.is(a.status, 401);
  assert.ok(a.headers.getAll('www-authenticate').length >= 1);
  assert.equal(shape(a), shape(c));
  assert.equal(shape(b), shape(c));
});

test('wrong credentials: the same 403 for all three', async () => {
  const wrong = { username: 'carrier', password: 'guess' };
  const a = await refusal(KNOWN_NO_DIGEST, wrong);
  const b = await refusal(KNOWN_WITH_DIGEST, wrong);
  const c = await refusal(UNKNOWN, wrong);
  assert.is(a.status, 403);
  assert.equal(shape(a), shape(c));
  assert.equal(shape(b), shape(c));
});

test('right credentials for a number without digest are still refused like an unknown number', async () => {
  const creds = { username: 'carrier', password: 's3cret' };
  const a = await refusal(KNOWN_NO_DIGEST, creds);
  const c = await refusal(UNKNOWN, creds);
  assert.is(a.status, 403);
  assert.equal(shape(a), shape(c));
});

const algorithmsOf = (res: SipResponse): string[] => res.headers.getAll('www-authenticate').map((v) => /algorithm=([\w-]+)/.exec(v)?.[1] ?? '?');

test('the challenge as shipped offers MD5 alone; a SHA-256-only number offers SHA-256 alone', async () => {
  assert.equal(algorithmsOf(await refusal(UNKNOWN)), ['MD5']);
  assert.equal(algorithmsOf(await refusal(KNOWN_WITH_DIGEST)), ['MD5']);
  assert.equal(algorithmsOf(await refusal(SHA256_ONLY)), ['SHA-256']);
});

test('a SHA-256-only number refuses an MD5 answer with the right password, and lets SHA-256 in', async () => {
  const challenge = pickChallenge((await refusal(SHA256_ONLY)).headers.getAll('www-authenticate'))!;
  const md5 = buildAuthorization({ ...challenge, algorithm: 'MD5' }, { method: 'INVITE', uri: uriOf(SHA256_ONLY), username: 'carrier', password: 's3cret' });
  assert.is((await refusal(SHA256_ONLY, undefined, [['Authorization', md5]])).status, 403);
  // The same MD5 answer is good for a number on the default list: the refusal above is the algorithm, not the password.
  const md5Default = buildAuthorization({ ...challenge, algorithm: 'MD5' }, { method: 'INVITE', uri: uriOf(KNOWN_WITH_DIGEST), username: 'carrier', password: 's3cret' });
  const admitted = await uac.invite({ uri: uriOf(KNOWN_WITH_DIGEST), from: 'sip:carrier@127.0.0.1', sdp, timeoutMs: 20_000, headers: [['Authorization', md5Default]] });
  await admitted.bye();
  const sha = await uac.invite({ uri: uriOf(SHA256_ONLY), from: 'sip:carrier@127.0.0.1', sdp, timeoutMs: 20_000, auth: { username: 'carrier', password: 's3cret' } });
  assert.is(sha.state, 'confirmed');
  await sha.bye();
});

test.run();
