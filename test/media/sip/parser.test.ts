/**
 * Parser robustness: serializer round trip over the RFC 4475 messages, and
 * fuzz-ish inputs (garbage, every truncation, huge headers, wrong lengths)
 * that must never make the parser or the stream framer throw.
 */
import { test } from 'uvu';
import { RFC4475_DIR } from './conformance-dir.ts';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseMessage } from '../../../media/sip/parser.ts';
import { serializeMessage } from '../../../media/sip/serializer.ts';
import { StreamFramer } from '../../../media/sip/stream-framer.ts';
import { SipHeaders, splitHeaderList, createRequest, type SipMessage } from '../../../media/sip/message.ts';
import { formatNameAddr, formatVia, parseNameAddr, parseVia } from '../../../media/sip/header-values.ts';
import { formatUri, parseUri } from '../../../media/sip/uri.ts';

const dir = RFC4475_DIR;

const INVITE = Buffer.from([
  'INVITE sip:bob@127.0.0.1:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK776asdhds;rport',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@127.0.0.1>',
  'From: "Alice A." <sip:alice@127.0.0.1>;tag=1928301774',
  'Call-ID: a84b4c76e66710@127.0.0.1',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@127.0.0.1:5070>',
  'Content-Type: application/sdp',
  'Content-Length: 24',
  '',
  'v=0\r\no=- 0 0 IN IP4 xy\r\n',
].join('\r\n'));

function comparable(m: SipMessage) {
  return {
    start: m.kind === 'request' ? [m.method, m.uri] : [m.status, m.reason],
    headers: m.headers.entries().filter((h) => h.name.toLowerCase() !== 'content-length').map((h) => [h.name.toLowerCase(), h.value]),
    body: m.body.toString('base64'),
  };
}

test('the sample INVITE parses with its body', () => {
  const r = parseMessage(INVITE);
  assert.ok(r.ok);
  if (r.ok) assert.is(r.message.body.toString(), 'v=0\r\no=- 0 0 IN IP4 xy\r\n');
});

test('parse -> serialize -> parse keeps every value (all parseable RFC 4475 messages)', () => {
  let count = 0;
  for (const file of readdirSync(dir)) {
    const first = parseMessage(readFileSync(join(dir, file)));
    if (!first.ok) continue;
    const again = parseMessage(serializeMessage(first.message));
    assert.ok(again.ok, `${file}: ${again.ok ? '' : again.reason}`);
    if (again.ok) assert.equal(comparable(again.message), comparable(first.message), file);
    count++;
  }
  assert.is(count, 30);
});

test('structured values round-trip through their formatters', () => {
  for (const text of ['sip:user:pw@host.example.com:5070;transport=tcp;lr?subject=hi%20there', 'sips:%00@[2001:db8::1]:5061', 'tel:+1-201-555-0123;phone-context=example.com', 'urn:service:sos']) {
    const uri = parseUri(text)!;
    assert.equal(parseUri(formatUri(uri)), uri, text);
  }
  const na = parseNameAddr('"Quote \\" me" <sip:a%20b@h;lr>;tag=x;q=0.5')!;
  assert.equal(parseNameAddr(formatNameAddr(na)), na);
  const via = parseVia('SIP/2.0/TCP [::1]:5060;branch=z9hG4bKx;received=10.0.0.1;rport=4000')!;
  assert.equal(parseVia(formatVia(via)), via);
});

test('header list: order, compact forms, case-insensitive lookup, quote-aware splitting', () => {
  const h = new SipHeaders([['v', 'SIP/2.0/UDP a'], ['VIA', 'SIP/2.0/UDP b, SIP/2.0/UDP c'], ['i', 'x']]);
  assert.equal(h.getList('Via'), ['SIP/2.0/UDP a', 'SIP/2.0/UDP b', 'SIP/2.0/UDP c']);
  assert.is(h.get('call-id'), 'x');
  h.prepend('via', 'SIP/2.0/UDP z');
  assert.is(h.getList('via')[0], 'SIP/2.0/UDP z');
  assert.equal(splitHeaderList('"a, b" <sip:x@y;p=1,2>, <sip:z>'), ['"a, b" <sip:x@y;p=1,2>', '<sip:z>']);
  const msg = createRequest('OPTIONS', 'sip:x', h);
  assert.match(serializeMessage(msg).toString(), /^OPTIONS sip:x SIP\/2.0\r\nVia: SIP\/2.0\/UDP z\r\nVia: SIP\/2.0\/UDP a\r\n/);
});

test('never throws: every truncation of a valid INVITE', () => {
  let okCount = 0;
  for (let i = 0; i <= INVITE.length; i++) {
    const r = parseMessage(INVITE.subarray(0, i));
    if (r.ok) {
      okCount++;
      // A datagram cut after a complete header line (before Content-Length) is a valid body-less request.
      assert.ok(i === INVITE.length || (INVITE[i - 1] === 0x0a && i <= INVITE.indexOf('Content-Length')), `offset ${i}`);
    }
    const s = parseMessage(INVITE.subarray(0, i), { datagram: false });
    assert.type(s.ok, 'boolean');
  }
  assert.ok(okCount >= 1);
});

test('never throws: random garbage and mutated messages', () => {
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let n = 0; n < 3000; n++) {
    const len = Math.floor(rand() * 600);
    const buf = Buffer.alloc(len);
    for (let i = 0; i < len; i++) buf[i] = Math.floor(rand() * 256);
    assert.type(parseMessage(buf).ok, 'boolean');
    const mutated = Buffer.from(INVITE);
    for (let k = 0; k < 4; k++) mutated[Math.floor(rand() * mutated.length)] = Math.floor(rand() * 256);
    const r = parseMessage(mutated);
    if (!r.ok) assert.type(r.canRespond, 'boolean');
  }
});

test('size limit, huge headers and wrong Content-Length are rejected cleanly', () => {
  const huge = Buffer.concat([INVITE.subarray(0, 40), Buffer.from('X-Big: ' + 'a'.repeat(100_000) + '\r\n'), INVITE.subarray(40)]);
  const r = parseMessage(huge);
  assert.ok(!r.ok && r.status === 513);
  assert.ok(parseMessage(huge, { maxMessageSize: 200_000 }).ok, 'a raised limit accepts it');
  const small = parseMessage(INVITE, { maxMessageSize: 100 });
  assert.is(small.ok, false);
  const wrong = Buffer.from(INVITE.toString().replace('Content-Length: 24', 'Content-Length: 99'));
  const w = parseMessage(wrong);
  assert.ok(!w.ok && w.canRespond && w.partial?.kind === 'request');
  const shorter = parseMessage(Buffer.from(INVITE.toString().replace('Content-Length: 24', 'Content-Length: 3')));
  assert.ok(shorter.ok && shorter.message.body.toString() === 'v=0');
  const neg = parseMessage(Buffer.from(INVITE.toString().replace('Content-Length: 24', 'Content-Length: -1')));
  assert.is(neg.ok, false);
});

test('stream framer: split, coalesced and byte-by-byte input, keep-alives', () => {
  const framer = new StreamFramer();
  const two = Buffer.concat([Buffer.from('\r\n\r\n'), INVITE, Buffer.from('\r\n'), INVITE]);
  const events = framer.push(two);
  assert.equal(events.map((e) => e.type), ['keepalive', 'message', 'keepalive', 'message']);
  assert.equal(events[0], { type: 'keepalive', pong: false });
  const slow = new StreamFramer();
  const got: Buffer[] = [];
  for (const byte of INVITE) for (const e of slow.push(Buffer.from([byte]))) if (e.type === 'message') got.push(e.data);
  assert.is(got.length, 1);
  assert.ok(got[0]!.equals(INVITE));
  assert.is(slow.bufferedBytes, 0);
});

test('stream framer: missing Content-Length and oversize input are framing errors', () => {
  const noLength = new StreamFramer().push(Buffer.from('OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/TCP h\r\n\r\n'));
  assert.is(noLength.at(-1)?.type, 'error');
  const capped = new StreamFramer({ maxMessageSize: 1000 });
  const ev = capped.push(Buffer.alloc(2000, 0x41));
  assert.is(ev.at(-1)?.type, 'error');
  assert.is(capped.push(INVITE).length, 0, 'a failed framer stays closed');
  const big = new StreamFramer({ maxMessageSize: 1000 }).push(Buffer.from('INVITE sip:x SIP/2.0\r\nContent-Length: 5000\r\n\r\n'));
  assert.is(big.at(-1)?.type, 'error');
});

test.run();
