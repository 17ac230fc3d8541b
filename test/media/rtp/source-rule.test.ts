/**
 * The RTP source rule (issue 11, "RTP bleed"): only a packet from the SDP
 * connection address or the SIP signalling address may latch a session; the
 * rest is counted and dropped, never heard, never answered. Run against both
 * engines: the in-thread RtpSession and a session in the media thread.
 * 127.0.0.3 plays the attacker spraying the port from another host.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import { MediaThread, RtpSession } from '../../../media/rtp/index.ts';
import type { RtpStream, ThreadedRtpSessionOptions } from '../../../media/rtp/index.ts';
import { parseRtp, serializeRtp } from '../../../media/rtp/packet.ts';
import type { RtpPacket } from '../../../media/rtp/packet.ts';
import { decodeMulawSample, encodeMulaw, encodeMulawSample } from '../../../media/audio/g711.ts';
import { waitFor } from '../../support/poll.ts';

const PCMU = { name: 'PCMU', payloadType: 0 };
const PEER = '127.0.0.1';
const ATTACKER = '127.0.0.3';
const q = (v: number): number => decodeMulawSample(encodeMulawSample(v));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


interface Peer { socket: Socket; address: string; port: number; packets: RtpPacket[]; close: () => void }

async function peerAt(address: string): Promise<Peer> {
  const socket = createSocket('udp4');
  const packets: RtpPacket[] = [];
  socket.on('message', (m) => {
    const r = parseRtp(m);
    if (r.ok && !(m[1]! >= 200 && m[1]! <= 204)) packets.push({ ...r.packet, payload: Uint8Array.from(r.packet.payload) });
  });
  await new Promise<void>((r) => socket.bind(0, address, () => r()));
  return { socket, address, port: socket.address().port, packets, close: () => socket.close() };
}

/** Sends `count` PCMU packets whose samples are all `value`, to the session's port. */
async function spray(from: Peer, port: number, value: number, count: number, ssrc: number): Promise<void> {
  const payload = new Uint8Array(160);
  encodeMulaw(new Int16Array(160).fill(value), payload);
  for (let i = 0; i < count; i++) {
    const packet = serializeRtp({ marker: i === 0, payloadType: 0, sequenceNumber: 100 + i, timestamp: 1000 + i * 160, ssrc, payload });
    await new Promise<void>((r) => from.socket.send(packet, port, '127.0.0.1', () => r()));
  }
}

const engines: Array<{ name: string; open: (o: Omit<ThreadedRtpSessionOptions, 'bindAddress' | 'codec'>) => Promise<RtpStream> }> = [
  { name: 'in-thread', open: (o) => RtpSession.open({ bindAddress: '127.0.0.1', codec: PCMU, inactivityTimeoutMs: 0, ...o }) },
  { name: 'media thread', open: (o) => MediaThread.shared().open({ bindAddress: '127.0.0.1', codec: PCMU, inactivityTimeoutMs: 0, ...o }) },
];

for (const engine of engines) {
  test(`[${engine.name}] packets from another host first: dropped and counted; the agent's audio still goes to the SDP address`, async () => {
    const peer = await peerAt(PEER);
    const attacker = await peerAt(ATTACKER);
    const s = await engine.open({ remote: { address: PEER, port: peer.port } });
    const heard: AudioFrame[] = [];
    s.on('audio', (f) => heard.push(f));
    try {
      await spray(attacker, s.localPort, 3000, 10, 0xbad);
      await waitFor('the spray counted', () => s.stats.dropped['foreign-source'] === 10);
      assert.not.ok(s.isLatched, 'nothing latched');
      s.sendFrame(new Int16Array(160 * 5).fill(2000));
      await waitFor('agent audio at the SDP address', () => peer.packets.filter((p) => p.payload[0] === encodeMulawSample(2000)).length === 5);
      await spray(peer, s.localPort, 1000, 5, 0x900d);
      await waitFor('latched to the real peer', () => s.isLatched);
      await waitFor('the peer heard', () => heard.some((f) => f.pcm[0] === q(1000)));
      await spray(attacker, s.localPort, 3000, 5, 0xbad);
      await waitFor('the later spray dropped', () => s.stats.dropped['wrong-source'] === 5);
      await sleep(60);
      assert.is(attacker.packets.length, 0, 'the attacker received nothing');
      assert.not.ok(heard.some((f) => f.pcm.some((v) => v === q(3000))), 'the attacker was never heard');
    } finally {
      await s.close();
      peer.close();
      attacker.close();
    }
  });

  test(`[${engine.name}] a NAT'd peer (the SDP address, another port) and the signalling address still latch`, async () => {
    const natted = await peerAt(PEER);
    const attacker = await peerAt(ATTACKER);
    // The SDP names port 9 (nothing there): the peer really sends from another port of the same address.
    const a = await engine.open({ remote: { address: PEER, port: 9 } });
    // The SDP names a private address; media comes from where the signalling came from.
    const b = await engine.open({ remote: { address: '10.1.2.3', port: 4000 }, signallingAddress: PEER });
    try {
      await spray(attacker, a.localPort, 3000, 3, 0xbad);
      await spray(attacker, b.localPort, 3000, 3, 0xbad);
      await spray(natted, a.localPort, 1000, 3, 0x900d);
      await spray(natted, b.localPort, 1000, 3, 0x900d);
      await waitFor('both latched', () => a.isLatched && b.isLatched);
      a.sendFrame(new Int16Array(160 * 2).fill(2000));
      b.sendFrame(new Int16Array(160 * 2).fill(2000));
      await waitFor('agent audio at the NAT port', () => natted.packets.filter((p) => p.payload[0] === encodeMulawSample(2000)).length === 4);
      await waitFor('the spray counted', () => a.stats.dropped['foreign-source'] === 3 && b.stats.dropped['foreign-source'] === 3);
      await sleep(60);
      assert.is(attacker.packets.length, 0);
    } finally {
      await Promise.all([a.close(), b.close()]);
      natted.close();
      attacker.close();
    }
  });

  test(`[${engine.name}] a re-INVITE keeps the latch unless the SDP address changes`, async () => {
    const natted = await peerAt(PEER);
    const otherPort = await peerAt(PEER);
    const s = await engine.open({ remote: { address: PEER, port: 9 } });
    try {
      await spray(natted, s.localPort, 1000, 3, 0x900d);
      await waitFor('latched', () => s.isLatched);
      // Re-INVITE with the same address (here a new port too): the latch stays, a newcomer is refused.
      s.setRemote({ address: PEER, port: 11 });
      await spray(otherPort, s.localPort, 3000, 3, 0xbad);
      await waitFor('the newcomer dropped', () => s.stats.dropped['wrong-source'] === 3);
      s.sendFrame(new Int16Array(160 * 2).fill(2000));
      await waitFor('agent audio still at the latched port', () => natted.packets.filter((p) => p.payload[0] === encodeMulawSample(2000)).length === 2);
      assert.is(otherPort.packets.filter((p) => p.payload[0] === encodeMulawSample(2000)).length, 0);
      // A new SDP address starts latching over, under the same rule.
      const moved = await peerAt('127.0.0.2');
      try {
        s.setRemote({ address: '127.0.0.2', port: moved.port });
        await waitFor('the latch released', () => !s.isLatched);
        await spray(natted, s.localPort, 1000, 2, 0x900d); // the old address is foreign now
        await waitFor('the old address refused', () => s.stats.dropped['foreign-source'] === 2);
        s.sendFrame(new Int16Array(160 * 2).fill(2000));
        await waitFor('agent audio at the new address', () => moved.packets.filter((p) => p.payload[0] === encodeMulawSample(2000)).length === 2);
      } finally {
        moved.close();
      }
    } finally {
      await s.close();
      natted.close();
      otherPort.close();
    }
  });
}

test.after(async () => {
  await MediaThread.shared().stop();
});

test.run();
