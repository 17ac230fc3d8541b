/**
 * A browser stand-in for WebRTC tests without Chromium: a node-datachannel
 * peer offering one Opus track (as Chromium does) and a client of the
 * /v1/webrtc signalling socket.
 */
import nodeDataChannel from 'node-datachannel';
import WebSocket from 'ws';
import { waitFor, waitForValue } from './poll.ts';

export interface StandInPeer { pc: nodeDataChannel.PeerConnection; track: nodeDataChannel.Track; offer: string; failed: () => boolean }

export async function browserOffer(): Promise<StandInPeer> {
  const pc = new nodeDataChannel.PeerConnection('browser', { iceServers: [], bindAddress: '127.0.0.1' });
  let failed = false;
  pc.onStateChange((state) => { if (state === 'failed') failed = true; });
  const audio = new nodeDataChannel.Audio('0', 'SendRecv');
  audio.addOpusCodec(111);
  audio.addSSRC(4242, 'browser', 'b', 'mic');
  const track = pc.addTrack(audio);
  const offer = await new Promise<string>((resolve) => {
    pc.onGatheringStateChange((state) => { if (state === 'complete') resolve(pc.localDescription()!.sdp); });
    pc.setLocalDescription();
  });
  return { pc, track, offer, failed: () => failed };
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

/**
 * A browser stand-in dials: offer with a token from `token()`, apply the answer, wait for the media and then
 * for the call to start (or the socket to close); `origin` is sent as a browser page's would. Every peer made is pushed on `peers` (the caller closes
 * them). libdatachannel as the offerer now and then closes itself before the answer comes when the machine
 * is busy ("Got a remote candidate without ICE transport"), or fails its ICE just after the answer: that is
 * the stand-in's own set-up, so it starts over, at most three times; a server that answers wrongly fails
 * every attempt.
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
      if (attempt === 3 || !/without ICE transport/.test(String(error))) throw error;
      client.ws.close();
      continue;
    }
    const started = (): boolean => client.messages.some((m) => m.type === 'call');
    await waitFor('the call to start (or be refused)', () => started() || client.closed() !== undefined || peer.failed(), { timeoutMs: 30_000 });
    if (!started() && client.closed() === undefined && peer.failed()) {
      client.ws.close();
      if (attempt === 3) throw new Error('the stand-in\'s peer failed its ICE on three attempts in a row');
      continue;
    }
    return { client, peer, answer };
  }
}
