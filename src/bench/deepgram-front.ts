/**
 * One loopback base URL for both Deepgram simulators: the server reaches
 * Deepgram STT (WebSocket /v1/listen) and TTS (HTTP /v1/speak) through the
 * single DEEPGRAM_BASE_URL, while the simulators are separate servers. This
 * front forwards /v1/speak to the speak simulator and everything else,
 * WebSocket upgrades included, to the live one. Hand-written (node:http and
 * node:net piping, about forty lines): a proxy package would be more code
 * than this.
 */
import { createServer, request, type IncomingMessage } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';

export interface DeepgramFront {
  url: string;
  close(): Promise<void>;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

export async function startDeepgramFront(liveUrl: string, speakUrl: string): Promise<DeepgramFront> {
  const livePort = portOf(liveUrl);
  const speakPort = portOf(speakUrl);
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    const port = (req.url ?? '').startsWith('/v1/speak') ? speakPort : livePort;
    const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => { if (!res.headersSent) res.writeHead(502); res.end(); });
    req.pipe(upstream);
  });
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const upstream = connect(livePort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    sockets.add(upstream);
    const end = (): void => { socket.destroy(); upstream.destroy(); sockets.delete(upstream); };
    upstream.on('error', end);
    socket.on('error', end);
    upstream.on('close', end);
    socket.on('close', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
