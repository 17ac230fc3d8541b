/**
 * SRTP in RTP sessions, in-thread and in the media thread: two sessions with
 * each other's SDES keys exchange audio; on the wire every packet is
 * protected (the payload is not the G.711 bytes, the tag is there, RTCP is
 * SRTCP with its CNAME encrypted); a peer with the wrong key is heard by nobody, its packets
 * dropped and counted as 'srtp'.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import { RtpSession } from '../../../media/rtp/session.ts';
import { MediaThread } from '../../../media/rtp/media-thread.ts';
import type { RtpStream } from '../../../media/rtp/stream.ts';
import type { RtpSrtpKeys } from '../../../media/rtp/session.ts';
import { parseRtp } from '../../../media/rtp/packet.ts';
import { encodeMulaw } from '../../../media/audio/g711.ts';
import { waitFor, waitForValue } from '../../support/poll.ts';

const PCMU = { name: 'PCMU', payloadType: 0 };
const HOST = '127.0.0.1';
const media = MediaThread.shared();
test.after(async () => { await media.stop(); });

const inlineKey = (suite: RtpSrtpKeys['suite']): string => randomBytes(suite === 'AEAD_AES_256_GCM' ? 44 : 30).toString('base64');

for (const suite of ['AES_CM_128_HMAC_SHA1_80', 'AEAD_AES_256_GCM'] as const) {
  for (const where of ['in-thread', 'media thread'] as const) {
    test(`${suite}, ${where}: audio both ways under SRTP; RTP and RTCP protected on the wire`, async () => {
      const a = inlineKey(suite);
      const b = inlineKey(suite);
      const open = (o: Parameters<typeof RtpSession.open>[0]): Promise<RtpStream> => (where === 'in-thread' ? RtpSession.open(o) : media.open(o));
      const left = await open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, srtp: { suite, sendKey: a, receiveKey: b }, rtcpIntervalMs: 100 });
      const right = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, srtp: { suite, sendKey: b, receiveKey: a }, remote: { address: HOST, port: left.localPort }, rtcpIntervalMs: 100 });
      left.setRemote({ address: HOST, port: right.localPort });
      // A tap between them: a raw socket that receives a copy of what `right` sends (we point a third session at it).
      const spy = createSocket('udp4');
      const seen: Buffer[] = [];
      spy.on('message', (m) => seen.push(m));
      await new Promise<void>((r) => spy.bind(0, HOST, () => r()));
      const tapped = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, srtp: { suite, sendKey: b, receiveKey: a }, remote: { address: HOST, port: spy.address().port, rtcpPort: spy.address().port }, rtcpIntervalMs: 100 });
      const atLeft: AudioFrame[] = [];
      const atRight: AudioFrame[] = [];
      left.on('audio', (f) => atLeft.push(f));
      right.on('audio', (f) => atRight.push(f));
      try {
        const tone = new Int16Array(1600);
        for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 400 * i) / 8000));
        right.sendFrame(tone);
        left.sendFrame(tone.subarray(0, 800));
        tapped.sendFrame(tone.subarray(0, 320));
        await waitFor('audio at left', () => left.stats.jitterBuffer.played >= 10);
        await waitFor('audio at right', () => right.stats.jitterBuffer.played >= 5);
        assert.ok(atLeft.some((f) => f.pcm.some((v) => Math.abs(v) > 6000)), 'left heard the tone');
        assert.ok(atRight.some((f) => f.pcm.some((v) => Math.abs(v) > 6000)), 'right heard the tone');
        assert.is(left.stats.dropped.srtp, 0);
        assert.is(left.stats.dropped.srtcp, 0);
        // On the wire: protected packets (tag appended, payload not the G.711 bytes).
        await waitFor('two packets at the spy', () => seen.filter((m) => m[1]! < 200).length >= 2);
        const first = seen.find((m) => m[1]! < 200)!;
        const tag = suite === 'AEAD_AES_256_GCM' ? 16 : 10;
        assert.is(first.length, 12 + 160 + tag);
        const clear = new Uint8Array(160);
        encodeMulaw(tone.subarray(0, 160), clear);
        assert.not.equal(new Uint8Array(first.subarray(12, 172)), clear, 'the payload is encrypted');
        const parsed = parseRtp(first);
        assert.ok(parsed.ok);
        // RTCP goes out as SRTCP: the report's body is encrypted, the E flag and index word and the tag follow it.
        const report = await waitForValue('an SRTCP report at the spy', () => seen.find((m) => m[1] === 200 || m[1] === 201));
        const eWord = report.readUInt32BE(suite === 'AEAD_AES_256_GCM' ? report.length - 4 : report.length - 14);
        assert.ok(eWord & 0x80000000, 'E flag set: the report is encrypted');
        assert.not.match(report.toString('latin1'), /smartalex-/, 'the CNAME is not in clear');
      } finally {
        spy.close();
        await Promise.all([left.close(), right.close(), tapped.close()]);
      }
    });
  }
}

test('a session whose peer uses another key hears nothing and counts every packet as srtp (RTP) or srtcp (RTCP)', async () => {
  const suite = 'AES_CM_128_HMAC_SHA1_80' as const;
  const left = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, srtp: { suite, sendKey: inlineKey(suite), receiveKey: inlineKey(suite) } });
  const right = await RtpSession.open({ bindAddress: HOST, codec: PCMU, inactivityTimeoutMs: 0, continuous: false, srtp: { suite, sendKey: inlineKey(suite), receiveKey: inlineKey(suite) }, remote: { address: HOST, port: left.localPort, rtcpPort: left.localPort }, rtcpIntervalMs: 100 });
  try {
    right.sendFrame(new Int16Array(800).fill(5000));
    await waitFor('five packets dropped as srtp', () => left.stats.dropped.srtp >= 5);
    await waitFor('its RTCP refused too, counted as srtcp', () => left.stats.dropped.srtcp >= 1);
    assert.is(left.stats.rtcpIn, 0, 'no report that fails authentication is read');
    assert.is(left.stats.jitterBuffer.pushed, 0);
    assert.is(left.isLatched, false, 'a packet that fails authentication does not latch');
  } finally {
    await Promise.all([left.close(), right.close()]);
  }
});

test.run();
