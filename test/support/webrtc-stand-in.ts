/**
 * A browser stand-in for WebRTC tests without Chromium: a node-datachannel
 * peer offering one Opus track (as Chromium does) and a client of the
 * /v1/webrtc signalling socket.
 *
 * libdatachannel as the offerer (v0.24.5, in node-datachannel 0.33.4, the
 * latest) has a race of its own: the answerer's ICE connects before the
 * answer reaches the offerer (the offerer answers its checks early), so its
 * DTLS ClientHello is already waiting when the offerer applies the answer;
 * the offerer's ICE then connects inside setRemoteDescription and its DTLS
 * handshake can reach the certificate check before the answer's fingerprint
 * is committed. The check fails ("DTLS alert: unknown CA" on the answerer's
 * side, no "Invalid fingerprint" logged) and the offerer's peer fails; when
 * that happens within setRemoteDescription itself, applying the answer
 * throws "Got a remote candidate without ICE transport" (libdatachannel pull
 * request 1612, open, serialises the two). On a busy machine it hits a few
 * per cent of set-ups. The server is always the answerer, and a browser
 * offerer keeps its early DTLS packets until it has the answer, so the
 * server is not exposed; the stand-in starts its own set-up over instead.
 */
import nodeDataChannel from 'node-datachannel';
import WebSocket from 'ws';
import { waitFor, waitForValue } from './poll.ts';

export interface StandInPeer {
  pc: nodeDataChannel.PeerConnection; track: nodeDataChannel.Track; offer: string;
  /** The peer's state turned 'failed' before it ever connected. */
  failed: () => boolean;
  /** The peer reached 'connected' (DTLS up). */
  connected: () => boolean;
}

export async function browserOffer(): Promise<StandInPeer> {
  const pc = new nodeDataChannel.PeerConnection('browser', { iceServers: [], bindAddress: '127.0.0.1' });
  let failed = false;
  let connected = false;
  pc.onStateChange((state) => {
    if (state === 'connected') connected = true;
    else if (state === 'failed' && !connected) failed = true;
  });
  const audio = new nodeDataChannel.Audio('0', 'SendRecv');
  audio.addOpusCodec(111);
  audio.addSSRC(4242, 'browser', 'b', 'mic');
  const track = pc.addTrack(audio);
  const offer = await new Promise<string>((resolve) => {
    pc.onGatheringStateChange((state) => { if (state === 'complete') resolve(pc.localDescription()!.sdp); });
    pc.setLocalDescription();
  });
  return { pc, track, offer, failed: () => failed, connected: () => connected };
}

/** `sdp` with its fingerprint's first byte changed: a certificate the other side must refuse (its DTLS check fails). */
export function withWrongFingerprint(sdp: string): string {
  const changed = sdp.replace(/a=fingerprint:sha-256 ([0-9A-F]{2})/, (_, byte: string) => `a=fingerprint:sha-256 ${byte === '00' ? '01' : '00'}`);
  if (changed === sdp) throw new Error('the SDP has no sha-256 fingerprint to change');
  return changed;
}

export interface SignallingClient { ws: WebSocket; messages: Array<Record<string, unknown>>; closed: () => number | undefined }

/** A signalling client on `url` (ws://host:port), sending `origin` as a browser would: every message it got, and how its socket closed. */
export async function connect(url: string, origin?: string): Promise<SignallingClient> {
  const ws = new WebSocket(`${url}/v1/webrtc`, origin !== undefined ? { origin } : {});
  const messages: Array<Record<string, unknown>> = [];
  let code: number | undefined;
  ws.on('message', (data) => messages.push(JSON.parse(String(data)) as Record<string, unknown>));
  ws.on('close', (c) => { code = c; });
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject); });
  return { ws, messages, closed: () => code };
}

/** Set-up attempts a dial makes before it gives up: the offerer's race (above) hits a few per cent of them. */
export const DIAL_ATTEMPTS = 5;

/**
 * A browser stand-in dials: offer with a token from `token()`, apply the answer, wait for the media and then
 * for the call to start (or the socket to close); `origin` is sent as a browser page's would. Every peer made
 * is pushed on `peers` (the caller closes them). When the stand-in's own set-up fails (the offerer's race,
 * above) it starts over on a fresh socket and token, at most DIAL_ATTEMPTS times in all; a server that
 * answers wrongly fails every attempt, and a call the server refuses for any other reason is returned as it is.
 */
export async function dial(url: string, peers: StandInPeer[], token: () => string, origin?: string): Promise<{ client: SignallingClient; peer: StandInPeer; answer: Record<string, unknown> }> {
  for (let attempt = 1; ; attempt++) {
    const peer = await browserOffer();
    peers.push(peer);
    const client = await connect(url, origin);
    client.ws.send(JSON.stringify({ type: 'offer', token: token(), sdp: peer.offer }));
    const answer = await waitForValue('the answer', () => client.messages.find((m) => m.type === 'answer'), { timeoutMs: 30_000 });
    try {
      peer.pc.setRemoteDescription(String(answer.sdp), 'answer');
    } catch (error) {
      if (attempt === DIAL_ATTEMPTS || !/without ICE transport/.test(String(error))) throw error;
      process.stderr.write(`[webrtc stand-in] attempt ${attempt} starts over: ${String(error)}\n`);
      client.ws.close();
      continue;
    }
    const started = (): boolean => client.messages.some((m) => m.type === 'call');
    await waitFor('the call to start (or be refused)', () => started() || client.closed() !== undefined || peer.failed(), { timeoutMs: 30_000 });
    if (!started() && await ownSetUpFailed(peer, client)) {
      client.ws.close();
      if (attempt === DIAL_ATTEMPTS) throw new Error(`the stand-in's own set-up failed on ${DIAL_ATTEMPTS} attempts in a row`);
      process.stderr.write(`[webrtc stand-in] attempt ${attempt} starts over: its peer failed before it connected${client.closed() !== undefined ? ' (the server had refused first)' : ''}\n`);
      continue;
    }
    return { client, peer, answer };
  }
}

/**
 * The call did not start: was it the stand-in's own set-up? Its peer failing makes the server's peer fail
 * too, and the server's `connect-failed` can arrive before the stand-in's own state turns: after that
 * refusal, wait for the stand-in's peer to settle (failed, or connected: then the refusal was the server's).
 * A refusal for another reason (busy, a bad token) is the server's answer, not a failed set-up.
 */
async function ownSetUpFailed(peer: StandInPeer, client: SignallingClient): Promise<boolean> {
  if (peer.failed()) return true;
  const mediaRefused = client.messages.some((m) => m.type === 'error' && m.code === 'connect-failed');
  if (!mediaRefused) return false;
  await waitFor('the stand-in\'s peer to settle', () => peer.failed() || peer.connected(), { timeoutMs: 10_000 }).catch(() => undefined);
  return peer.failed();
}
