/**
 * The bench's WebRTC leg (tools/bench/webrtc-leg.ts) starts over when the
 * media connection does not come up: a loopback signalling server refuses
 * the first attempt the way the real one does when ICE fails (an answer, then
 * `connect-failed` and the socket closed) and answers the second with a real
 * media peer. The call connects on a fresh token, and the first attempt's
 * closing socket is not taken for the server hanging up the call. The leg
 * reports why each abandoned attempt failed (setupFailures): the test checks
 * the reasons, since the offerer may also restart on its own under load. And
 * when the caller's own peer fails first (staged with an answer whose
 * fingerprint is wrong, which fails the offerer's DTLS check as its own race
 * does), the attempt ends there and starts over without waiting for the
 * server to give up.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { WebRtcAudioPeer } from '../../../media/webrtc/audio-peer.ts';
import { exitAfterNativePeers } from '../../../media/webrtc/native-exit.ts';
import { Pacer } from '../../../media/rtp/pacer.ts';
import { WEBRTC_MAX_ATTEMPTS } from '../../../tools/bench/caller-leg.ts';
import { WebRtcLeg } from '../../../tools/bench/webrtc-leg.ts';
import { withWrongFingerprint } from '../../support/webrtc-stand-in.ts';

const peers: WebRtcAudioPeer[] = [];
/** How the offerer's own race shows: applying the answer throws, or its peer fails before the media is up. */
const OFFERERS_OWN = /without ICE transport|own peer failed before its media came up/;

/**
 * A signalling server that treats the n-th offer as `plan(n)` says: `refused` (an answer, then `connect-failed`
 * and the socket closed), `bad-fingerprint` (an answer whose fingerprint is wrong, and then nothing: the server
 * waits for media that cannot come) or `answered` (the call starts once the media is up).
 */
async function signallingServer(plan: (n: number) => 'refused' | 'bad-fingerprint' | 'answered'): Promise<{ url: string; tokens: string[]; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', resolve));
  const tokens: string[] = [];
  wss.on('connection', (ws: WebSocket) => {
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string; token: string; sdp: string };
      if (m.type !== 'offer') return;
      tokens.push(m.token);
      const attempt = plan(tokens.length);
      void (async () => {
        const { peer, answer } = await WebRtcAudioPeer.answer(m.sdp, { bindAddress: '127.0.0.1', connectTimeoutMs: 60_000 });
        peers.push(peer);
        const sent = attempt === 'bad-fingerprint' ? withWrongFingerprint(answer) : answer;
        ws.send(JSON.stringify({ type: 'answer', sdp: sent }));
        if (attempt === 'bad-fingerprint') return;
        if (attempt === 'refused') {
          peer.close('setup-failed');
          ws.send(JSON.stringify({ type: 'error', code: 'connect-failed', message: 'the media connection did not come up' }));
          ws.close(1011);
          return;
        }
        peer.once('open', () => ws.send(JSON.stringify({ type: 'call', callId: 'call-2' })));
      })();
    });
  });
  const { port } = wss.address() as AddressInfo;
  return { url: `ws://127.0.0.1:${port}`, tokens, close: () => new Promise((resolve) => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()); }) };
}

test('media that did not come up: the call starts over on a fresh token and connects; the failed attempt is not a hang-up', async () => {
  const server = await signallingServer((n) => (n === 1 ? 'refused' : 'answered'));
  const pacer = new Pacer();
  let token = 0;
  let hungUp = false;
  const leg = new WebRtcLeg({ pacer, httpBase: server.url, token: () => `token-${++token}`, bindAddress: '127.0.0.1', connectTimeoutMs: 60_000 });
  try {
    await leg.connect({ agent: () => undefined, hungUp: () => { hungUp = true; } });
    const [refused, ...ownFailures] = leg.setupFailures;
    assert.match(refused ?? '', /connect-failed: the media connection did not come up/, 'the refused attempt failed for the refusal');
    // A busy machine may add a restart for the offerer's own race (tools/bench/caller-leg.ts); nothing else may.
    for (const f of ownFailures) assert.match(f, OFFERERS_OWN, `an unexpected restart: ${f}`);
    assert.ok(leg.setupFailures.length < WEBRTC_MAX_ATTEMPTS, 'the call connected within its attempts');
    assert.equal(server.tokens, Array.from({ length: leg.setupFailures.length + 1 }, (_, i) => `token-${i + 1}`), 'each attempt took a fresh token');
    assert.not.ok(hungUp, 'the refused attempt\'s socket closing was taken for the server hanging up');
  } finally {
    await leg.close();
    for (const p of peers) p.close('test-over');
    await server.close();
  }
});

test('the caller\'s own peer failing before its media is up ends the attempt at once; the call starts over and connects', async () => {
  const server = await signallingServer((n) => (n === 1 ? 'bad-fingerprint' : 'answered'));
  const pacer = new Pacer();
  let token = 0;
  const leg = new WebRtcLeg({ pacer, httpBase: server.url, token: () => `token-${++token}`, bindAddress: '127.0.0.1', connectTimeoutMs: 60_000 });
  try {
    await leg.connect({ agent: () => undefined, hungUp: () => undefined });
    const [first, ...more] = leg.setupFailures;
    // Its DTLS check fails just after the answer is applied, or (the offerer's race) while: either is its own.
    assert.match(first ?? '', OFFERERS_OWN, 'the first attempt ended on its own peer\'s failure');
    for (const f of more) assert.match(f, OFFERERS_OWN, `an unexpected restart: ${f}`);
    assert.ok(leg.setupFailures.length < WEBRTC_MAX_ATTEMPTS, 'the call connected within its attempts');
    assert.is(server.tokens.length, leg.setupFailures.length + 1);
  } finally {
    await leg.close();
    for (const p of peers) p.close('test-over');
    await server.close();
  }
});

test('a call refused every time fails with the reason after three attempts', async () => {
  const server = await signallingServer(() => 'refused');
  const pacer = new Pacer();
  let token = 0;
  const leg = new WebRtcLeg({ pacer, httpBase: server.url, token: () => `token-${++token}`, bindAddress: '127.0.0.1', connectTimeoutMs: 60_000 });
  try {
    const error = await leg.connect({ agent: () => undefined, hungUp: () => undefined }).then(() => undefined, (e: unknown) => e);
    assert.match(String(error), /connect-failed: the media connection did not come up/);
    assert.is(server.tokens.length, 3);
    assert.is(leg.setupFailures.length, 3);
  } finally {
    await leg.close();
    for (const p of peers) p.close('test-over');
    await server.close();
  }
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
