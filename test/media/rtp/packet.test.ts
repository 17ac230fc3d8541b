import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { looksLikeRtcp, parseRtp, seqDiff, seqNewer, serializeRtp, writeRtpHeader } from '../../../media/rtp/packet.ts';

test('serialize then parse keeps every field', () => {
  const payload = Uint8Array.from([1, 2, 3, 4, 5]);
  const buf = serializeRtp({
    marker: true, payloadType: 8, sequenceNumber: 65535, timestamp: 0xfffffff0, ssrc: 0xdeadbeef,
    payload, csrc: [1, 0x80000000], extension: { profile: 0xbede, data: Uint8Array.from([9, 9, 9, 9]) }, padTo: 4,
  });
  assert.is(buf.length % 4, 0);
  const r = parseRtp(buf);
  if (!r.ok) throw new Error(r.reason);
  const p = r.packet;
  assert.is(p.marker, true);
  assert.is(p.payloadType, 8);
  assert.is(p.sequenceNumber, 65535);
  assert.is(p.timestamp, 0xfffffff0);
  assert.is(p.ssrc, 0xdeadbeef);
  assert.equal(p.csrc, [1, 0x80000000]);
  assert.is(p.extension?.profile, 0xbede);
  assert.equal(Array.from(p.extension!.data), [9, 9, 9, 9]);
  assert.is(p.padding, true);
  assert.equal(Array.from(p.payload), [1, 2, 3, 4, 5]);
});

test('a plain header from writeRtpHeader parses back', () => {
  const buf = new Uint8Array(12 + 160);
  writeRtpHeader(buf, 0, { marker: false, payloadType: 0, sequenceNumber: 1234, timestamp: 160, ssrc: 42 });
  const r = parseRtp(buf);
  assert.ok(r.ok);
  if (r.ok) {
    assert.is(r.packet.payload.length, 160);
    assert.is(r.packet.sequenceNumber, 1234);
    assert.is(r.packet.padding, false);
    assert.equal(r.packet.csrc, []);
    assert.is(r.packet.extension, undefined);
  }
});

test('bad packets give a reason and never throw', () => {
  const good = serializeRtp({ marker: false, payloadType: 0, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: new Uint8Array(4) });
  const reason = (b: Uint8Array): string => { const r = parseRtp(b); return r.ok ? 'ok' : r.reason; };
  assert.is(reason(good), 'ok');
  assert.is(reason(good.subarray(0, 11)), 'too-short');
  assert.is(reason(new Uint8Array(0)), 'too-short');
  const v1 = Buffer.from(good); v1[0] = 0x40;
  assert.is(reason(v1), 'bad-version');
  const csrc = Buffer.from(good); csrc[0] = 0x80 | 3; // claims 12 bytes of CSRC, has 4
  assert.is(reason(csrc), 'bad-csrc');
  const ext = Buffer.from(good); ext[0] = 0x90; // extension header would be the 4 payload bytes: length 0 -> ok
  assert.is(reason(ext), 'ok');
  const ext2 = Buffer.concat([good.subarray(0, 12), Buffer.from([0xbe, 0xde, 0, 5])]); ext2[0] = 0x90;
  assert.is(reason(ext2), 'bad-extension');
  const pad = Buffer.from(good); pad[0] = 0xa0; pad[pad.length - 1] = 200;
  assert.is(reason(pad), 'bad-padding');
  const pad0 = Buffer.from(good); pad0[0] = 0xa0; pad0[pad0.length - 1] = 0;
  assert.is(reason(pad0), 'bad-padding');
  for (let i = 0; i < 2000; i++) {
    const junk = Buffer.alloc((i * 7) % 40);
    for (let j = 0; j < junk.length; j++) junk[j] = (i * 31 + j * 17) & 0xff;
    parseRtp(junk);
  }
});

test('sequence arithmetic wraps at 16 bits', () => {
  assert.ok(seqNewer(0, 65535));
  assert.ok(!seqNewer(65535, 0));
  assert.ok(!seqNewer(5, 5));
  assert.is(seqDiff(2, 65534), 4);
  assert.is(seqDiff(65534, 2), -4);
});

test('RTCP is recognised by its packet type byte', () => {
  assert.ok(looksLikeRtcp(Uint8Array.from([0x81, 200, 0, 6, 0, 0, 0, 1])));
  assert.ok(!looksLikeRtcp(Uint8Array.from([0x80, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0])));
});

test.run();
