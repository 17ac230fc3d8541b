/**
 * The WebSocket endpoints carriers stream call audio to, on the HTTP server
 * (an `upgrade` handler; other paths are left to whoever else listens):
 *
 *   /v1/streams/twilio   Twilio Media Streams
 *   /v1/streams/telnyx   Telnyx media streaming
 *
 * A stream is accepted only with a valid stream token (minted by the signed
 * webhook, src/streams/carrier-webhooks.ts) for this carrier and for the very
 * call the `start` message names: in the URL's `token` (refused before the
 * upgrade when bad) or, as Twilio must send it, in the start message's custom
 * parameters. Then the call is set up like any other
 * (CallManager.acceptTransportCall): the token's tenant and number, the
 * number's agent. A bad token closes the socket with 1008; a full tenant or a
 * draining server with 1013 (try again later).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { MAX_STREAM_MESSAGE_BYTES } from '../../media/streams/protocol.ts';
import { MediaStream, type StreamStart } from '../../media/streams/media-stream.ts';
import { getNumber, type Database, type StreamCarrier } from '../../storage/index.ts';
import { TransportCallError, type CallManager, type CallSession } from '../calls/index.ts';
import type { Logger } from '../log.ts';
import { STREAM_PATHS } from './carrier-webhooks.ts';
import { StreamCallTransport } from './stream-call-transport.ts';
import { checkStreamToken, STREAM_TOKEN_TTL_MS, type StreamTokenClaims } from './stream-token.ts';

export interface StreamEndpointOptions {
  db: Database;
  calls: Pick<CallManager, 'acceptTransportCall' | 'isDraining'>;
  streamSecret: Buffer;
  logger: Logger;
  /** MediaStream timings (tests shorten them). */
  stream?: { idleTimeoutMs?: number; startTimeoutMs?: number };
  now?: () => number;
}

export interface StreamEndpoint {
  /** Streams open now (accepted sockets, call or not yet). */
  readonly openStreams: number;
  /** Ends every stream call ('shutdown'), closes every stream socket and stops taking upgrades. */
  close(): Promise<void>;
}

const CARRIER_OF_PATH = new Map<string, StreamCarrier>(Object.entries(STREAM_PATHS).map(([carrier, path]) => [path, carrier as StreamCarrier]));

export function attachStreamEndpoint(server: Server, options: StreamEndpointOptions): StreamEndpoint {
  const log = options.logger.child({ component: 'media-streams' });
  const now = options.now ?? Date.now;
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_STREAM_MESSAGE_BYTES });
  const sockets = new Set<WebSocket>();
  const sessions = new Set<CallSession>();
  /** Calls that have had a stream, until their token expires: a token opens one stream, once. */
  const used = new Map<string, number>();

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const url = new URL(request.url ?? '/', 'http://stream.invalid');
    const carrier = CARRIER_OF_PATH.get(url.pathname);
    if (!carrier) {
      // Another endpoint's upgrade (e.g. WebRTC signalling) when it listens too; with nobody else, nobody ever answers: 404.
      if (server.listenerCount('upgrade') === 1) refuseUpgrade(socket, 404, 'Not Found');
      return;
    }
    const urlToken = url.searchParams.get('token') ?? undefined;
    if (urlToken !== undefined) {
      const check = checkStreamToken(options.streamSecret, urlToken, now());
      if (!check.ok || check.claims.carrier !== carrier) return refuseUpgrade(socket, 401, 'Unauthorized');
    }
    if (options.calls.isDraining) return refuseUpgrade(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(request, socket, head, (ws) => {
      sockets.add(ws);
      ws.once('close', () => sockets.delete(ws));
      accept(ws, carrier, urlToken);
    });
  };
  server.on('upgrade', onUpgrade);

  function accept(ws: WebSocket, carrier: StreamCarrier, urlToken: string | undefined): void {
    const stream = new MediaStream(ws, { dialect: carrier, ...options.stream });
    stream.once('start', (start) => { void startCall(ws, stream, carrier, start, urlToken); });
  }

  async function startCall(ws: WebSocket, stream: MediaStream, carrier: StreamCarrier, start: StreamStart, urlToken: string | undefined): Promise<void> {
    const claims = tokenClaims(carrier, start, urlToken);
    if (!claims) {
      log.warn({ carrier }, 'media stream refused: no valid stream token for this call');
      ws.close(1008, 'invalid stream token');
      return;
    }
    // The transport listens from now on: a far end that stops during set-up ends the call once it exists.
    const transport = new StreamCallTransport(stream);
    try {
      const number = await getNumber(options.db, claims.tenantId, claims.numberId);
      if (!number) throw new TransportCallError('no-agent', 'the number of this stream is gone');
      const from = start.customParameters.from;
      const session = await options.calls.acceptTransportCall({
        kind: 'ws-stream', transport, tenantId: claims.tenantId, agent: number.agentId, numberId: number.id,
        from: from ? `tel:${from}` : `${carrier}:unknown`, to: `tel:${number.number}`, externalCallId: start.callId,
      });
      sessions.add(session);
      session.once('close', () => sessions.delete(session));
    } catch (error) {
      const code = error instanceof TransportCallError ? error.code : 'error';
      if (code === 'error') log.error({ err: error, tenantId: claims.tenantId }, 'could not set up a media-stream call');
      else log.warn({ tenantId: claims.tenantId, reason: code }, 'media-stream call refused');
      ws.close(code === 'no-agent' || code === 'error' ? 1011 : 1013, code);
    }
  }

  function tokenClaims(carrier: StreamCarrier, start: StreamStart, urlToken: string | undefined): StreamTokenClaims | undefined {
    const check = checkStreamToken(options.streamSecret, urlToken ?? start.customParameters.token, now());
    if (!check.ok) return undefined;
    const claims = check.claims;
    if (claims.carrier !== carrier || claims.callId !== start.callId) return undefined;
    const key = `${carrier}:${claims.callId}`;
    const t = now();
    for (const [k, until] of used) if (until <= t) used.delete(k);
    if (used.has(key)) return undefined;
    used.set(key, t + STREAM_TOKEN_TTL_MS);
    return claims;
  }

  return {
    get openStreams() { return sockets.size; },
    close: async () => {
      server.off('upgrade', onUpgrade);
      await Promise.all([...sessions].map((s) => s.end('shutdown', true)));
      for (const ws of sockets) ws.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}

function refuseUpgrade(socket: Duplex, status: number, reason: string): void {
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}
