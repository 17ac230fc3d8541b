/**
 * WebSocket upgrades on the HTTP server, by path. Fastify routes plain
 * requests only; an `upgrade` request goes to the handler registered for its
 * path (e.g. /v1/webrtc), and any other path gets a 404 and is closed, so a
 * stray upgrade never holds a socket open, unless another `upgrade` listener
 * on the server handles it (`handledElsewhere`: the carrier stream endpoint).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';

export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

/** Writes a plain HTTP refusal on a socket that asked to upgrade, and closes it. */
export function refuseUpgrade(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  if (socket.destroyed) return;
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n${extra}\r\n`);
  socket.once('error', () => undefined);
}

export class UpgradeRouter {
  private readonly handlers = new Map<string, UpgradeHandler>();

  constructor(server: Pick<Server, 'on'>, options: { handledElsewhere?: (path: string) => boolean } = {}) {
    server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (request.url ?? '').split('?')[0] ?? '';
      const handler = this.handlers.get(path);
      if (!handler && options.handledElsewhere?.(path)) return;
      socket.on('error', () => socket.destroy()); // a reset before the handshake is the client's business
      if (!handler) return refuseUpgrade(socket, 404, 'Not Found');
      handler(request, socket, head);
    });
  }

  /** Handles upgrades to exactly `path` (no query string in the match). */
  add(path: string, handler: UpgradeHandler): void {
    if (this.handlers.has(path)) throw new Error(`an upgrade handler for ${path} is already registered`);
    this.handlers.set(path, handler);
  }
}
