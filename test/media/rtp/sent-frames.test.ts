/**
 * 'sent' reports exactly the agent frames that left, in both RTP legs (the
 * in-thread RtpSession and the media thread's ThreadedRtpSession): every
 * audio packet the peer received was reported once, in order, and nothing a
 * barge-in clear dropped or the continuous stream's silence filler is.
 * Frames carry their number in their samples (1000, 2000, ...).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createSocket } from 'node:dgram';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import { decodeMulawSample } from '../../../media/audio/g711.ts';
import { MediaThread } from '../../../media/rtp/media-thread.ts';
import { parseRtp } from '../../../media/rtp/packet.ts';
import { RtpSession } from '../../../media/rtp/session.ts';
import type { RtpStream } from '../../../media/rtp/stream.ts';
import { waitFor } from '../../support/poll.ts';

const HOST = '127.0.0.1';
const PCMU = { name: 'PCMU', payloadType: 0 };

function numberedFrames(n: number, from: number): Int16Array {
  const pcm = new Int16Array(160 * n);
  for (let i = 0; i < n; i++) pcm.fill((from + i) * 100, i * 160, (i + 1) * 160);
  return pcm;
}
const numberOf = (sample: number): number => Math.round(sample / 100);

async function checkSent(open: (remotePort: number) => Promise<RtpStream>): Promise<void> {
  const peer = createSocket('udp4');
  /** Frame numbers of the audio packets the peer got (silence filler is 0). */
  const heard: number[] = [];
  peer.on('message', (m) => {
    const r = parseRtp(m);
    if (r.ok && r.packet.payloadType === 0) {
      const n = numberOf(decodeMulawSample(r.packet.payload[0]!));
      if (n > 0) heard.push(n);
    }
  });
  await new Promise<void>((r) => peer.bind(0, HOST, () => r()));
  const rtp = await open(peer.address().port);
  const sent: AudioFrame[] = [];
  rtp.on('sent', (f) => sent.push(f));
  try {
    // Five frames, all sent.
    rtp.sendFrame(numberedFrames(5, 1));
    await waitFor('five frames sent and heard', () => sent.length === 5 && heard.length === 5);
    // A long reply, cleared (barge-in) once a few frames have left.
    rtp.sendFrame(numberedFrames(100, 10));
    await waitFor('the reply starting', () => sent.length >= 8);
    rtp.clearOutgoing();
    const settled = sent.length;
    // Once the clear has taken effect, nothing more of the reply is sent: wait until the stream is back to filler.
    await waitFor('the stream to be silent again', () => rtp.stats.silenceOut > 0 && rtp.queuedMs === 0);
    const silenceBefore = rtp.stats.silenceOut;
    await waitFor('more silence after the clear', () => rtp.stats.silenceOut > silenceBefore + 3);
    await waitFor('every reported frame heard', () => heard.length === sent.length);
    const reported = sent.map((f) => numberOf(f.pcm[0]!));
    assert.equal(reported, heard, 'the frames reported as sent are the frames the peer received, in order');
    assert.ok(sent.length >= settled && sent.length < 5 + 100, `the clear dropped the rest (${sent.length - 5} of 100 sent)`);
    assert.ok(sent.every((f) => f.pcm.length === 160 && f.sampleRate === 8000), '20 ms frames at 8 kHz');
    for (let i = 1; i < sent.length; i++) assert.ok(sent[i]!.timeMs > sent[i - 1]!.timeMs, 'each frame on its own tick');
  } finally {
    await rtp.close();
    peer.close();
  }
}

test('in-thread RtpSession reports the agent frames that left, and none a clear dropped', async () => {
  await checkSent((port) => RtpSession.open({ bindAddress: HOST, codec: PCMU, remote: { address: HOST, port } }));
});

test('the media thread reports the agent frames that left, and none a clear dropped', async () => {
  const media = MediaThread.shared();
  const release = media.acquire();
  try {
    await checkSent((port) => media.open({ bindAddress: HOST, codec: PCMU, remote: { address: HOST, port } }));
  } finally {
    await release();
  }
});

test.run();
