/**
 * SpeechToText over Deepgram's live WebSocket through the official
 * `@deepgram/sdk` (`listen.v1.connect`): linear16 mono at the call's rate,
 * interim results, endpointing, utterance-end and VAD events.
 *
 * What this adapter adds on top of the SDK:
 * - KeepAlive while no audio flows (Deepgram closes idle sockets after ~10 s).
 * - finalize() sends Finalize (queued across a reconnect).
 * - Reconnect without losing the turn: every pushed frame is kept until a
 *   final result covers it (Results carry start + duration in the
 *   connection's audio timeline); after an unexpected drop a new connection is
 *   opened, the uncovered audio is replayed, and `reconnected` is emitted.
 *   The SDK's own reconnect is switched off because it neither replays audio
 *   nor tells us which audio was lost.
 */
import { DeepgramClient, type DeepgramEnvironmentUrls } from '@deepgram/sdk';
import { EventQueue } from './event-queue.ts';
import { redactSecrets } from './provider-error.ts';
import { ProviderError, type SpeechToText, type SttEvent, type SttStream } from './types.ts';

export interface DeepgramSttOptions {
  apiKey: string;
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
  /** Consecutive reconnect attempts before giving up. Default 5. */
  maxReconnectAttempts?: number;
  /** Backoff base for the 2nd and later attempts (the first is immediate). Default 200. */
  reconnectBackoffMs?: number;
  /** Upper bound on audio kept for replay. Default 30000. */
  maxReplayMs?: number;
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
    this.client = new DeepgramClient({ apiKey: options.apiKey, ...(env ? { environment: env } : {}) });
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
      channel: { alternatives: Array<{ transcript: string }> };
    }
  | { type: 'UtteranceEnd' | 'SpeechStarted' | 'Metadata' };

interface BufferedAudio { start: number; pcm: Int16Array }

class DeepgramSttStream implements SttStream {
  private readonly queue = new EventQueue<SttEvent>();
  private readonly sampleRate: number;
  private readonly language: string;
  private socket: ListenSocket | null = null;
  private generation = 0;
  private openGeneration = -1;
  private everOpened = false;
  private attempts = 0;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private lastSendAt = performance.now();
  private pendingFinalize = false;
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

  constructor(
    private readonly client: DeepgramClient,
    private readonly options: DeepgramSttOptions,
    opts: { sampleRate: number; language?: string; signal?: AbortSignal },
  ) {
    this.sampleRate = opts.sampleRate;
    this.language = opts.language ?? options.language ?? 'en';
    this.maxReplaySamples = Math.round(((options.maxReplayMs ?? 30_000) * opts.sampleRate) / 1000);
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
    void this.connect();
  }

  push(pcm: Int16Array): void {
    if (this.closing || pcm.length === 0) return;
    const copy = pcm.slice();
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
    const socket = this.openSocket();
    if (!socket) {
      this.pendingFinalize = true;
      return;
    }
    try {
      socket.sendFinalize({ type: 'Finalize' });
    } catch {
      this.pendingFinalize = true;
    }
  }

  events(): AsyncIterable<SttEvent> {
    return this.queue;
  }

  close(): Promise<void> {
    if (this.closedPromise) return this.closedPromise;
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
      socket.on('close', () => {
        if (gen === this.generation && this.openGeneration === gen) this.onSocketClosed();
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
      this.scheduleReconnect(message);
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
    this.connectionOffset = this.replay[0]?.start ?? this.pushedSamples;
    try {
      for (const chunk of this.replay) socket.sendMedia(chunk.pcm);
      if (this.pendingFinalize) {
        socket.sendFinalize({ type: 'Finalize' });
        this.pendingFinalize = false;
      }
      this.lastSendAt = performance.now();
    } catch {
      return; // dropped again at once; the close handler takes over
    }
    if (this.everOpened) this.queue.push({ type: 'reconnected' });
    this.everOpened = true;
  }

  private onSocketClosed(): void {
    this.openGeneration = -1;
    this.socket = null;
    if (this.closing) {
      this.socketClosed?.();
      return;
    }
    this.scheduleReconnect('connection closed unexpectedly');
  }

  private scheduleReconnect(reason: string): void {
    if (this.closing || this.reconnectTimer) return;
    this.attempts += 1;
    const max = this.options.maxReconnectAttempts ?? 5;
    if (this.attempts > max) {
      const what = this.everOpened ? `connection lost; ${max} reconnect attempts failed` : 'could not connect';
      this.fail(new ProviderError('deepgram', redactSecrets(`${what}: ${reason}`, [this.options.apiKey])));
      return;
    }
    const base = this.options.reconnectBackoffMs ?? 200;
    const delay = this.attempts === 1 ? 0 : Math.min(base * 2 ** (this.attempts - 2), 5000);
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
    this.keepAliveTimer = null;
    this.reconnectTimer = null;
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
    // A message from the new connection shows it works: later drops start a fresh backoff.
    this.attempts = 0;
    switch (m.type) {
      case 'Results': {
        const text = m.channel.alternatives[0]?.transcript ?? '';
        if (m.is_final) {
          this.releaseAudioBefore(m.start + m.duration);
          if (text.length > 0 || m.from_finalize) {
            this.queue.push({ type: 'final', text, speechFinal: m.speech_final === true, fromFinalize: m.from_finalize === true });
          }
        } else if (text.length > 0) {
          this.queue.push({ type: 'interim', text });
        }
        return;
      }
      case 'UtteranceEnd':
        this.queue.push({ type: 'utterance_end' });
        return;
      default:
        return; // SpeechStarted and Metadata carry nothing the interface needs
    }
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
