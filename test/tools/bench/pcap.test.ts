/** The --pcap instrument's reader: synthetic captures (no tcpdump needed), send jitter from kernel timestamps. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readPcapUdp, rtpSendJitterMs } from '../../../tools/bench/pcap.ts';

function rtp(seq: number, ts: number, marker = false, ssrc = 0x11223344): Buffer {
  const b = Buffer.alloc(12 + 160, 0xff);
  b[0] = 0x80; b[1] = (marker ? 0x80 : 0) | 0;
  b.writeUInt16BE(seq, 2); b.writeUInt32BE(ts >>> 0, 4); b.writeUInt32BE(ssrc, 8);
  return b;
}

/** A classic little-endian microsecond pcap with Ethernet/IPv4/UDP records. */
function pcap(records: Array<{ timeMs: number; srcPort: number; dstPort: number; payload: Buffer }>): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0); head.writeUInt16LE(2, 4); head.writeUInt16LE(4, 6); head.writeUInt32LE(65535, 16); head.writeUInt32LE(1, 20);
  const parts = [head];
  for (const r of records) {
    const frame = Buffer.alloc(14 + 20 + 8 + r.payload.length);
    frame.writeUInt16BE(0x0800, 12);
    frame[14] = 0x45; frame[14 + 9] = 17;
    frame.writeUInt16BE(r.srcPort, 34); frame.writeUInt16BE(r.dstPort, 36); frame.writeUInt16BE(8 + r.payload.length, 38);
    r.payload.copy(frame, 42);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(Math.floor(r.timeMs / 1000), 0); rec.writeUInt32LE(Math.round((r.timeMs % 1000) * 1000), 4);
    rec.writeUInt32LE(frame.length, 8); rec.writeUInt32LE(frame.length, 12);
    parts.push(rec, frame);
  }
  return Buffer.concat(parts);
}

test('reads UDP from an Ethernet pcap and measures the server streams\' send jitter', () => {
  const t0 = 1_700_000_000_000;
  const records = [
    // Server stream: 20 ms apart, then one packet 3 ms late, then on time again.
    { timeMs: t0, srcPort: 10000, dstPort: 40000, payload: rtp(1, 160) },
    { timeMs: t0 + 20, srcPort: 10000, dstPort: 40000, payload: rtp(2, 320) },
    { timeMs: t0 + 43, srcPort: 10000, dstPort: 40000, payload: rtp(3, 480) },
    { timeMs: t0 + 60, srcPort: 10000, dstPort: 40000, payload: rtp(4, 640) },
    // A new talkspurt (marker) after a gap is not a pacing sample.
    { timeMs: t0 + 500, srcPort: 10000, dstPort: 40000, payload: rtp(5, 8000, true) },
    // The caller's stream and an RTCP packet are not the server's RTP.
    { timeMs: t0 + 5, srcPort: 40000, dstPort: 10000, payload: rtp(7, 160) },
    { timeMs: t0 + 31, srcPort: 40000, dstPort: 10000, payload: rtp(8, 320) },
    { timeMs: t0 + 61, srcPort: 10001, dstPort: 40001, payload: Buffer.from([0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0]) },
  ];
  const packets = readPcapUdp(pcap(records));
  assert.is(packets.length, records.length);
  assert.is(packets[2]!.timeMs, t0 + 43);
  assert.is(packets[0]!.srcPort, 10000);
  const jitter = rtpSendJitterMs(packets, (port) => port >= 10000 && port < 20000);
  assert.equal(jitter.map((j) => Math.round(j * 1000) / 1000), [0, 3, 3]);
});

test('refuses a file that is not classic pcap', () => {
  assert.throws(() => readPcapUdp(Buffer.from('0a0d0d0a000000000000000000000000000000000000000000', 'hex')), /pcap/);
});

test.run();
