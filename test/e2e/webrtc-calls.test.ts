/**
 * Browser calls through the real server without a browser: a node-datachannel
 * stand-in dials /v1/webrtc with a call token minted through the API and
 * reaches an echo agent through the shared call entry. Its speech comes back
 * as Opus; the call row names the way in; a second call over the tenant's
 * limit is refused as busy; hanging up ends the row as remote-bye. A page on
 * a web-widget key's origin gets a token without a credential and calls the
 * same way. (The real
 * browser is test/e2e/webrtc-browser.test.ts.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpusDecoder, OpusEncoder } from '../../media/audio/opus.ts';
import { looksLikeRtcp, parseRtp, serializeRtp } from '../../media/rtp/packet.ts';
import { getCall, issueApiKey, listCallEvents } from '../../storage/index.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { DIAL_ATTEMPTS, dial, type StandInPeer } from '../support/webrtc-stand-in.ts';
import { startTestServer } from './support/harness.ts';
import { exitAfterNativePeers } from '../../media/webrtc/native-exit.ts';

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

test('a WebRTC call reaches the echo agent through the call entry; the limit holds; hang-up ends the record', async () => {
  const t = await startTestServer({ env: { SMARTALEX_MAX_CALLS_PER_TENANT: '1' } });
  const peers: StandInPeer[] = [];
  try {
    const { key } = await issueApiKey(t.db, t.tenantId, { name: 'webrtc-test', role: 'manager' });
    const token = async (): Promise<string> => {
      const res = await fetch(`http://127.0.0.1:${t.server.httpPort}/v1/agents/${t.agentId}/call-tokens`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}',
      });
      assert.is(res.status, 201);
      return ((await res.json()) as { token: string }).token;
    };
    // Two dials, each of which may start its own set-up over on a fresh token.
    const tokens: string[] = [];
    for (let i = 0; i < 2 * DIAL_ATTEMPTS; i++) tokens.push(await token());
    const url = `ws://127.0.0.1:${t.server.httpPort}`;

    const first = await dial(url, peers, () => tokens.shift()!);
    const started = first.client.messages.find((m) => m.type === 'call');
    assert.ok(started, `the call started: ${JSON.stringify(first.client.messages.filter((m) => m.type !== 'answer'))}`);
    const callId = String(started.callId);

    // Speak a tone; the echo agent says it back.
    const heard: number[] = [];
    const decoder = new OpusDecoder();
    first.peer.track.onMessage((message) => {
      if (looksLikeRtcp(message)) return;
      const parsed = parseRtp(message);
      if (parsed.ok) { try { heard.push(rms(decoder.decode(parsed.packet.payload))); } catch { heard.push(-1); } }
    });
    const encoder = new OpusEncoder();
    for (let i = 0; i < 50; i++) {
      const pcm = new Int16Array(960).map((_, n) => Math.round(Math.sin(2 * Math.PI * 440 * (i * 960 + n) / 48_000) * 9000));
      first.peer.track.sendMessageBinary(serializeRtp({ marker: i === 0, payloadType: 111, sequenceNumber: i, timestamp: i * 960, ssrc: 4242, payload: encoder.encode(pcm) }));
    }
    encoder.close();
    await waitFor('the echo', () => heard.filter((e) => e > 2000).length >= 20, { timeoutMs: 30_000 });
    assert.not.ok(heard.includes(-1), 'every packet decodes');
    decoder.close();

    // The tenant's one line is taken: the next browser hears it is busy, and no second row starts.
    const second = await dial(url, peers, () => tokens.shift()!);
    await waitFor('the refusal', () => second.client.closed() !== undefined, { timeoutMs: 30_000 });
    assert.equal(second.client.messages.filter((m) => m.type === 'error'), [{ type: 'error', code: 'busy', message: 'all lines are busy: try again later' }]);

    first.client.ws.send(JSON.stringify({ type: 'hangup' }));
    const row = await waitForValue('the call row to end', async () => {
      const c = await getCall(t.db, t.tenantId, callId);
      return c?.state === 'ended' ? c : undefined;
    }, { timeoutMs: 30_000 });
    assert.is(row.endReason, 'remote-bye');
    assert.is(row.fromUri, 'webrtc:127.0.0.1');
    assert.is(row.toUri, `agent:${t.agentId}`);
    const events = await listCallEvents(t.db, t.tenantId, callId);
    assert.ok(events.some((e) => e.type === 'transport' && (e.data as { kind?: string }).kind === 'webrtc'));
  } finally {
    for (const p of peers) p.pc.close();
    await t.close();
  }
});

test('a web-widget key: a page on its origin gets a token and calls the agent through the real server', async () => {
  const t = await startTestServer();
  const peers: StandInPeer[] = [];
  const origin = 'https://shop.example';
  try {
    const { key } = await issueApiKey(t.db, t.tenantId, { name: 'widget-test', role: 'manager' });
    const base = `http://127.0.0.1:${t.server.httpPort}`;
    const created = await fetch(`${base}/v1/agents/${t.agentId}/widget-keys`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ allowedOrigins: [origin] }),
    });
    assert.is(created.status, 201);
    const widgetKey = ((await created.json()) as { key: string }).key;
    // As the page's script would: no credential, its Origin (a stand-in retry needs a fresh token).
    const tokens: string[] = [];
    for (let i = 0; i < DIAL_ATTEMPTS; i++) {
      const res = await fetch(`${base}/v1/widget-keys/${widgetKey}/call-tokens`, { method: 'POST', headers: { origin, 'content-type': 'application/json' }, body: '{}' });
      assert.is(res.status, 201);
      assert.is(res.headers.get('access-control-allow-origin'), origin);
      tokens.push(((await res.json()) as { token: string }).token);
    }
    const { client } = await dial(`ws://127.0.0.1:${t.server.httpPort}`, peers, () => tokens.shift()!, origin);
    const started = client.messages.find((m) => m.type === 'call');
    assert.ok(started, `the call started: ${JSON.stringify(client.messages.filter((m) => m.type !== 'answer'))}`);
    client.ws.send(JSON.stringify({ type: 'hangup' }));
    const row = await waitForValue('the call row to end', async () => {
      const c = await getCall(t.db, t.tenantId, String(started.callId));
      return c?.state === 'ended' ? c : undefined;
    }, { timeoutMs: 30_000 });
    assert.is(row.toUri, `agent:${t.agentId}`);
  } finally {
    for (const p of peers) p.pc.close();
    await t.close();
  }
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
