/**
 * Deepgram on one host, as the real service is: one HTTP server whose
 * `/v1/listen` WebSocket upgrades go to the live STT simulator's logic
 * (deepgram-live.ts) and whose `/v1/speak` requests go to the Aura speak
 * simulator's logic (deepgram-speak.ts). A client configured with one
 * Deepgram base URL (the SDK's `environment`, the server's
 * DEEPGRAM_BASE_URL) reaches both. The two handlers keep their own options
 * and stats; the listener and the API key are shared.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { createDeepgramLiveHandler, type DeepgramLiveSimOptions, type DeepgramLiveSimulator } from './deepgram-live.ts';
import { createDeepgramSpeakHandler, type DeepgramSpeakSimOptions, type DeepgramSpeakSimulator } from './deepgram-speak.ts';
import { listenLocal, sendJson, simId } from './http-common.ts';

export interface DeepgramSimOptions {
  port?: number;
  /** When set, both endpoints accept only this key (overrides `live.apiKey` / `speak.apiKey`). */
  apiKey?: string;
  live?: Omit<DeepgramLiveSimOptions, 'port'>;
  speak?: Omit<DeepgramSpeakSimOptions, 'port'>;
}

export interface DeepgramSimulator {
  /** http://127.0.0.1:port: the one Deepgram base URL for STT and TTS. */
  url: string;
  /** ws://127.0.0.1:port */
  wsUrl: string;
  port: number;
  /** The live (STT) side: same url and port; `close()` closes the whole simulator. */
  live: DeepgramLiveSimulator;
  /** The speak (TTS) side: same url and port; `close()` closes the whole simulator. */
  speak: DeepgramSpeakSimulator;
  close(): Promise<void>;
}

function isSpeakPath(url: string | undefined): boolean {
  const path = new URL(url ?? '/', 'http://localhost').pathname;
  return path === '/v1/speak';
}

export async function startDeepgramSimulator(options: DeepgramSimOptions = {}): Promise<DeepgramSimulator> {
  const key = options.apiKey === undefined ? {} : { apiKey: options.apiKey };
  const live = createDeepgramLiveHandler({ ...options.live, ...key });
  const speak = createDeepgramSpeakHandler({ ...options.speak, ...key });
  const http = await listenLocal(options.port ?? 0, (req: IncomingMessage, res: ServerResponse) => {
    if (isSpeakPath(req.url)) return speak.request(req, res);
    if (new URL(req.url ?? '/', 'http://localhost').pathname === '/v1/listen') return live.request(req, res);
    sendJson(res, 404, { err_code: 'NOT_FOUND', err_msg: 'Not found.', request_id: simId('') });
  });
  http.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => live.upgrade(req, socket, head));
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      live.close();
      await http.close();
    })();
    return closing;
  };
  const wsUrl = http.url.replace(/^http/, 'ws');
  return {
    url: http.url,
    wsUrl,
    port: http.port,
    live: { url: http.url, wsUrl, port: http.port, stats: live.stats, close },
    speak: { url: http.url, port: http.port, stats: speak.stats, close },
    close,
  };
}
