import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WebSocket, WebSocketServer } from 'ws';
import { decodeG711, encodeG711 } from '../../../media/audio/g711.ts';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import { MediaStream } from '../../../media/streams/media-stream.ts';
import { parseStreamMessage, StreamProtocolError } from '../../../media/streams/protocol.ts';
import { waitFor } from '../../support/poll.ts';

/** A server side MediaStream on loopback, and a client socket that speaks as Twilio or Telnyx. */
async function pair(dialect: 'twilio' | 'telnyx', options: { idleTimeoutMs?: number; leadMs?: number } = {}): Promise<{ stream: MediaStream; client: WebSocket; received: Record<string, unknown>[]; close: () => Promise<void>; server: Server }> {
  const server = createServer();
  const wss = new WebSocketServer({ server });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(wss, 'connection');
  const client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const received: Record<string, unknown>[] = [];
  client.on('message', (data) => received.push(JSON.parse(data.toString()) as Record<string, unknown>));
  const [socket] = (await accepted) as [WebSocket];
  await once(client, 'open');
  const stream = new MediaStream(socket, { dialect, ...options });
  return {
    stream, client, received, server,
    close: async () => {
      client.terminate();
      wss.close();
      await new Promise((r) => server.close(r));
    },
  };
}

function tone(samples: number, amplitude = 8000): Int16Array {
  return new Int16Array(samples).map((_, i) => Math.round(Math.sin(i / 4) * amplitude));
}

function mulaw(pcm: Int16Array): string {
  const out = new Uint8Array(pcm.length);
  encodeG711('mulaw', pcm, out);
  return Buffer.from(out).toString('base64');
}

const twilioStart = (params: Record<string, string> = {}): string => JSON.stringify({
  event: 'start', sequenceNumber: '1', streamSid: 'MZ1',
  start: { streamSid: 'MZ1', accountSid: 'AC1', callSid: 'CA1', tracks: ['inbound'], customParameters: params, mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 } },
});

test('Twilio: start, then caller media of any chunk size comes out as whole 20 ms frames, and DTMF as digits', async () => {
  const { stream, client, close } = await pair('twilio');
  try {
    const frames: AudioFrame[] = [];
    const digits: string[] = [];
    const started = once(stream, 'start');
    stream.on('audio', (f) => frames.push(f));
    stream.on('dtmf', (d) => digits.push(d.digit));
    client.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
    client.send(twilioStart({ token: 'abc' }));
    const [start] = await started;
    assert.equal(start, { streamId: 'MZ1', callId: 'CA1', customParameters: { token: 'abc' } });
    const audio = tone(400); // 50 ms in chunks of 30 ms + 20 ms
    client.send(JSON.stringify({ event: 'media', streamSid: 'MZ1', media: { track: 'inbound', chunk: '1', timestamp: '0', payload: mulaw(audio.subarray(0, 240)) } }));
    client.send(JSON.stringify({ event: 'media', streamSid: 'MZ1', media: { track: 'inbound', chunk: '2', timestamp: '30', payload: mulaw(audio.subarray(240)) } }));
    client.send(JSON.stringify({ event: 'dtmf', streamSid: 'MZ1', sequenceNumber: '4', dtmf: { track: 'inbound_track', digit: '7' } }));
    await waitFor('two frames and a digit', () => frames.length === 2 && digits.length === 1);
    const roundTrip = new Int16Array(160);
    decodeG711('mulaw', Buffer.from(mulaw(audio.subarray(160, 320)), 'base64'), roundTrip);
    assert.equal(Array.from(frames[1]!.pcm), Array.from(roundTrip));
    assert.equal(digits, ['7']);
  } finally {
    await close();
  }
});

test('agent audio leaves paced, with marks; acknowledged marks shrink what is queued; clear drops the rest and later mark echoes are ignored', async () => {
  const { stream, client, received, close } = await pair('twilio', { leadMs: 60 });
  try {
    client.send(twilioStart());
    await once(stream, 'start');
    const playouts: number[] = [];
    stream.on('playout', (p) => playouts.push(p.timeMs));
    const playedAt = performance.now();
    stream.play(tone(8000)); // one second
    // The lead goes at once (3 frames), the rest at real time: never more than elapsed time plus the lead.
    await waitFor('the lead', () => received.filter((m) => m.event === 'media').length >= 3);
    const sentSoFar = received.filter((m) => m.event === 'media').length;
    assert.ok(sentSoFar <= Math.floor((performance.now() - playedAt + 60) / 20) + 1, `${sentSoFar} frames sent`);
    assert.is(playouts.length, 1);
    const sentMedia = received.filter((m) => m.event === 'media');
    assert.equal(sentMedia[0], { event: 'media', streamSid: 'MZ1', media: { payload: (sentMedia[0] as { media: { payload: string } }).media.payload } });
    await waitFor('a mark', () => received.some((m) => m.event === 'mark'));
    const firstMark = received.find((m) => m.event === 'mark') as { mark: { name: string } };
    const before = stream.queuedMs();
    client.send(JSON.stringify({ event: 'mark', streamSid: 'MZ1', sequenceNumber: '9', mark: { name: firstMark.mark.name } }));
    await waitFor('the acknowledged mark to count as played', () => stream.queuedMs() <= before - 100);
    const dropped = stream.clearPlayback();
    assert.ok(dropped > 0 && dropped <= 1000, `dropped ${dropped}`);
    await waitFor('clear sent', () => received.some((m) => m.event === 'clear'));
    assert.equal(received.find((m) => m.event === 'clear'), { event: 'clear', streamSid: 'MZ1' });
    assert.is(stream.queuedMs(), 0);
    const mediaAfterClear = received.filter((m) => m.event === 'media').length;
    // A mark echoed after the clear (Twilio echoes cleared marks) does not make anything "played" or queued.
    const lateMark = [...received].reverse().find((m) => m.event === 'mark') as { mark: { name: string } };
    client.send(JSON.stringify({ event: 'mark', streamSid: 'MZ1', sequenceNumber: '10', mark: { name: lateMark.mark.name } }));
    stream.play(tone(160));
    await waitFor('the next talkspurt', () => received.filter((m) => m.event === 'media').length === mediaAfterClear + 1);
    assert.is(playouts.length, 2, 'a new talkspurt after the clear');
  } finally {
    await close();
  }
});

test('Telnyx dialect: stream_id, PCMA, and messages without streamSid', async () => {
  const { stream, client, received, close } = await pair('telnyx');
  try {
    const frames: AudioFrame[] = [];
    stream.on('audio', (f) => frames.push(f));
    client.send(JSON.stringify({ event: 'connected', version: '1.0.0' }));
    client.send(JSON.stringify({ event: 'start', sequence_number: '1', stream_id: 'S1', start: { call_control_id: 'v3:abc', custom_parameters: { agent: 'x' }, media_format: { encoding: 'PCMA', sample_rate: 8000, channels: 1 } } }));
    const [start] = await once(stream, 'start');
    assert.equal(start, { streamId: 'S1', callId: 'v3:abc', customParameters: { agent: 'x' } });
    const a = new Uint8Array(160);
    encodeG711('alaw', tone(160), a);
    client.send(JSON.stringify({ event: 'media', sequence_number: '2', stream_id: 'S1', media: { track: 'inbound', chunk: '1', timestamp: '0', payload: Buffer.from(a).toString('base64') } }));
    await waitFor('a frame', () => frames.length === 1);
    const expected = new Int16Array(160);
    decodeG711('alaw', a, expected);
    assert.equal(Array.from(frames[0]!.pcm), Array.from(expected));
    stream.play(tone(160));
    await waitFor('agent media', () => received.some((m) => m.event === 'media'));
    const media = received.find((m) => m.event === 'media') as Record<string, unknown>;
    assert.is('streamSid' in media, false);
    const back = new Int16Array(160);
    decodeG711('alaw', Buffer.from((media.media as { payload: string }).payload, 'base64'), back);
    assert.ok(back.some((v) => v !== 0));
  } finally {
    await close();
  }
});

test('the stream ends once: on stop, on the socket closing mid-call, and on a malformed message (with close code 1008)', async () => {
  {
    const { stream, client, close } = await pair('twilio');
    const ended = once(stream, 'end');
    client.send(twilioStart());
    client.send(JSON.stringify({ event: 'stop', streamSid: 'MZ1', sequenceNumber: '5', stop: { accountSid: 'AC1', callSid: 'CA1' } }));
    assert.equal(await ended, ['remote-stop']);
    await close();
  }
  {
    const { stream, client, close } = await pair('twilio');
    const ended = once(stream, 'end');
    client.send(twilioStart());
    stream.play(tone(8000));
    client.terminate();
    assert.equal(await ended, ['socket-closed']);
    assert.is(stream.queuedMs() <= 1000, true);
    await close();
  }
  {
    const { stream, client, close } = await pair('twilio');
    const ended = once(stream, 'end');
    const closed = once(client, 'close');
    client.send(JSON.stringify({ event: 'media', media: { payload: 'AAAA' } })); // media before start
    assert.equal(await ended, ['protocol-error']);
    const [code] = await closed;
    assert.is(code, 1008);
    await close();
  }
});

test('a socket that never starts, or goes quiet, ends the stream', async () => {
  const { stream, close } = await pair('twilio', { idleTimeoutMs: 200 });
  try {
    const [reason] = await once(stream, 'end');
    assert.ok(reason === 'protocol-error' || reason === 'media-timeout', reason);
  } finally {
    await close();
  }
});

test('parseStreamMessage refuses what is not the protocol: not JSON, wrong shapes, non-base64 payloads, unknown encodings, oversized frames', () => {
  for (const bad of ['nope', '{"event":"media"}', '{"event":"media","media":{"payload":"***"}}', '{"event":"dtmf","dtmf":{"digit":"x"}}',
    JSON.stringify({ event: 'start', start: { streamSid: 's', callSid: 'c', mediaFormat: { encoding: 'audio/opus', sampleRate: 48000 } } }),
    JSON.stringify({ event: 'media', media: { payload: 'A'.repeat(300_000) } })]) {
    assert.throws(() => parseStreamMessage('twilio', bad), (e: unknown) => e instanceof StreamProtocolError, bad.slice(0, 40));
  }
  assert.is(parseStreamMessage('telnyx', '{"event":"error","payload":{"code":100002}}'), undefined);
});

test.run();
