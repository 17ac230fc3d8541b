/**
 * The /v1/webrtc signalling socket on a real HTTP server: a browser stand-in
 * (node-datachannel offering one Opus track, as Chromium does) sends its
 * offer with a call token and gets the answer and the call id; captions and
 * the call's end reach it; its hang-up reaches the call; bad or replayed
 * tokens, offers without SDP, and sources over the rate limit are refused;
 * an upgrade to another path is a 404.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { EventEmitter } from 'node:events';
import WebSocket from 'ws';
import { createLogger } from '../../../src/log.ts';
import { UpgradeRouter } from '../../../src/http/upgrades.ts';
import { mintCallToken } from '../../../src/webrtc/call-token.ts';
import { WebRtcCallRefused, WebRtcSignalling, WEBRTC_SIGNALLING_PATH, type Caption, type WebRtcCall, type WebRtcCallRequest } from '../../../src/webrtc/signalling.ts';
import { waitFor, waitForValue } from '../../support/poll.ts';
import { browserOffer, connect, dial, withWrongFingerprint, type StandInPeer } from '../../support/webrtc-stand-in.ts';
import { exitAfterNativePeers } from '../../../media/webrtc/native-exit.ts';

const secret = randomBytes(32);
const tenantId = randomUUID();
const agentId = randomUUID();

/** A call the test drives by hand: captions and the end come when the test says. */
class FakeCall extends EventEmitter implements WebRtcCall {
  readonly callId = randomUUID();
  hungUp = 0;
  constructor(readonly request: WebRtcCallRequest) { super(); }
  onCaption(listener: (c: Caption) => void): () => void { this.on('caption', listener); return () => this.off('caption', listener); }
  onEnd(listener: (reason: string) => void): () => void { this.on('end', listener); return () => this.off('end', listener); }
  /** As a real call does: the first hang-up ends it as remote-bye. */
  hangup(): void {
    if (this.hungUp++ > 0) return;
    this.request.peer.close('remote-hangup');
    this.emit('end', 'remote-bye');
  }
}

interface Rig { url: string; calls: FakeCall[]; admitted: string[]; signalling: WebRtcSignalling; close(): Promise<void> }

async function rig(options: { limit?: number; refuse?: WebRtcCallRefused; logLines?: string[] } = {}): Promise<Rig> {
  const calls: FakeCall[] = [];
  const admitted: string[] = [];
  const signalling = new WebRtcSignalling({
    secret, logger: options.logLines ? createLogger('info', { write: (line: string) => options.logLines!.push(line) }) : createLogger('silent'), peer: { bindAddress: '127.0.0.1' },
    admit: async (source) => { admitted.push(source); return admitted.length <= (options.limit ?? 100); },
    startCall: async (request) => {
      if (options.refuse) throw options.refuse;
      const call = new FakeCall(request);
      calls.push(call);
      return call;
    },
  });
  const server: Server = createServer((_req, res) => res.end());
  new UpgradeRouter(server).add(WEBRTC_SIGNALLING_PATH, signalling.handleUpgrade);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `ws://127.0.0.1:${port}`, calls, admitted, signalling,
    async close() {
      for (const c of calls) c.request.peer.close('test-over');
      await signalling.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

const token = (): string => mintCallToken(secret, { tenantId, agentId }).token;

type Browser = StandInPeer;

test('an offer with a call token is answered; once media is up the call starts; captions and the end reach the browser', async () => {
  const r = await rig();
  const browsers: Browser[] = [];
  try {
    const { client, answer } = await dial(r.url, browsers, token);
    const call = r.calls.at(-1)!;
    assert.match(String(answer.sdp), /a=fingerprint:sha-256 /);
    assert.equal(client.messages.find((m) => m.type === 'call'), { type: 'call', callId: call.callId });
    assert.is(call.request.tenantId, tenantId);
    assert.is(call.request.agentId, agentId);
    assert.is(call.request.source, '127.0.0.1');

    call.emit('caption', { speaker: 'caller', text: 'my card is [CARD]' });
    await waitFor('the caption', () => client.messages.some((m) => m.type === 'caption'));
    assert.equal(client.messages.find((m) => m.type === 'caption'), { type: 'caption', speaker: 'caller', text: 'my card is [CARD]' });

    call.emit('end', 'agent-hangup');
    await waitFor('the socket to close', () => client.closed() !== undefined, { timeoutMs: 20_000 });
    assert.equal(client.messages.at(-1), { type: 'ended', reason: 'agent-hangup' });
    assert.is(client.closed(), 1000);
  } finally {
    for (const b of browsers) b.pc.close();
    await r.close();
  }
});

test('the browser hanging up (message or closed socket) hangs up the call', async () => {
  const r = await rig();
  const browsers: Browser[] = [];
  try {
    for (const how of ['message', 'close'] as const) {
      const { client } = await dial(r.url, browsers, token);
      const call = r.calls.at(-1)!;
      if (how === 'message') client.ws.send(JSON.stringify({ type: 'hangup' }));
      else client.ws.terminate();
      await waitFor(`the call to hear the ${how}`, () => call.hungUp >= 1, { timeoutMs: 20_000 });
      assert.ok(call.request.peer.ended, 'the peer is closed');
      if (how === 'message') {
        // The server ends the call, says so, then closes the socket.
        await waitFor('the socket to close', () => client.closed() !== undefined, { timeoutMs: 20_000 });
        assert.equal(client.messages.at(-1), { type: 'ended', reason: 'remote-bye' });
        assert.is(client.closed(), 1000);
      }
    }
  } finally {
    for (const b of browsers) b.pc.close();
    await r.close();
  }
});

test('a browser that leaves before its media is up starts no call', async () => {
  const r = await rig();
  const browser = await browserOffer();
  try {
    const client = await connect(r.url);
    client.ws.send(JSON.stringify({ type: 'offer', token: token(), sdp: browser.offer }));
    await waitForValue('the answer', () => client.messages.find((m) => m.type === 'answer'), { timeoutMs: 30_000 });
    client.ws.close();
    await waitFor('the socket to close', () => client.closed() !== undefined, { timeoutMs: 20_000 });
    // The answer was never applied: no media, and the server let the peer go without starting a call.
    await waitFor('the server to forget the socket', () => r.signalling.connections === 0, { timeoutMs: 20_000 });
    assert.is(r.calls.length, 0);
  } finally {
    browser.pc.close();
    await r.close();
  }
});

test('bad, replayed and foreign tokens, offers without SDP and unknown messages are refused', async () => {
  const r = await rig();
  const browsers: Browser[] = [];
  try {
    const browser = await browserOffer();
    browsers.push(browser);
    const refusal = async (message: unknown): Promise<Record<string, unknown>> => {
      const client = await connect(r.url);
      client.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
      await waitFor('the socket to close', () => client.closed() !== undefined, { timeoutMs: 20_000 });
      assert.is(client.closed(), 1008);
      return client.messages[0]!;
    };
    assert.is((await refusal({ type: 'offer', token: 'nope', sdp: browser.offer })).code, 'unauthorized');
    assert.is((await refusal({ type: 'offer', token: mintCallToken(randomBytes(32), { tenantId, agentId }).token, sdp: browser.offer })).code, 'unauthorized');
    assert.is((await refusal({ type: 'offer', token: mintCallToken(secret, { tenantId, agentId }, Date.now() - 3600_000, 60_000).token, sdp: browser.offer })).message, 'the call token is expired');
    assert.is((await refusal({ type: 'offer', token: token() })).code, 'bad-offer');
    assert.is((await refusal({ type: 'offer', token: token(), sdp: 'v=0\r\n' })).code, 'bad-offer');
    assert.is((await refusal('not json')).code, 'bad-message');
    assert.is((await refusal({ type: 'dial', number: '555' })).code, 'bad-message');
    assert.is(r.calls.length, 0, 'no call was started');

    // One token, one call: the replay is refused even though the first call is still up.
    let once: string | undefined;
    const first = await dial(r.url, browsers, () => (once = token()));
    assert.ok(first.client.messages.some((m) => m.type === 'call'));
    const replay = await refusal({ type: 'offer', token: once, sdp: browser.offer });
    assert.equal(replay, { type: 'error', code: 'unauthorized', message: 'the call token was already used' });
    assert.is(r.calls.length, 1);
  } finally {
    for (const b of browsers) b.pc.close();
    await r.close();
  }
});

test('a refused call (the tenant is at its limit) says why; the peer is closed', async () => {
  const r = await rig({ refuse: new WebRtcCallRefused('busy', 'all lines are busy: try again later') });
  const browsers: Browser[] = [];
  try {
    const { client } = await dial(r.url, browsers, token);
    await waitFor('the socket to close', () => client.closed() !== undefined, { timeoutMs: 30_000 });
    assert.equal(client.messages.filter((m) => m.type !== 'answer'), [{ type: 'error', code: 'busy', message: 'all lines are busy: try again later' }]);
    assert.is(client.closed(), 1013);
  } finally {
    for (const b of browsers) b.pc.close();
    await r.close();
  }
});

test('media that does not come up: the browser gets connect-failed, no call starts, and the log says why', async () => {
  const logLines: string[] = [];
  const r = await rig({ logLines });
  const browser = await browserOffer();
  try {
    const client = await connect(r.url);
    client.ws.send(JSON.stringify({ type: 'offer', token: token(), sdp: browser.offer }));
    const answer = await waitForValue('the answer', () => client.messages.find((m) => m.type === 'answer'), { timeoutMs: 30_000 });
    // The browser checks the server's certificate against a fingerprint that is not the server's: its DTLS fails,
    // just after the answer is applied or (libdatachannel's offerer race, test/support/webrtc-stand-in.ts) while.
    try {
      browser.pc.setRemoteDescription(withWrongFingerprint(String(answer.sdp)), 'answer');
    } catch (error) {
      assert.match(String(error), /without ICE transport/);
    }
    await waitFor('the socket to close', () => client.closed() !== undefined, { timeoutMs: 30_000 });
    assert.equal(client.messages.filter((m) => m.type !== 'answer'), [{ type: 'error', code: 'connect-failed', message: 'the media connection did not come up' }]);
    assert.is(client.closed(), 1011);
    assert.is(r.calls.length, 0);
    const logged = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'webrtc: the browser\'s media connection did not come up');
    assert.ok(logged, `the refusal was logged: ${logLines.join('')}`);
    assert.is(logged.level, 40);
    assert.is(logged.tenantId, tenantId);
    assert.match(String(logged.reason), /^the peer ended: /);
    assert.not.ok(logLines.join('').includes(browser.offer.slice(0, 40)), 'no SDP in the log');
  } finally {
    browser.pc.close();
    await r.close();
  }
});

test('upgrades over the rate limit get 429; another path gets 404', async () => {
  const r = await rig({ limit: 2 });
  try {
    const statusOf = (path: string) => new Promise<number>((resolve) => {
      const ws = new WebSocket(`${r.url}${path}`);
      ws.on('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
      ws.on('open', () => { resolve(101); ws.close(); });
      ws.on('error', () => undefined);
    });
    assert.is(await statusOf(WEBRTC_SIGNALLING_PATH), 101);
    assert.is(await statusOf(WEBRTC_SIGNALLING_PATH), 101);
    assert.is(await statusOf(WEBRTC_SIGNALLING_PATH), 429);
    assert.is(await statusOf('/v1/elsewhere'), 404);
    assert.equal(r.admitted, ['127.0.0.1', '127.0.0.1', '127.0.0.1']);
  } finally {
    await r.close();
  }
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
