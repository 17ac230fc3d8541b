/**
 * A local stand-in for Deepgram Aura's REST text-to-speech
 * (`POST /v1/speak?model=…&encoding=linear16&sample_rate=…&container=none`,
 * JSON body `{ "text": … }`), streaming the audio as it is "generated".
 * `Authorization: Token <key>` is required and answered with Deepgram's 401
 * body. Knobs: time to first byte, generation speed, chunk size.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { credentialAccepted } from './deepgram-auth.ts';
import { listenLocal, readJson, sendJson, simId, streamPaced } from './http-common.ts';
import { pcm16LeBytes, streamingWavHeader, synthesizeSpeechPattern } from './speech-pattern.ts';

export interface DeepgramSpeakSimOptions {
  port?: number;
  /** When set only this key is accepted; otherwise any non-empty key is. */
  apiKey?: string;
  /** Delay before the first audio byte. */
  ttsTtfbMs?: number;
  /** Seconds of audio produced per wall-clock second after the first byte; 0 or Infinity means unpaced. */
  ttsSpeed?: number;
  /** Size of each write; odd by default so clients must handle split samples. */
  ttsChunkBytes?: number;
}

export interface DeepgramSpeakSimStats {
  requests: number;
  completed: number;
  aborted: number;
  authFailures: number;
  lastRequest: { model: string; encoding: string; sampleRate: number; container: string; text: string } | null;
}

export interface DeepgramSpeakSimulator {
  url: string;
  port: number;
  stats: DeepgramSpeakSimStats;
  close(): Promise<void>;
}

const LINEAR16_RATES = new Set([8000, 16000, 24000, 32000, 48000]);

/**
 * The speak simulator's logic without a listener of its own, for any
 * node:http server: `startDeepgramSpeakSimulator` and the combined Deepgram
 * simulator (deepgram.ts) both serve through it.
 */
export interface DeepgramSpeakHandler {
  stats: DeepgramSpeakSimStats;
  request(req: IncomingMessage, res: ServerResponse): void;
}

export function createDeepgramSpeakHandler(options: Omit<DeepgramSpeakSimOptions, 'port'> = {}): DeepgramSpeakHandler {
  const stats: DeepgramSpeakSimStats = { requests: 0, completed: 0, aborted: 0, authFailures: 0, lastRequest: null };
  return {
    stats,
    request: (req, res) => {
      handle(req, res, options, stats).catch(() => {
        if (!res.headersSent) sendJson(res, 500, dgError('INTERNAL_SERVER_ERROR', 'Internal server error.'));
        else res.destroy();
      });
    },
  };
}

export async function startDeepgramSpeakSimulator(options: DeepgramSpeakSimOptions = {}): Promise<DeepgramSpeakSimulator> {
  const handler = createDeepgramSpeakHandler(options);
  const http = await listenLocal(options.port ?? 0, handler.request);
  return { url: http.url, port: http.port, stats: handler.stats, close: http.close };
}

function dgError(code: string, msg: string): unknown {
  return { err_code: code, err_msg: msg, request_id: simId('') };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: DeepgramSpeakSimOptions, stats: DeepgramSpeakSimStats): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (req.method !== 'POST' || url.pathname !== '/v1/speak') {
    sendJson(res, 404, dgError('NOT_FOUND', 'Not found.'));
    return;
  }
  if (!credentialAccepted(req, options)) {
    stats.authFailures += 1;
    sendJson(res, 401, dgError('INVALID_AUTH', 'Invalid credentials.'));
    return;
  }
  stats.requests += 1;
  const body = (await readJson(req)) as { text?: unknown } | undefined;
  const text = typeof body?.text === 'string' ? body.text : '';
  if (text.trim().length === 0) {
    sendJson(res, 400, dgError('INVALID_QUERY_PARAMETER', 'Text is required.'));
    return;
  }
  if (text.length > 2000) {
    sendJson(res, 413, dgError('PAYLOAD_TOO_LARGE', 'Text must be 2000 characters or fewer.'));
    return;
  }
  const model = url.searchParams.get('model') ?? 'aura-asteria-en';
  const encoding = url.searchParams.get('encoding') ?? 'mp3';
  if (encoding !== 'linear16') {
    sendJson(res, 400, dgError('UNSUPPORTED_ENCODING', `The simulator only produces linear16, not ${encoding}.`));
    return;
  }
  const sampleRate = Number(url.searchParams.get('sample_rate') ?? 24000);
  if (!LINEAR16_RATES.has(sampleRate)) {
    sendJson(res, 400, dgError('INVALID_QUERY_PARAMETER', 'Unsupported sample_rate for linear16.'));
    return;
  }
  // Deepgram wraps linear16 in a WAV container unless `container=none`.
  const container = url.searchParams.get('container') ?? 'wav';
  stats.lastRequest = { model, encoding, sampleRate, container, text };
  let gone = false;
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
  });
  const pcm = pcm16LeBytes(synthesizeSpeechPattern(text, sampleRate));
  const audio = container === 'none' ? pcm : Buffer.concat([streamingWavHeader(sampleRate), pcm]);
  res.writeHead(200, {
    'content-type': container === 'none' ? 'application/octet-stream' : 'audio/wav',
    'transfer-encoding': 'chunked',
    'dg-model-name': model,
    'dg-char-count': String(text.length),
    'dg-request-id': simId(''),
  });
  const done = await streamPaced(res, audio, sampleRate * 2, options.ttsTtfbMs ?? 0, options.ttsSpeed ?? 0, options.ttsChunkBytes ?? 4095, () => gone);
  if (done) stats.completed += 1;
  else stats.aborted += 1;
}
