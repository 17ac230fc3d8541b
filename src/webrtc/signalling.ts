/**
 * The browser's signalling channel: a WebSocket at /v1/webrtc carrying small
 * JSON messages. One socket is one call:
 *
 *   browser -> server  {type:'offer', token, sdp}   (first message, within 10 s)
 *                      {type:'hangup'}            (the server ends the call, sends 'ended', closes)
 *   server -> browser  {type:'answer', sdp}
 *                      {type:'call', callId}       (media is up and the call has started)
 *                      {type:'caption', speaker:'caller'|'agent', text}   (redacted transcript lines)
 *                      {type:'ended', reason}
 *                      {type:'error', code, message}
 *
 * The offer is non-trickle (the browser waits for its candidates) and so is
 * the answer (media/webrtc/audio-peer.ts). The call itself (its row, its
 * greeting) starts once DTLS is up, so nothing is said into a connection that
 * never forms. The token is a call token minted
 * through the API or for a web-widget key (src/webrtc/call-token.ts), used
 * once (across the cluster when `claim` is Postgres's); it travels in the
 * first message, never in the URL (URLs end up in logs). A widget token names
 * the page's origin: the socket's Origin header must be that origin, so a
 * token lifted from the customer's page cannot be used from another site. Upgrades are
 * rate-limited per source address, counted in the database so the limit
 * holds across nodes. Closing the socket hangs up; the call ending closes it.
 * Nothing of the call's content (SDP aside, which holds addresses and keys'
 * fingerprints only) is logged; the token never is.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { WebRtcAudioPeer, WebRtcOfferError, type AudioPeerOptions } from '../../media/webrtc/audio-peer.ts';
import type { Logger } from '../log.ts';
import { refuseUpgrade } from '../http/upgrades.ts';
import { checkCallToken, UsedCallTokens, type CallTokenClaims } from './call-token.ts';

export const WEBRTC_SIGNALLING_PATH = '/v1/webrtc';
const MAX_MESSAGE_BYTES = 64 * 1024;
const OFFER_WITHIN_MS = 10_000;
/** The browser's media must connect within this after the answer. */
const CONNECT_WITHIN_MS = 15_000;

export interface Caption { speaker: 'caller' | 'agent'; text: string }

/** What the call entry needs to run a browser call over `peer`. */
export interface WebRtcCallRequest {
  tenantId: string;
  agentId: string;
  peer: WebRtcAudioPeer;
  /** The browser's address (the socket's peer), for the call record. */
  source: string;
}

/** A running browser call, as the signalling channel sees it. */
export interface WebRtcCall {
  callId: string;
  /** Redacted transcript lines as the conversation writes them. */
  onCaption(listener: (caption: Caption) => void): () => void;
  /** Fires once when the call is over, whichever side ended it. */
  onEnd(listener: (reason: string) => void): () => void;
  /** The browser hung up (its message, or its socket closed). */
  hangup(): void;
}

/** Why a call could not start, in words the browser may read. */
export class WebRtcCallRefused extends Error {
  override name = 'WebRtcCallRefused';
  constructor(readonly code: 'not-found' | 'busy' | 'unavailable', message: string) {
    super(message);
  }
}

export type StartWebRtcCall = (request: WebRtcCallRequest) => Promise<WebRtcCall>;

export interface WebRtcSignallingOptions {
  /** Verifies call tokens. */
  secret: Buffer;
  logger: Logger;
  /** ICE: the address the peers bind and announce; port range. */
  peer: Omit<AudioPeerOptions, 'pacer'>;
  startCall: StartWebRtcCall;
  /**
   * Counts one upgrade from `source` (a fixed window shared by the cluster) and says whether it is within the
   * limit; omitted: no limit.
   */
  admit?: (source: string) => Promise<boolean>;
  /** Claims a token's id (true the first time, false for a replay); omitted: remembered in this process only. */
  claim?: (claims: CallTokenClaims) => Promise<boolean>;
}

type Inbound = { type: 'offer'; token: unknown; sdp: unknown } | { type: 'hangup' };

function parseMessage(data: RawData): Inbound | undefined {
  try {
    const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
    const message = JSON.parse(text) as { type?: unknown; token?: unknown; sdp?: unknown };
    if (message.type === 'offer') return { type: 'offer', token: message.token, sdp: message.sdp };
    if (message.type === 'hangup') return { type: 'hangup' };
  } catch { /* not JSON */ }
  return undefined;
}

export class WebRtcSignalling {
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  private readonly used = new UsedCallTokens();
  private readonly sockets = new Set<WebSocket>();
  private closed = false;

  constructor(private readonly options: WebRtcSignallingOptions) {}

  /** The upgrade handler for WEBRTC_SIGNALLING_PATH (src/http/upgrades.ts). */
  readonly handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    if (this.closed) return refuseUpgrade(socket, 503, 'Service Unavailable');
    const source = request.socket.remoteAddress ?? 'unknown';
    const origin = typeof request.headers.origin === 'string' ? request.headers.origin : undefined;
    const admitted = this.options.admit ? this.options.admit(source) : Promise.resolve(true);
    admitted.then((ok) => {
      if (!ok) return refuseUpgrade(socket, 429, 'Too Many Requests', { 'Retry-After': '60' });
      if (this.closed || socket.destroyed) return refuseUpgrade(socket, 503, 'Service Unavailable');
      this.wss.handleUpgrade(request, socket, head, (ws) => this.serve(ws, source, origin));
    }, (error: unknown) => {
      this.options.logger.warn({ err: error }, 'webrtc: the rate limit could not be checked');
      refuseUpgrade(socket, 503, 'Service Unavailable');
    });
  };

  /** Signalling sockets open now (each one a browser call or one being set up). */
  get connections(): number {
    return this.sockets.size;
  }

  /** Hangs up every browser call's socket and stops taking new ones (the calls themselves end with the call manager). */
  async close(): Promise<void> {
    this.closed = true;
    for (const ws of this.sockets) ws.close(1001, 'server shutting down');
    const deadline = Date.now() + 2000;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const ws of this.sockets) ws.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
  }

  private serve(ws: WebSocket, source: string, origin: string | undefined): void {
    const log = this.options.logger;
    this.sockets.add(ws);
    let call: WebRtcCall | undefined;
    let peer: WebRtcAudioPeer | undefined;
    let offered = false;
    const left = new AbortController();
    const send = (message: Record<string, unknown>): void => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
    };
    const fail = (code: string, message: string, closeCode = 1008): void => {
      send({ type: 'error', code, message });
      ws.close(closeCode, code);
    };
    const offerTimer = setTimeout(() => { if (!offered) fail('timeout', 'no offer in time'); }, OFFER_WITHIN_MS);
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      clearTimeout(offerTimer);
      this.sockets.delete(ws);
      left.abort();
      if (call) call.hangup();
      else peer?.close('remote-hangup');
    });
    ws.on('message', (data, isBinary) => {
      const message = isBinary ? undefined : parseMessage(data);
      if (!message) return fail('bad-message', 'messages are JSON objects with a known type');
      if (message.type === 'hangup') {
        // With a call: it ends as the browser's hang-up, then 'ended' goes out and the socket closes.
        if (call) call.hangup();
        else ws.close(1000, 'hangup');
        return;
      }
      if (offered) return fail('bad-message', 'one offer per connection');
      offered = true;
      clearTimeout(offerTimer);
      void this.answer(message, { source, origin }, send, left.signal).then((started) => {
        if (!started) return;
        ({ call, peer } = started);
        if (ws.readyState !== ws.OPEN) {
          call.hangup(); // the browser left while the call was being set up
          return;
        }
        call.onCaption((caption) => send({ type: 'caption', speaker: caption.speaker, text: caption.text }));
        call.onEnd((reason) => {
          send({ type: 'ended', reason });
          ws.close(1000, 'call ended');
        });
      }, (error: unknown) => {
        if (error instanceof SignallingRefusal) return fail(error.code, error.message, error.closeCode);
        log.error({ err: error }, 'webrtc: could not start a browser call');
        fail('internal', 'the call could not be started', 1011);
      });
    });
  }

  /** Checks the token, answers the offer and starts the call; throws a SignallingRefusal the browser may read. */
  private async answer(
    message: Extract<Inbound, { type: 'offer' }>, from: { source: string; origin: string | undefined }, send: (m: Record<string, unknown>) => void, left: AbortSignal,
  ): Promise<{ call: WebRtcCall; peer: WebRtcAudioPeer }> {
    const { source } = from;
    const checked = checkCallToken(this.options.secret, message.token);
    if (!checked.ok) throw new SignallingRefusal('unauthorized', `the call token is ${checked.reason === 'expired' ? 'expired' : 'not valid'}`);
    // Checked before the claim: a token tried from the wrong site stays usable from its own page.
    if (checked.claims.origin !== undefined && checked.claims.origin !== from.origin) throw new SignallingRefusal('forbidden-origin', 'this call token is for another site');
    const claimed = this.options.claim ? await this.options.claim(checked.claims) : this.used.claim(checked.claims);
    if (!claimed) throw new SignallingRefusal('unauthorized', 'the call token was already used');
    if (typeof message.sdp !== 'string') throw new SignallingRefusal('bad-offer', 'the offer has no SDP');
    let answered: Awaited<ReturnType<typeof WebRtcAudioPeer.answer>>;
    try {
      answered = await WebRtcAudioPeer.answer(message.sdp, this.options.peer);
    } catch (error) {
      if (error instanceof WebRtcOfferError) throw new SignallingRefusal('bad-offer', error.message);
      throw error;
    }
    const { peer, answer } = answered;
    try {
      send({ type: 'answer', sdp: answer });
      await connected(peer, left).catch((error: unknown) => {
        if (error instanceof MediaNotUp) {
          // The browser hears only that it failed; ops get why (the peer's end: its ICE or DTLS failed, it closed, or time ran out).
          this.options.logger.warn({ tenantId: checked.claims.tenantId, reason: error.reason }, 'webrtc: the browser\'s media connection did not come up');
        }
        throw error;
      });
      const call = await this.options.startCall({ tenantId: checked.claims.tenantId, agentId: checked.claims.agentId, peer, source });
      send({ type: 'call', callId: call.callId });
      this.options.logger.info({ tenantId: checked.claims.tenantId, callId: call.callId }, 'webrtc: browser call answered');
      return { call, peer };
    } catch (error) {
      peer.close('setup-failed');
      if (error instanceof SignallingRefusal) throw error;
      if (error instanceof WebRtcCallRefused) throw new SignallingRefusal(error.code, error.message, error.code === 'not-found' ? 1008 : 1013);
      throw error;
    }
  }
}

/** Resolves once the peer's media is up; a refusal when it ends first or takes too long. */
function connected(peer: WebRtcAudioPeer, left: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (left.aborted) return reject(new SignallingRefusal('gone', 'the browser left'));
    const timer = setTimeout(() => { cleanup(); reject(new MediaNotUp('no media within the connect time')); }, CONNECT_WITHIN_MS);
    const onOpen = (): void => { cleanup(); resolve(); };
    const onEnd = (reason: string): void => { cleanup(); reject(new MediaNotUp(`the peer ended: ${reason}`)); };
    const onLeft = (): void => { cleanup(); reject(new SignallingRefusal('gone', 'the browser left')); };
    const cleanup = (): void => { clearTimeout(timer); peer.off('open', onOpen); peer.off('end', onEnd); left.removeEventListener('abort', onLeft); };
    peer.once('open', onOpen);
    peer.once('end', onEnd);
    left.addEventListener('abort', onLeft, { once: true });
  });
}

class SignallingRefusal extends Error {
  constructor(readonly code: string, message: string, readonly closeCode = 1008) {
    super(message);
  }
}

/** The browser's media did not come up; `reason` is for the log, the browser gets the refusal. */
class MediaNotUp extends SignallingRefusal {
  constructor(readonly reason: string) {
    super('connect-failed', 'the media connection did not come up', 1011);
  }
}
