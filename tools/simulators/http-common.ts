/**
 * Small pieces the HTTP simulators share: listening on 127.0.0.1, reading a
 * JSON body, a close-aware sleep, and tracking open sockets so `close()` ends
 * promptly even with streams in flight. Hand-written because each is a few
 * lines and the simulators must stay dependency-free beyond `ws`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RunningHttpServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Starts an HTTP server on 127.0.0.1 that remembers its sockets so close() can end them. */
export async function listenLocal(
  port: number,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<RunningHttpServer> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as AddressInfo).port;
  return {
    server,
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Reads a request body as JSON; resolves undefined when it is not valid JSON. */
export function readJson(req: IncomingMessage, limitBytes = 1_000_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limitBytes) {
        reject(new Error('body too large'));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', reject);
  });
}

/** Resolves after `ms`, or early (with false) once `isGone()` turns true. Zero ms resolves at once. */
export async function sleepUnless(ms: number, isGone: () => boolean): Promise<boolean> {
  if (ms <= 0) return !isGone();
  const step = 25;
  let left = ms;
  while (left > 0) {
    if (isGone()) return false;
    const wait = Math.min(step, left);
    await new Promise((r) => setTimeout(r, wait));
    left -= wait;
  }
  return !isGone();
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Writes to a streaming response and waits for drain when the socket buffer is full. */
export async function writeWithBackpressure(res: ServerResponse, chunk: string | Uint8Array): Promise<void> {
  if (res.destroyed || res.writableEnded) return;
  if (!res.write(chunk)) {
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  }
}

let idCounter = 0;
/** A short unique-enough id with a prefix, e.g. `chatcmpl-…`. */
export function simId(prefix: string): string {
  idCounter += 1;
  return `${prefix}${Date.now().toString(36)}${idCounter.toString(36).padStart(4, '0')}`;
}

/** Masks a credential the way OpenAI's error messages do (first 3, last 4). */
export function maskKey(key: string): string {
  if (key.length <= 8) return '*'.repeat(key.length);
  return `${key.slice(0, 3)}${'*'.repeat(Math.min(key.length - 7, 20))}${key.slice(-4)}`;
}

/**
 * Writes `audio` after `ttfbMs`, then in chunks paced so that `speed` seconds
 * of audio leave per wall-clock second. Returns false when the client left.
 */
export async function streamPaced(
  res: ServerResponse,
  audio: Uint8Array,
  bytesPerSecond: number,
  ttfbMs: number,
  speed: number,
  chunkBytes: number,
  isGone: () => boolean,
): Promise<boolean> {
  res.flushHeaders();
  if (!(await sleepUnless(ttfbMs, isGone))) return false;
  const started = performance.now();
  const paced = speed > 0 && Number.isFinite(speed);
  for (let off = 0; off < audio.length; off += chunkBytes) {
    if (isGone()) return false;
    if (paced && off > 0) {
      const dueMs = (off / bytesPerSecond / speed) * 1000;
      const wait = dueMs - (performance.now() - started);
      if (wait > 0 && !(await sleepUnless(wait, isGone))) return false;
    }
    await writeWithBackpressure(res, audio.subarray(off, Math.min(audio.length, off + chunkBytes)));
  }
  if (isGone()) return false;
  res.end();
  return true;
}
