import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  buildBye, buildCompound, buildReceiverReport, buildSenderReport, ntpFromUnixMs, ntpMiddle32, parseRtcp, ReceptionStats,
} from '../../../media/rtp/rtcp.ts';

test('a compound SR + SDES + BYE parses back', () => {
  const block = { ssrc: 7, fractionLost: 25, cumulativeLost: -3, extendedHighestSeq: 70000, jitter: 12, lastSr: 0x12345678, delaySinceLastSr: 65536 };
  const sr = buildSenderReport(0xabcdef01, { ntpSeconds: 3900000000, ntpFraction: 0x80000000, rtpTimestamp: 160, packetCount: 10, octetCount: 1600 }, [block]);
  const buf = buildCompound({ report: sr, ssrc: 0xabcdef01, cname: 'alex@example', bye: { reason: 'hangup' } });
  assert.is(buf.length % 4, 0);
  const r = parseRtcp(buf);
  if (!r.ok) throw new Error(r.reason);
  assert.is(r.packets.length, 3);
  const [p0, p1, p2] = r.packets;
  assert.is(p0?.type, 'sr');
  if (p0?.type === 'sr') {
    assert.is(p0.ssrc, 0xabcdef01);
    assert.is(p0.sender.packetCount, 10);
    assert.is(p0.sender.octetCount, 1600);
    assert.equal(p0.reports, [block]);
  }
  assert.equal(p1, { type: 'sdes', chunks: [{ ssrc: 0xabcdef01, cname: 'alex@example' }] });
  assert.equal(p2, { type: 'bye', ssrcs: [0xabcdef01], reason: 'hangup' });
});

test('RR without blocks and CNAMEs of every length keep 32-bit alignment', () => {
  for (let n = 0; n < 9; n++) {
    const cname = 'x'.repeat(n);
    const buf = buildCompound({ report: buildReceiverReport(5), ssrc: 5, cname });
    const r = parseRtcp(buf);
    if (!r.ok) throw new Error(r.reason);
    assert.equal(r.packets[0], { type: 'rr', ssrc: 5, reports: [] });
    assert.equal(r.packets[1], { type: 'sdes', chunks: [{ ssrc: 5, cname }] });
  }
  assert.equal(parseRtcp(buildBye([1, 2])), { ok: true, packets: [{ type: 'bye', ssrcs: [1, 2] }] });
});

test('malformed RTCP is rejected with a reason', () => {
  const rr = buildReceiverReport(5, [{ ssrc: 1, fractionLost: 0, cumulativeLost: 0, extendedHighestSeq: 0, jitter: 0, lastSr: 0, delaySinceLastSr: 0 }]);
  assert.is(parseRtcp(rr.subarray(0, 20)).ok, false);
  assert.is(parseRtcp(new Uint8Array(2)).ok, false);
  const v = Buffer.from(rr); v[0] = 0x01;
  assert.equal(parseRtcp(v), { ok: false, reason: 'bad-version' });
});

test('NTP helpers', () => {
  const t = ntpFromUnixMs(1500);
  assert.is(t.seconds, 2208988801);
  assert.is(t.fraction, 0x80000000);
  assert.is(ntpMiddle32(0x00011234, 0xabcd0000), 0x1234abcd);
});

test('reception stats count loss, wraparound and fraction lost (A.3)', () => {
  const s = new ReceptionStats(99, 8000);
  let seq = 65530;
  let ts = 0;
  let now = 0;
  // 20 packets in order across the wrap, except 3 lost.
  const lostSeqs = new Set([65534, 1, 2]);
  for (let i = 0; i < 20; i++) {
    if (!lostSeqs.has(seq)) s.update(seq, ts, now);
    seq = (seq + 1) & 0xffff;
    ts += 160;
    now += 20;
  }
  // first packet is probation (RFC 3550 A.1): counting starts at the second.
  assert.is(s.extendedHighestSeq, 65536 + 13);
  assert.is(s.expected, 19);
  assert.is(s.packetsReceived, 16);
  assert.is(s.cumulativeLost, 3);
  const block = s.reportBlock(now);
  assert.is(block.fractionLost, Math.floor((3 * 256) / 19));
  assert.is(block.cumulativeLost, 3);
  assert.is(block.jitter, 0); // perfectly regular arrival
  // next interval with no loss
  for (let i = 0; i < 5; i++) { s.update(seq, ts, now); seq = (seq + 1) & 0xffff; ts += 160; now += 20; }
  assert.is(s.reportBlock(now).fractionLost, 0);
});

test('interarrival jitter grows when arrival times wobble (A.8)', () => {
  const s = new ReceptionStats(1, 8000);
  for (let i = 0; i < 200; i++) s.update(i, i * 160, i * 20 + (i % 2 ? 10 : 0));
  // |D| is 80 timestamp units every packet, so J converges to 80.
  assert.ok(Math.abs(s.jitter - 80) < 1, `jitter ${s.jitter}`);
  assert.ok(Math.abs(s.jitterMs - 10) < 0.2);
});

test('LSR and DLSR come from the last sender report', () => {
  const s = new ReceptionStats(1, 8000);
  s.update(1, 0, 0); s.update(2, 160, 20);
  s.onSenderReport(0x00011234, 0xabcd0000, 1000);
  const b = s.reportBlock(1500);
  assert.is(b.lastSr, 0x1234abcd);
  assert.is(b.delaySinceLastSr, 32768);
});

test.run();
