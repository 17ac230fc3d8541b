/**
 * The browser stand-in's dial (test/support/webrtc-stand-in.ts) starts its own
 * failed set-up over, and only its own. A loopback signalling server answers
 * with a real media peer; to make the stand-in's set-up fail for certain it
 * alters the fingerprint in its answer (the stand-in's DTLS check then fails,
 * as it does in libdatachannel's offerer race), and it refuses the attempt
 * with `connect-failed` and closes the socket at once, before the stand-in's
 * own state turns: the order a loaded CI run met, where the dial took the
 * refusal for the server's and the call never started.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { WebRtcAudioPeer } from '../../media/webrtc/audio-peer.ts';
import { exitAfterNativePeers } from '../../media/webrtc/native-exit.ts';
import { DIAL_ATTEMPTS, dial, withWrongFingerprint, type StandInPeer } from './webrtc-stand-in.ts';

type Attempt = 'bad-fingerprint' | 'refused' | 'answered';

/**
 * A signalling server that treats the n-th offer as `plan(n)` says: `bad-fingerprint` (an answer whose
 * fingerprint is wrong, then `connect-failed` and the socket closed), `refused` (a true answer, then the
 * same refusal) or `answered` (a true answer; the call starts once the media is up).
 */
async function signallingServer(plan: (n: number) => Attempt): Promise<{ url: string; tokens: string[]; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const tokens: string[] = [];
  const answerers: WebRtcAudioPeer[] = [];
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; token: string; sdp: string };
      if (m.type !== 'offer') return;
      tokens.push(m.token);
      const attempt = plan(tokens.length);
      void (async () => {
        // The answering peer stays up whatever the plan, so the stand-in's handshake runs to its end.
        const { peer, answer } = await WebRtcAudioPeer.answer(m.sdp, { bindAddress: '127.0.0.1', connectTimeoutMs: 60_000 });
        answerers.push(peer);
        ws.send(JSON.stringify({ type: 'answer', sdp: attempt === 'bad-fingerprint' ? withWrongFingerprint(answer) : answer }));
        if (attempt === 'answered') {
          peer.once('open', () => ws.send(JSON.stringify({ type: 'call', callId: `call-${tokens.length}` })));
          return;
        }
        ws.send(JSON.stringify({ type: 'error', code: 'connect-failed', message: 'the media connection did not come up' }));
        ws.close(1011);
      })();
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}`, tokens,
    close: () => new Promise((resolve) => {
      for (const p of answerers) p.close('test-over');
      for (const c of wss.clients) c.terminate();
      wss.close(() => resolve());
    }),
  };
}

const fresh = (): (() => string) => {
  let n = 0;
  return () => `token-${++n}`;
};

test('the stand-in\'s own failed set-up, refused before its state turned: it starts over on a fresh token and the call starts', async () => {
  const server = await signallingServer((n) => (n === 1 ? 'bad-fingerprint' : 'answered'));
  const peers: StandInPeer[] = [];
  try {
    const { client, peer } = await dial(server.url, peers, fresh());
    assert.ok(client.messages.some((m) => m.type === 'call'), `the call started: ${JSON.stringify(client.messages.filter((m) => m.type !== 'answer'))}`);
    assert.ok(peers[0]!.failed(), 'the first attempt failed its DTLS check');
    assert.ok(peer.connected());
    // Any attempt past the second is the offerer's own race (a few per cent on a busy machine): each failed too.
    assert.ok(peers.slice(0, -1).every((p) => p.failed()), 'only failed attempts were started over');
    assert.equal(server.tokens, peers.map((_, i) => `token-${i + 1}`), 'each attempt took a fresh token');
  } finally {
    for (const p of peers) p.pc.close();
    await server.close();
  }
});

test('a refusal the stand-in did not cause (its media connected) is returned as it is, not retried', async () => {
  const server = await signallingServer(() => 'refused');
  const peers: StandInPeer[] = [];
  try {
    const { client, peer } = await dial(server.url, peers, fresh());
    assert.equal(client.messages.filter((m) => m.type !== 'answer'), [{ type: 'error', code: 'connect-failed', message: 'the media connection did not come up' }]);
    assert.is(client.closed(), 1011);
    assert.ok(peer.connected(), 'the stand-in\'s own media came up');
    assert.ok(peers.slice(0, -1).every((p) => p.failed()), 'only failed attempts were started over');
    assert.is(server.tokens.length, peers.length);
  } finally {
    for (const p of peers) p.pc.close();
    await server.close();
  }
});

test('a server whose every answer fails the stand-in\'s check: the dial gives up after its attempts', async () => {
  const server = await signallingServer(() => 'bad-fingerprint');
  const peers: StandInPeer[] = [];
  try {
    const error = await dial(server.url, peers, fresh()).then(() => undefined, (e: unknown) => e);
    // The last attempt fails the check, or (the offerer's race) applying its answer throws.
    assert.match(String(error), new RegExp(`own set-up failed on ${DIAL_ATTEMPTS} attempts in a row|without ICE transport`));
    assert.is(server.tokens.length, DIAL_ATTEMPTS);
  } finally {
    for (const p of peers) p.pc.close();
    await server.close();
  }
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
