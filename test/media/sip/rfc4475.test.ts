/**
 * RFC 4475 torture messages: every file in the shared conformance folder is
 * classified (must parse / must be rejected) and spot-checked for values.
 */
import { test } from 'uvu';
import { RFC4475_DIR } from './conformance-dir.ts';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMessage, checkRequestSanity } from '../../../media/sip/parser.ts';
import { parseCSeq, parseMaxForwards, parseNameAddr, parseVia } from '../../../media/sip/header-values.ts';
import { parseSipUri, parseUri, type SipUri } from '../../../media/sip/uri.ts';
import type { SipMessage, SipRequest, SipResponse } from '../../../media/sip/message.ts';

const dir = RFC4475_DIR;
const VALID = ['wsinv', 'intmeth', 'esc01', 'escnull', 'esc02', 'lwsdisp', 'longreq', 'dblreq', 'semiuri', 'transports', 'mpart01', 'unreason', 'noreason'];
const INVALID = ['badinv01', 'clerr', 'ncl', 'scalar02', 'scalarlg', 'quotbal', 'ltgtruri', 'lwsruri', 'lwsstart', 'trws', 'escruri', 'baddate', 'regbadct', 'badaspec', 'baddn', 'badvers', 'mismatch01', 'mismatch02', 'bigcode'];
const TRANSACTION = ['badbranch'];
const APPLICATION = ['insuf', 'unkscm', 'novelsc', 'unksm2', 'bext01', 'invut', 'regaut01', 'multi01', 'mcl01', 'bcast', 'zeromf', 'cparam01', 'cparam02', 'regescrt', 'sdp01'];
const COMPAT = ['inv2543'];
const MUST_PARSE = [...VALID, ...TRANSACTION, ...APPLICATION, ...COMPAT];

const load = (name: string) => readFileSync(join(dir, `${name}.dat`));
function parsed(name: string): SipMessage {
  const r = parseMessage(load(name));
  if (!r.ok) throw new Error(`${name}: ${r.reason}`);
  return r.message;
}
const req = (name: string) => parsed(name) as SipRequest;

test('the folder holds exactly the 49 classified messages', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.dat')).map((f) => f.replace(/\.dat$/, '')).sort();
  assert.is(files.length, 49);
  assert.equal(files, [...MUST_PARSE, ...INVALID].sort());
});

for (const name of MUST_PARSE) {
  test(`${name} parses`, () => {
    const r = parseMessage(load(name));
    assert.ok(r.ok, r.ok ? '' : r.reason);
  });
}

for (const name of INVALID) {
  test(`${name} is rejected with a reason`, () => {
    const r = parseMessage(load(name));
    assert.is(r.ok, false);
    if (!r.ok) assert.ok(r.reason.length > 0);
  });
}

test('invalid requests with intact Via/From/To/Call-ID/CSeq can be answered', () => {
  for (const name of ['clerr', 'ncl', 'quotbal', 'ltgtruri', 'lwsruri', 'lwsstart', 'trws', 'escruri', 'baddate', 'regbadct', 'mismatch01', 'mismatch02']) {
    const r = parseMessage(load(name));
    assert.ok(!r.ok && (r.canRespond || name === 'quotbal'), name);
  }
  const resp = parseMessage(load('bigcode'));
  assert.ok(!resp.ok && !resp.canRespond, 'responses are never answered');
  const vers = parseMessage(load('badvers'));
  assert.ok(!vers.ok && vers.status === 505);
});

test('wsinv: unusual whitespace, folding and case', () => {
  const m = req('wsinv');
  assert.is(m.method, 'INVITE');
  assert.is(parseMaxForwards(m.headers.get('Max-Forwards')!), 68);
  assert.equal(parseCSeq(m.headers.get('cseq')!), { seq: 9, method: 'INVITE' });
  const to = parseNameAddr(m.headers.get('to')!)!;
  assert.is(to.params.tag, '1918181833n');
  const from = parseNameAddr(m.headers.get('From')!)!;
  assert.is(from.displayName, 'J Rosenberg \\"');
  assert.is(from.params.tag, '98asjd8');
  const vias = m.headers.getList('via').map((v) => parseVia(v)!);
  assert.is(vias.length, 3);
  assert.is(vias[0]!.transport, 'UDP');
  assert.is(vias[0]!.host, '192.0.2.2');
  assert.is(vias[0]!.params.branch, '390skdjuw');
  assert.is(vias[1]!.transport, 'TCP');
  assert.is(vias[1]!.params.branch, 'z9hG4bK9ikj8');
  assert.is(vias[2]!.host, '192.168.255.111');
  assert.is(vias[2]!.params.branch, 'z9hG4bK30239');
  assert.is(m.headers.get('Subject'), '');
  assert.is(m.headers.get('newfangledheader'), 'newfangled value continued newfangled value');
  const contact = parseNameAddr(m.headers.get('contact')!)!;
  assert.is(contact.displayName, 'Quoted string ""');
  assert.is(contact.params.newparam, 'newvalue');
  assert.is(contact.params.secondparam, null);
  assert.is(contact.params.q, '0.33');
  assert.is(m.body.length, 150);
});

test('intmeth: unusual method, URI user and password', () => {
  const m = req('intmeth');
  assert.is(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
  const uri = parseSipUri(m.uri)!;
  assert.is(uri.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  assert.is(uri.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  assert.is(uri.host, 'example.com');
  assert.is(m.headers.get('call-id'), 'intmeth.word%ZK-!.*_+\'@word`~)(><:\\/"][?}{');
  const to = parseNameAddr(m.headers.get('to')!)!;
  assert.is(to.displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
  assert.is(parseMaxForwards(m.headers.get('max-forwards')!), 255);
});

test('esc01: escaped characters decode', () => {
  const m = req('esc01');
  const uri = parseSipUri(m.uri)!;
  assert.is(uri.user, 'sips:user@example.com');
  assert.is(uri.host, 'example.net');
  assert.is((parseNameAddr(m.headers.get('to')!)!.uri as SipUri).user, 'user');
  assert.is((parseNameAddr(m.headers.get('from')!)!.uri as SipUri).user, 'I have spaces');
  const contact = parseNameAddr(m.headers.get('m')!)!.uri as SipUri;
  assert.is(contact.user, 'caller');
  assert.ok('lr' in contact.params);
  assert.is(contact.params.name, 'value%41');
  assert.is(m.headers.get('content-type'), 'application/sdp');
  assert.is(m.headers.get('call-id'), 'esc01.239409asdfakjkn23onasd0-3234');
});

test('escnull, esc02: escaped NUL, escaped method and header name are literal', () => {
  const n = req('escnull');
  assert.is((parseNameAddr(n.headers.get('to')!)!.uri as SipUri).user, 'null-\x00-null');
  assert.equal(n.headers.getList('contact').map((c) => (parseNameAddr(c)!.uri as SipUri).user), ['\x00', '\x00\x00']);
  const e = req('esc02');
  assert.is(e.method, 'RE%47IST%45R');
  assert.is(e.headers.getList('contact').length, 2);
  assert.is(e.headers.get('C%6Fntact'), '<sip:alias2@host2.example.com>');
  assert.is(parseNameAddr(e.headers.get('to')!)!.displayName, '%Z%45');
});

test('longreq: long values and many Vias', () => {
  const raw = load('longreq');
  assert.ok(raw.length > 3000);
  const m = req('longreq');
  const vias = m.headers.getList('via');
  assert.is(vias.length, 34);
  const last = parseVia(vias[33]!)!;
  assert.is(last.params.received, '192.0.2.5');
  assert.match(last.params.branch!, /^verylong(long){40,}branchvalue$/);
  assert.is(m.headers.get('call-id')!.length, 'longreq.one'.length + 'really'.length * 20 + 'longcallid'.length);
  const to = parseNameAddr(m.headers.get('to')!)!;
  assert.is((to.uri as SipUri).port, 6000);
  assert.ok(to.displayName!.includes('extremeextreme'));
  assert.is(m.body.length, 150);
});

test('dblreq: only the first message of the datagram is taken', () => {
  const m = req('dblreq');
  assert.is(m.method, 'REGISTER');
  assert.is(m.body.length, 0);
});

test('semiuri, transports, lwsdisp', () => {
  const s = parseSipUri(req('semiuri').uri)!;
  assert.is(s.user, 'user;par=u@example.net');
  assert.is(s.host, 'example.com');
  assert.is(Object.keys(s.params).length, 0);
  assert.is(req('semiuri').headers.getList('accept').length, 6);
  assert.equal(req('transports').headers.getList('via').map((v) => parseVia(v)!.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  assert.is(parseNameAddr(req('lwsdisp').headers.get('from')!)!.displayName, 'caller');
});

test('mpart01: binary body kept byte for byte', () => {
  const raw = load('mpart01');
  const m = req('mpart01');
  assert.is(m.body.length, 553);
  assert.ok(m.body.equals(raw.subarray(raw.length - 553)));
});

test('unreason, noreason: reason phrases', () => {
  const u = parsed('unreason') as SipResponse;
  assert.is(u.status, 200);
  assert.ok(u.reason.startsWith('= 2**3 * 5**2 но'));
  const n = parsed('noreason') as SipResponse;
  assert.is(n.status, 100);
  assert.is(n.reason, '');
});

test('application-layer messages parse and the sanity check answers them', () => {
  assert.equal(checkRequestSanity(req('insuf'))?.status, 400);
  assert.equal(checkRequestSanity(req('multi01'))?.status, 400);
  assert.equal(checkRequestSanity(req('mcl01'))?.status, 400);
  assert.equal(checkRequestSanity(req('unkscm'))?.status, 416);
  assert.equal(checkRequestSanity(req('novelsc'))?.status, 416);
  assert.equal(checkRequestSanity(req('zeromf'))?.status, 483);
  assert.is(checkRequestSanity(req('inv2543')), undefined);
  assert.is(checkRequestSanity(req('cparam01')), undefined);
  assert.is(parseUri(parseNameAddr(req('unksm2').headers.get('to')!)!.uri.scheme + ':x')!.scheme, 'isbn');
  const cp1 = parseNameAddr(req('cparam01').headers.get('contact')!)!;
  assert.ok('unknownparam' in cp1.params, 'addr-spec params are header params');
  assert.not.ok('unknownparam' in (cp1.uri as SipUri).params);
  const cp2 = parseNameAddr(req('cparam02').headers.get('contact')!)!;
  assert.ok('unknownparam' in (cp2.uri as SipUri).params);
  const rr = parseNameAddr(req('regescrt').headers.get('contact')!)!.uri as SipUri;
  assert.is(rr.headers.Route, '<sip:sip.example.com>');
  assert.is(parseVia(req('badbranch').headers.get('via')!)!.params.branch, 'z9hG4bK');
});

test.run();
