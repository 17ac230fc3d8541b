/**
 * SpeechToText over Deepgram's live WebSocket through the official
 * `@deepgram/sdk` (`listen.v1.connect`): linear16 mono at the call's rate,
 * interim results, endpointing, utterance-end and VAD events.
 *
 * What this adapter adds on top of the SDK:
 * - KeepAlive while no audio flows (Deepgram closes idle sockets after ~10 s).
 * - finalize() sends Finalize (queued across a reconnect).
 * - Audio goes out in chunks of `sendChunkMs` (default 100 ms), not one
 *   WebSocket message per 20 ms frame: per-frame writes were the largest item
 *   of the server's main thread at 50 calls. finalize() and close() send what
 *   is buffered first, so the end of an utterance is never held back.
 * - Reconnect without losing the turn: every pushed frame is kept until a
 *   final result covers it (Results carry start + duration in the
 *   connection's audio timeline); after an unexpected drop a new connection is
 *   opened, the uncovered audio is replayed, and `reconnected` is emitted.
 *   The SDK's own reconnect is switched off because it neither replays audio
 *   nor tells us which audio was lost.
 * - Close codes are classified (Deepgram reports errors as close frames:
 *   1008 DATA-0000 bad audio, 1011 NET-0000 / NET-0001 timeouts): after a
 *   bad-data close the rejected audio is not replayed; every reconnect,
 *   whatever the cause (close, 429/5xx at the upgrade, silence), counts
 *   against one budget per sliding window with exponential back-off, and no
 *   message resets it, so a connection that fails after each result cannot
 *   loop.
 * - An empty speech_final is passed on: the words were finalized earlier and
 *   the endpoint came on its own. A Finalize that gets no reply within
 *   `finalizeTimeoutMs` while no unfinalized speech is pending is answered
 *   here with an empty fromFinalize final (Deepgram replies to Finalize only
 *   when audio is buffered).
 * - A watchdog for sockets that die without a close frame: while speech is
 *   pending (SpeechStarted, interim words or a Finalize with no closing
 *   result yet) and audio is being sent, `watchdogMs` without any message
 *   replaces the connection and replays the uncovered audio.
 */
import { DeepgramClient, type DeepgramEnvironmentUrls } from '@deepgram/sdk';
import { EventQueue } from './event-queue.ts';
import { redactSecrets } from './provider-error.ts';
import { ProviderError, type SpeechToText, type SttEvent, type SttStream, type SttWord } from './types.ts';

export interface DeepgramSttOptions {
  /** An API key, sent as `Authorization: Token <key>`. */
  apiKey: string;
  /** A temporary access token (JWT from /v1/auth/grant), sent as `Bearer` instead of the key. */
  accessToken?: string;
  /** REST base URL, e.g. http://127.0.0.1:9000 (the WebSocket URL is derived: http→ws). Default: Deepgram. */
  baseUrl?: string;
  /** Explicit WebSocket base (ws:// or wss://) when it differs from `baseUrl`. */
  wsUrl?: string;
  model?: string;
  /** Default language when stream() gets none; default `en`. */
  language?: string;
  /** Silence (ms) after which Deepgram marks speech_final; false disables. Default 300. */
  endpointingMs?: number | false;
  /** Gap (ms) in words after which Deepgram sends UtteranceEnd; 0 disables. Default 1000. */
  utteranceEndMs?: number;
  interimResults?: boolean;
  vadEvents?: boolean;
  smartFormat?: boolean;
  /** Send KeepAlive when no audio was sent for this long. Default 4000. */
  keepAliveIntervalMs?: number;
  /** Reconnect attempts allowed within `reconnectWindowMs` before giving up. Default 5. */
  maxReconnectAttempts?: number;
  /** The sliding window the reconnect budget counts over. Default 60000. */
  reconnectWindowMs?: number;
  /** Backoff base for the 2nd and later attempts in the window (the first is immediate). Default 200. */
  reconnectBackoffMs?: number;
  /** A Finalize unanswered this long, with no unfinalized speech pending, counts as answered (empty). Default 500. */
  finalizeTimeoutMs?: number;
  /** Silence from the server this long while speech is pending and audio is sent replaces the connection. Default 2000. */
  watchdogMs?: number;
  /** Upper bound on audio kept for replay. Default 30000. */
  maxReplayMs?: number;
  /** Audio is sent in chunks of this many ms (Deepgram suggests 20-100); 0 sends every push at once. Default 100. */
  sendChunkMs?: number;
  connectTimeoutMs?: number;
  /** How long close() waits for the server to flush and close. Default 2000. */
  closeTimeoutMs?: number;
}

/** The SDK's environment for a self-hosted or simulated Deepgram at `baseUrl`. */
export function deepgramEnvironment(baseUrl: string, wsUrl?: string): DeepgramEnvironmentUrls {
  const rest = baseUrl.replace(/\/+$/, '');
  const ws = (wsUrl ?? rest.replace(/^http/i, 'ws')).replace(/\/+$/, '');
  return { base: rest, production: ws, agent: ws, agentRest: rest };
}

export class DeepgramStt implements SpeechToText {
  readonly name = 'deepgram';
  private readonly client: DeepgramClient;

  constructor(private readonly options: DeepgramSttOptions) {
    const env = options.baseUrl || options.wsUrl
      ? deepgramEnvironment(options.baseUrl ?? (options.wsUrl ?? '').replace(/^ws/i, 'http'), options.wsUrl)
      : undefined;
    this.client = new DeepgramClient({
      apiKey: options.apiKey,
      ...(options.accessToken ? { accessToken: options.accessToken } : {}),
      ...(env ? { environment: env } : {}),
    });
  }

  stream(opts: { sampleRate: number; language?: string; signal?: AbortSignal }): SttStream {
    return new DeepgramSttStream(this.client, this.options, opts);
  }
}

type ListenSocket = Awaited<ReturnType<DeepgramClient['listen']['v1']['connect']>>;

/** The fields of Deepgram's live messages this adapter reads. */
type ListenMessage =
  | {
      type: 'Results';
      start: number;
      duration: number;
      is_final?: boolean;
      speech_final?: boolean;
      from_finalize?: boolean;
      channel: { alternatives: Array<{ transcript: string; words?: Array<{ word: string; punctuated_word?: string; start: number; end: number }> }> };
    }
  | { type: 'UtteranceEnd' | 'SpeechStarted' | 'Metadata' };

/** Close codes after which the audio just sent must not be sent again (RFC 6455 1002/1007/1008: the data was refused). */
const BAD_DATA_CLOSE = new Set([1002, 1007, 1008]);

interface BufferedAudio { start: number; pcm: Int16Array }

class DeepgramSttStream implements SttStream {
  private readonly queue = new EventQueue<SttEvent>();
  private readonly sampleRate: number;
  private readonly language: string;
  private socket: ListenSocket | null = null;
  private generation = 0;
  private openGeneration = -1;
  private everOpened = false;
  /** Start times of recent reconnect attempts (the sliding-window budget). */
  private readonly reconnects: number[] = [];
  private reconnectTimer: NodeJS.Timeout | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private superviseTimer: NodeJS.Timeout | null = null;
  private lastSendAt = performance.now();
  private lastMessageAt = performance.now();
  private openedAt = performance.now();
  private pendingFinalize = false;
  /** When the outstanding Finalize was sent; null when none awaits its answer. */
  private finalizeSentAt: number | null = null;
  /** Speech the server has shown (SpeechStarted, interim words) and not yet finalized. */
  private speechPending = false;
  private watchStartAt = 0;
  private closing = false;
  private closedPromise: Promise<void> | null = null;
  private socketClosed: (() => void) | null = null;

  /** Audio since the last final, with absolute sample positions. */
  private readonly replay: BufferedAudio[] = [];
  private replaySamples = 0;
  private pushedSamples = 0;
  /** Absolute sample index that is time 0 of the current connection. */
  private connectionOffset = 0;
  private readonly maxReplaySamples: number;
  /** Audio pushed but not sent yet (coalescing to chunkSamples). */
  private readonly chunk: Int16Array;
  private chunkLength = 0;

  constructor(
    private readonly client: DeepgramClient,
    private readonly options: DeepgramSttOptions,
    opts: { sampleRate: number; language?: string; signal?: AbortSignal },
  ) {
    this.sampleRate = opts.sampleRate;
    this.language = opts.language ?? options.language ?? 'en';
    this.maxReplaySamples = Math.round(((options.maxReplayMs ?? 30_000) * opts.sampleRate) / 1000);
    this.chunk = new Int16Array(Math.max(0, Math.round(((options.sendChunkMs ?? 100) * opts.sampleRate) / 1000)));
    if (opts.signal) {
      if (opts.signal.aborted) {
        void this.close();
        return;
      }
      opts.signal.addEventListener('abort', () => void this.close(), { once: true });
    }
    const keepAliveMs = options.keepAliveIntervalMs ?? 4000;
    if (keepAliveMs > 0) {
      this.keepAliveTimer = setInterval(() => this.keepAlive(keepAliveMs), Math.max(50, keepAliveMs / 2));
      this.keepAliveTimer.unref();
    }
    this.superviseTimer = setInterval(() => this.supervise(), 100);
    this.superviseTimer.unref();
    void this.connect();
  }

  push(pcm: Int16Array): void {
    if (this.closing || pcm.length === 0) return;
    const size = this.chunk.length;
    if (size === 0) return this.sendAudio(pcm.slice());
    let offset = 0;
    while (offset < pcm.length) {
      const n = Math.min(size - this.chunkLength, pcm.length - offset);
      this.chunk.set(pcm.subarray(offset, offset + n), this.chunkLength);
      this.chunkLength += n;
      offset += n;
      if (this.chunkLength === size) this.flushAudio();
    }
  }

  /** Sends the audio buffered for the current chunk, if any. */
  private flushAudio(): void {
    if (this.chunkLength === 0) return;
    const copy = this.chunk.slice(0, this.chunkLength);
    this.chunkLength = 0;
    this.sendAudio(copy);
  }

  /** Keeps `copy` for replay and sends it when the socket is open. */
  private sendAudio(copy: Int16Array): void {
    this.replay.push({ start: this.pushedSamples, pcm: copy });
    this.pushedSamples += copy.length;
    this.replaySamples += copy.length;
    while (this.replaySamples > this.maxReplaySamples && this.replay.length > 1) {
      this.replaySamples -= this.replay.shift()!.pcm.length;
    }
    const socket = this.openSocket();
    if (!socket) return;
    try {
      socket.sendMedia(copy);
      this.lastSendAt = performance.now();
    } catch {
      // The socket is going away; its close handler reconnects and replays this frame.
    }
  }

  finalize(): void {
    if (this.closing) return;
    this.flushAudio();
    this.watch();
    const socket = this.openSocket();
    if (!socket) {
      this.pendingFinalize = true;
      return;
    }
    try {
      socket.sendFinalize({ type: 'Finalize' });
      this.finalizeSentAt = performance.now();
    } catch {
      this.pendingFinalize = true;
    }
  }

  events(): AsyncIterable<SttEvent> {
    return this.queue;
  }

  close(): Promise<void> {
    if (this.closedPromise) return this.closedPromise;
    if (!this.closing) this.flushAudio();
    this.closing = true;
    this.stopTimers();
    const socket = this.openSocket();
    if (!socket) {
      this.generation += 1; // any connection attempt in flight is now stale
      this.socket?.close();
      this.socket = null;
      this.queue.end();
      this.closedPromise = Promise.resolve();
      return this.closedPromise;
    }
    this.closedPromise = new Promise<void>((resolve) => {
      const timeout = setTimeout(() => finish(), this.options.closeTimeoutMs ?? 2000);
      const finish = (): void => {
        clearTimeout(timeout);
        this.socketClosed = null;
        this.generation += 1;
        socket.close();
        this.socket = null;
        this.queue.end();
        resolve();
      };
      this.socketClosed = finish;
      try {
        // Deepgram flushes what it has, sends Metadata and closes the socket.
        socket.sendCloseStream({ type: 'CloseStream' });
      } catch {
        finish();
      }
    });
    return this.closedPromise;
  }

  // ------------------------------------------------------------ connection

  private openSocket(): ListenSocket | null {
    return this.socket && this.openGeneration === this.generation && this.socket.readyState === 1 ? this.socket : null;
  }

  private connectArgs(): Parameters<DeepgramClient['listen']['v1']['connect']>[0] {
    const o = this.options;
    const endpointing = o.endpointingMs ?? 300;
    const utteranceEnd = o.utteranceEndMs ?? 1000;
    return {
      model: o.model ?? 'nova-3',
      language: this.language,
      encoding: 'linear16',
      sample_rate: this.sampleRate,
      channels: 1,
      interim_results: o.interimResults === false ? 'false' : 'true',
      endpointing: endpointing === false ? 'false' : endpointing,
      ...(utteranceEnd > 0 ? { utterance_end_ms: utteranceEnd } : {}),
      vad_events: o.vadEvents === false ? 'false' : 'true',
      smart_format: o.smartFormat === false ? 'false' : 'true',
      // This adapter reconnects itself (with audio replay); the SDK must not.
      reconnectAttempts: 0,
      shouldReconnect: () => false,
      connectionTimeoutInSeconds: (o.connectTimeoutMs ?? 5000) / 1000,
    };
  }

  private async connect(): Promise<void> {
    const gen = ++this.generation;
    let socket: ListenSocket | null = null;
    try {
      socket = await this.client.listen.v1.connect(this.connectArgs());
      if (gen !== this.generation || this.closing) {
        socket.close();
        return;
      }
      this.socket = socket;
      socket.on('message', (m) => {
        if (gen === this.generation) this.onMessage(m as ListenMessage);
      });
      socket.on('close', (event) => {
        if (gen === this.generation && this.openGeneration === gen) this.onSocketClosed(event.code, event.reason);
      });
      socket.on('error', () => undefined); // failures surface through waitForOpen or close
      socket.connect();
      await socket.waitForOpen();
    } catch (err) {
      if (gen !== this.generation || this.closing) return;
      this.socket = null;
      socket?.close();
      const message = errorText(err);
      if (/\b(401|403)\b/.test(message)) {
        this.fail(new ProviderError('deepgram', `authentication failed (${/\b403\b/.test(message) ? 'HTTP 403' : 'HTTP 401'})`));
        return;
      }
      if (/\b400\b/.test(message)) {
        this.fail(new ProviderError('deepgram', redactSecrets(`connection refused (HTTP 400): ${message}`, [this.options.apiKey, this.options.accessToken])));
        return;
      }
      this.scheduleReconnect(message); // 429, 5xx, network: retried within the budget
      return;
    }
    if (gen !== this.generation || this.closing) {
      socket.close();
      return;
    }
    this.onOpen(socket, gen);
  }

  private onOpen(socket: ListenSocket, gen: number): void {
    this.openGeneration = gen;
    this.openedAt = performance.now();
    this.connectionOffset = this.replay[0]?.start ?? this.pushedSamples;
    try {
      for (const chunk of this.replay) socket.sendMedia(chunk.pcm);
      if (this.pendingFinalize) {
        socket.sendFinalize({ type: 'Finalize' });
        this.pendingFinalize = false;
        this.finalizeSentAt = performance.now();
      }
      this.lastSendAt = performance.now();
    } catch {
      return; // dropped again at once; the close handler takes over
    }
    if (this.everOpened) this.queue.push({ type: 'reconnected' });
    this.everOpened = true;
  }

  private onSocketClosed(code: number | undefined, reason: string | undefined): void {
    this.openGeneration = -1;
    this.socket = null;
    if (this.closing) {
      this.socketClosed?.();
      return;
    }
    const why = `closed with ${code ?? 'no code'}${reason ? ` (${reason.slice(0, 80)})` : ''}`;
    if (code !== undefined && BAD_DATA_CLOSE.has(code)) {
      // The server refused this audio: sending it again would be refused again.
      this.replay.length = 0;
      this.replaySamples = 0;
    }
    this.scheduleReconnect(why);
  }

  /** The connection went quiet while it owed us results: replace it and replay what is uncovered. */
  private replaceSilentSocket(): void {
    const socket = this.socket;
    this.generation += 1; // the old socket's events are stale from here on
    this.openGeneration = -1;
    this.socket = null;
    socket?.close();
    if (this.finalizeSentAt !== null) this.pendingFinalize = true;
    this.finalizeSentAt = null;
    this.scheduleReconnect(`no message for ${this.options.watchdogMs ?? 2000} ms while speech was pending`);
  }

  private scheduleReconnect(reason: string): void {
    if (this.closing || this.reconnectTimer) return;
    const now = performance.now();
    const windowMs = this.options.reconnectWindowMs ?? 60_000;
    while (this.reconnects.length > 0 && now - this.reconnects[0]! > windowMs) this.reconnects.shift();
    this.reconnects.push(now);
    const attempt = this.reconnects.length;
    const max = this.options.maxReconnectAttempts ?? 5;
    if (attempt > max) {
      const what = this.everOpened ? `connection lost; ${max} reconnect attempts failed` : 'could not connect';
      this.fail(new ProviderError('deepgram', redactSecrets(`${what}: ${reason}`, [this.options.apiKey, this.options.accessToken])));
      return;
    }
    const base = this.options.reconnectBackoffMs ?? 200;
    const delay = attempt === 1 ? 0 : Math.min(base * 2 ** (attempt - 2), 5000);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      void this.connect();
    }, delay);
  }

  private fail(error: ProviderError): void {
    this.closing = true;
    this.stopTimers();
    this.generation += 1;
    this.socket?.close();
    this.socket = null;
    this.queue.push({ type: 'error', error });
    this.queue.end();
    this.closedPromise ??= Promise.resolve();
  }

  private stopTimers(): void {
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.superviseTimer) clearInterval(this.superviseTimer);
    this.keepAliveTimer = null;
    this.reconnectTimer = null;
    this.superviseTimer = null;
  }

  /** Results are owed from now on (speech shown or a Finalize sent): start the watchdog's clock if it is not running. */
  private watch(): void {
    if (!this.speechPending && this.finalizeSentAt === null && !this.pendingFinalize) this.watchStartAt = performance.now();
  }

  /** The Finalize deadline and the dead-socket watchdog. */
  private supervise(): void {
    const socket = this.openSocket();
    if (!socket) return;
    const now = performance.now();
    const sent = this.finalizeSentAt;
    if (sent !== null && !this.speechPending && now - sent >= (this.options.finalizeTimeoutMs ?? 500)) {
      // Nothing unfinalized is buffered, so Deepgram will not answer: no more words are coming.
      this.finalizeSentAt = null;
      this.queue.push({ type: 'final', text: '', speechFinal: false, fromFinalize: true });
      return;
    }
    const owed = this.speechPending || this.finalizeSentAt !== null;
    const quietSince = Math.max(this.lastMessageAt, this.watchStartAt, this.openedAt);
    if (owed && this.lastSendAt > quietSince && now - quietSince >= (this.options.watchdogMs ?? 2000)) this.replaceSilentSocket();
  }

  private keepAlive(intervalMs: number): void {
    const socket = this.openSocket();
    if (!socket || performance.now() - this.lastSendAt < intervalMs) return;
    try {
      socket.sendKeepAlive({ type: 'KeepAlive' });
      this.lastSendAt = performance.now();
    } catch {
      // closing; handled by the close event
    }
  }

  // ------------------------------------------------------------ results

  private onMessage(m: ListenMessage): void {
    // Any message shows the connection is alive (the watchdog); none resets the reconnect budget.
    this.lastMessageAt = performance.now();
    switch (m.type) {
      case 'Results': {
        const alternative = m.channel.alternatives[0];
        const text = alternative?.transcript ?? '';
        if (m.is_final) {
          const words = this.timedWords(alternative?.words);
          this.releaseAudioBefore(m.start + m.duration);
          const closes = m.speech_final === true || m.from_finalize === true;
          this.speechPending = false; // a final covers what was shown
          if (closes) this.finalizeSentAt = null;
          // An empty speech_final closes the utterance whose words came in earlier finals.
          if (text.length > 0 || closes) {
            this.queue.push({
              type: 'final', text, speechFinal: m.speech_final === true, fromFinalize: m.from_finalize === true, ...(words ? { words } : {}),
            });
          }
        } else if (text.length > 0) {
          this.watch();
          this.speechPending = true;
          this.queue.push({ type: 'interim', text });
        }
        return;
      }
      case 'SpeechStarted':
        this.watch();
        this.speechPending = true;
        return;
      case 'UtteranceEnd':
        this.speechPending = false;
        this.finalizeSentAt = null;
        this.queue.push({ type: 'utterance_end' });
        return;
      default:
        return; // Metadata carries nothing the interface needs
    }
  }

  /** Deepgram's words (seconds on this connection) on the stream's timeline (ms since the first sample pushed). */
  private timedWords(words: Array<{ word: string; punctuated_word?: string; start: number; end: number }> | undefined): SttWord[] | undefined {
    if (!words || words.length === 0) return undefined;
    const offsetMs = (this.connectionOffset * 1000) / this.sampleRate;
    return words.map((w) => ({ word: w.punctuated_word ?? w.word, startMs: offsetMs + w.start * 1000, endMs: offsetMs + w.end * 1000 }));
  }

  /** Final results cover audio up to `endSeconds` of this connection: that audio never needs replaying. */
  private releaseAudioBefore(endSeconds: number): void {
    const cutoff = this.connectionOffset + Math.round(endSeconds * this.sampleRate);
    while (this.replay.length > 0) {
      const head = this.replay[0]!;
      const end = head.start + head.pcm.length;
      if (end <= cutoff) {
        this.replay.shift();
        this.replaySamples -= head.pcm.length;
        continue;
      }
      if (head.start < cutoff) {
        const drop = cutoff - head.start;
        head.pcm = head.pcm.subarray(drop);
        head.start = cutoff;
        this.replaySamples -= drop;
      }
      break;
    }
  }
}

function errorText(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'message' in err) return String((err as { message: unknown }).message);
  return String(err);
}
