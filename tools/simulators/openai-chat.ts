/**
 * A local stand-in for the OpenAI HTTP API, enough for this server's LLM and
 * TTS adapters through the official `openai` SDK:
 *   POST /v1/chat/completions  streaming (SSE `chat.completion.chunk` lines,
 *                              tool calls as index/id/name/argument-fragment
 *                              deltas, `data: [DONE]`) and non-streaming
 *   POST /v1/audio/speech      `response_format: pcm` (24 kHz PCM16 LE mono) or
 *                              `wav`, streamed at a configurable pace
 * Bearer auth is required and answered with OpenAI's 401 error body. Latency
 * knobs: time to first token, token rate, TTS time to first byte and
 * generation speed. Fault knobs, in the shapes OpenAI sends
 * (platform.openai.com/docs/guides/error-codes; openai-node core/streaming.ts
 * throws on an `error` object inside a stream):
 *   status       an HTTP 5xx `server_error`
 *   rate_limit   429 `rate_limit_exceeded` with `retry-after` (retrying helps)
 *   quota        429 `insufficient_quota` (retrying never helps)
 *   stream_error `data: {"error": {...}}` after N chunks of a 200 stream
 *   drop         the connection cut after N chunks
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { listenLocal, maskKey, readJson, sendJson, simId, sleepUnless, streamPaced, writeWithBackpressure } from './http-common.ts';
import { pcm16LeBytes, streamingWavHeader, synthesizeSpeechPattern } from './speech-pattern.ts';

export interface ScriptedToolCall {
  name: string;
  /** An object (serialized to JSON) or the raw arguments string. */
  arguments: Record<string, unknown> | string;
}
export type ScriptedReply = string | { text?: string; toolCalls?: ScriptedToolCall[] };

/** The parts of a chat request a reply function may look at. */
export interface ChatRequestView {
  model: string;
  messages: Array<{ role: string; content?: unknown; tool_calls?: unknown; tool_call_id?: string }>;
  tools?: Array<{ type: string; function: { name: string } }>;
  stream: boolean;
}

export type ChatFault =
  | { type: 'status'; status: number; count?: number }
  /** 429 rate_limit_exceeded; `retryAfterS` goes in the retry-after header (default 1). */
  | { type: 'rate_limit'; retryAfterS?: number; count?: number }
  /** 429 insufficient_quota. */
  | { type: 'quota'; count?: number }
  /** An error event in the middle of a 200 stream, after this many chunks. */
  | { type: 'stream_error'; afterChunks: number; count?: number }
  /** Destroy the connection after this many SSE chunks. */
  | { type: 'drop'; afterChunks: number; count?: number };

export interface OpenAiSimOptions {
  port?: number;
  /** When set only this key is accepted; otherwise any non-empty bearer token is. */
  apiKey?: string;
  /** Replies in order (cycled), or chosen per request. */
  replies?: readonly ScriptedReply[] | ((req: ChatRequestView, index: number) => ScriptedReply);
  /** Delay before the first streamed chunk. */
  llmTtftMs?: number;
  /** Streamed tokens per second after the first; 0 or Infinity means no pacing. */
  llmTokensPerSecond?: number;
  /** Applies to the first `count` chat requests (all when count is omitted). */
  fault?: ChatFault;
  /** Delay before the first audio byte of /v1/audio/speech. */
  ttsTtfbMs?: number;
  /** Seconds of audio produced per wall-clock second after the first byte; 0 or Infinity means as fast as possible. */
  ttsSpeed?: number;
  /** Size of each audio write; odd by default so clients must handle split samples. */
  ttsChunkBytes?: number;
}

export interface OpenAiSimStats {
  chatRequests: number;
  chatCompleted: number;
  /** Streams whose client went away before the last chunk. */
  chatAborted: number;
  /** Streams the drop fault cut. */
  chatDropped: number;
  /** Streams the stream_error fault ended with an error event. */
  chatStreamErrors: number;
  speechRequests: number;
  speechCompleted: number;
  speechAborted: number;
  authFailures: number;
  /** The most recent chat request body (kept in memory only, never logged). */
  lastChatRequest: ChatRequestView | null;
  lastSpeechRequest: { model: string; voice: string; response_format: string; input: string } | null;
}

export interface OpenAiSimulator {
  /** Base URL for the SDK, ending in /v1. */
  baseUrl: string;
  url: string;
  port: number;
  stats: OpenAiSimStats;
  close(): Promise<void>;
}

export const OPENAI_TTS_SAMPLE_RATE = 24_000;
const DEFAULT_REPLIES: ScriptedReply[] = ['Sure, I can help with that. What day works best for you?'];

export async function startOpenAiSimulator(options: OpenAiSimOptions = {}): Promise<OpenAiSimulator> {
  const stats: OpenAiSimStats = {
    chatRequests: 0,
    chatCompleted: 0,
    chatAborted: 0,
    chatDropped: 0,
    chatStreamErrors: 0,
    speechRequests: 0,
    speechCompleted: 0,
    speechAborted: 0,
    authFailures: 0,
    lastChatRequest: null,
    lastSpeechRequest: null,
  };
  const http = await listenLocal(options.port ?? 0, (req, res) => {
    handle(req, res, options, stats).catch(() => {
      if (!res.headersSent) sendJson(res, 500, openAiError('The server had an error while processing your request.', 'server_error', null));
      else res.destroy();
    });
  });
  return { baseUrl: `${http.url}/v1`, url: http.url, port: http.port, stats, close: http.close };
}

function openAiError(message: string, type: string, code: string | null): unknown {
  return { error: { message, type, param: null, code } };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: OpenAiSimOptions, stats: OpenAiSimStats): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname;
  const auth = req.headers.authorization ?? '';
  const key = /^Bearer\s+(.+)$/i.exec(auth)?.[1]?.trim();
  if (req.method !== 'POST' || (path !== '/v1/chat/completions' && path !== '/v1/audio/speech')) {
    sendJson(res, 404, openAiError(`Invalid URL (${req.method} ${path})`, 'invalid_request_error', null));
    return;
  }
  if (!key) {
    stats.authFailures += 1;
    sendJson(res, 401, openAiError(
      "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
      'invalid_request_error', null));
    return;
  }
  if (options.apiKey !== undefined && key !== options.apiKey) {
    stats.authFailures += 1;
    sendJson(res, 401, openAiError(
      `Incorrect API key provided: ${maskKey(key)}. You can find your API key at https://platform.openai.com/account/api-keys.`,
      'invalid_request_error', 'invalid_api_key'));
    return;
  }
  const body = await readJson(req);
  if (typeof body !== 'object' || body === null) {
    sendJson(res, 400, openAiError('We could not parse the JSON body of your request.', 'invalid_request_error', null));
    return;
  }
  if (path === '/v1/chat/completions') await handleChat(res, body as Record<string, unknown>, options, stats);
  else await handleSpeech(res, body as Record<string, unknown>, options, stats);
}

// ---------------------------------------------------------------- chat

function pickReply(options: OpenAiSimOptions, req: ChatRequestView, index: number): { text: string; toolCalls: ScriptedToolCall[] } {
  const script = options.replies ?? DEFAULT_REPLIES;
  const reply = typeof script === 'function' ? script(req, index) : (script[index % Math.max(1, script.length)] ?? '');
  if (typeof reply === 'string') return { text: reply, toolCalls: [] };
  return { text: reply.text ?? '', toolCalls: reply.toolCalls ?? [] };
}

/** Splits text the way token streams look: each piece carries its leading space. */
export function tokenize(text: string): string[] {
  return text.match(/\s*[^\s]{1,6}/g) ?? (text ? [text] : []);
}

async function handleChat(res: ServerResponse, body: Record<string, unknown>, options: OpenAiSimOptions, stats: OpenAiSimStats): Promise<void> {
  const index = stats.chatRequests;
  stats.chatRequests += 1;
  if (!Array.isArray(body.messages) || typeof body.model !== 'string') {
    sendJson(res, 400, openAiError("Missing required parameter: 'messages'.", 'invalid_request_error', 'missing_required_parameter'));
    return;
  }
  const view: ChatRequestView = {
    model: body.model,
    messages: body.messages as ChatRequestView['messages'],
    stream: body.stream === true,
    ...(Array.isArray(body.tools) ? { tools: body.tools as ChatRequestView['tools'] } : {}),
  };
  stats.lastChatRequest = view;
  const fault = options.fault;
  const faulty = fault !== undefined && (fault.count === undefined || index < fault.count);
  if (faulty && fault.type === 'status') {
    sendJson(res, fault.status, openAiError('The server had an error while processing your request. Sorry about that!', 'server_error', null));
    return;
  }
  if (faulty && fault.type === 'rate_limit') {
    const after = fault.retryAfterS ?? 1;
    sendJson(res, 429, openAiError(
      `Rate limit reached for ${view.model} in organization org-sim on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in ${after}s.`,
      'requests', 'rate_limit_exceeded'), { 'retry-after': String(after), 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': `${after}s` });
    return;
  }
  if (faulty && fault.type === 'quota') {
    sendJson(res, 429, openAiError(
      'You exceeded your current quota, please check your plan and billing details.', 'insufficient_quota', 'insufficient_quota'));
    return;
  }
  const reply = pickReply(options, view, index);
  const id = simId('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const calls = reply.toolCalls.map((c) => ({
    id: simId('call_'),
    name: c.name,
    arguments: typeof c.arguments === 'string' ? c.arguments : JSON.stringify(c.arguments),
  }));
  const finishReason = calls.length > 0 ? 'tool_calls' : 'stop';
  const tokens = tokenize(reply.text);
  const usage = { prompt_tokens: 10 * view.messages.length, completion_tokens: tokens.length + calls.length * 8, total_tokens: 0 };
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;

  let gone = false;
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
  });
  const isGone = (): boolean => gone;

  if (!view.stream) {
    if (!(await sleepUnless(options.llmTtftMs ?? 0, isGone))) return;
    sendJson(res, 200, {
      id, object: 'chat.completion', created, model: view.model, system_fingerprint: 'fp_sim',
      choices: [{
        index: 0,
        message: {
          role: 'assistant',
          content: reply.text.length > 0 ? reply.text : null,
          refusal: null,
          ...(calls.length > 0 ? { tool_calls: calls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })) } : {}),
        },
        logprobs: null,
        finish_reason: finishReason,
      }],
      usage,
    });
    stats.chatCompleted += 1;
    return;
  }

  // Build every delta first, then pace them out.
  const deltas: Array<{ delta: Record<string, unknown>; finish: string | null }> = [];
  deltas.push({ delta: { role: 'assistant', content: calls.length > 0 && tokens.length === 0 ? null : '', refusal: null }, finish: null });
  for (const t of tokens) deltas.push({ delta: { content: t }, finish: null });
  calls.forEach((c, i) => {
    deltas.push({ delta: { tool_calls: [{ index: i, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }, finish: null });
    for (let p = 0; p < c.arguments.length; p += 8) {
      deltas.push({ delta: { tool_calls: [{ index: i, function: { arguments: c.arguments.slice(p, p + 8) } }] }, finish: null });
    }
  });
  deltas.push({ delta: {}, finish: finishReason });

  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-request-id': simId('req_') });
  res.flushHeaders();
  if (!(await sleepUnless(options.llmTtftMs ?? 0, isGone))) {
    stats.chatAborted += 1;
    return;
  }
  const rate = options.llmTokensPerSecond ?? 0;
  const gapMs = rate > 0 && Number.isFinite(rate) ? 1000 / rate : 0;
  const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
  for (let i = 0; i < deltas.length; i++) {
    if (faulty && fault.type === 'drop' && i >= fault.afterChunks) {
      res.destroy();
      stats.chatDropped += 1;
      return;
    }
    if (faulty && fault.type === 'stream_error' && i >= fault.afterChunks) {
      const error = openAiError('The server had an error while processing your request. Sorry about that!', 'server_error', null);
      res.end(`data: ${JSON.stringify(error)}\n\n`);
      stats.chatStreamErrors += 1;
      return;
    }
    const d = deltas[i]!;
    if (i > 1 && gapMs > 0 && !(await sleepUnless(gapMs, isGone))) break;
    if (gone) break;
    const chunk = {
      id, object: 'chat.completion.chunk', created, model: view.model, system_fingerprint: 'fp_sim',
      choices: [{ index: 0, delta: d.delta, logprobs: null, finish_reason: d.finish }],
      ...(includeUsage ? { usage: null } : {}),
    };
    await writeWithBackpressure(res, `data: ${JSON.stringify(chunk)}\n\n`);
  }
  if (gone) {
    stats.chatAborted += 1;
    return;
  }
  if (includeUsage) {
    await writeWithBackpressure(res, `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: view.model, system_fingerprint: 'fp_sim', choices: [], usage })}\n\n`);
  }
  res.end('data: [DONE]\n\n');
  stats.chatCompleted += 1;
}

// ---------------------------------------------------------------- speech

async function handleSpeech(res: ServerResponse, body: Record<string, unknown>, options: OpenAiSimOptions, stats: OpenAiSimStats): Promise<void> {
  stats.speechRequests += 1;
  const input = typeof body.input === 'string' ? body.input : '';
  const format = typeof body.response_format === 'string' ? body.response_format : 'mp3';
  if (typeof body.model !== 'string' || typeof body.voice !== 'string' || input.length === 0) {
    sendJson(res, 400, openAiError("Missing required parameter: 'input', 'model' or 'voice'.", 'invalid_request_error', 'missing_required_parameter'));
    return;
  }
  if (input.length > 4096) {
    sendJson(res, 400, openAiError('Input is longer than 4096 characters.', 'invalid_request_error', 'string_above_max_length'));
    return;
  }
  if (format !== 'pcm' && format !== 'wav') {
    sendJson(res, 400, openAiError(`The simulator only produces 'pcm' and 'wav', not '${format}'.`, 'invalid_request_error', 'unsupported_value'));
    return;
  }
  stats.lastSpeechRequest = { model: body.model, voice: body.voice, response_format: format, input };
  let gone = false;
  res.on('close', () => {
    if (!res.writableFinished) gone = true;
  });
  const pcm = pcm16LeBytes(synthesizeSpeechPattern(input, OPENAI_TTS_SAMPLE_RATE));
  const audio = format === 'wav' ? Buffer.concat([streamingWavHeader(OPENAI_TTS_SAMPLE_RATE), pcm]) : pcm;
  res.writeHead(200, {
    'content-type': format === 'wav' ? 'audio/wav' : 'audio/pcm',
    'transfer-encoding': 'chunked',
    'x-request-id': simId('req_'),
  });
  const done = await streamPaced(res, audio, OPENAI_TTS_SAMPLE_RATE * 2, options.ttsTtfbMs ?? 0, options.ttsSpeed ?? 0, options.ttsChunkBytes ?? 4095, () => gone);
  if (done) stats.speechCompleted += 1;
  else stats.speechAborted += 1;
}
