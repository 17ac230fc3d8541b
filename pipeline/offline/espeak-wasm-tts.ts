/**
 * Offline text to speech that ships on npm: eSpeak NG compiled to
 * JavaScript/WebAssembly (@echogarden/espeak-ng-emscripten, GPL-3.0, voice
 * data included, 22050 Hz PCM16). The default TTS when no provider key is set
 * and the Debian espeak-ng program is not installed.
 *
 * Why a child process: the engine synthesizes synchronously (40-60 ms of CPU
 * per second of speech, a whole sentence per call) and would stall the event
 * loop that paces the media; and it is GPL-3.0, so it runs as a separate
 * program spoken to over a pipe, the same arms-length relation as the Debian
 * espeak-ng binary, never loaded into the server's own process (a worker
 * thread would share the process). One child serves the whole server,
 * forked on first use (about 1 s to load and warm up), requests in order;
 * when it dies the next request forks a new one.
 *
 * Why this package: SVOX Pico (@echogarden/svoxpico-wasm, Apache-2.0) ships
 * the engine without its voice files; the `espeak-ng` npm package is the
 * espeak-ng command line in WASM, re-instantiated per utterance (~0.5 s each).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ProviderError, type TextToSpeech } from '../providers/types.ts';

export interface EspeakWasmOptions {
  /** Voice when synthesize() gets none. Default `en-us`. */
  voice?: string;
  /** Words per minute. Default 175 (espeak-ng's own default). */
  wordsPerMinute?: number;
}

const CHILD_ENTRY = fileURLToPath(new URL('./espeak-wasm-child.mjs', import.meta.url));
const READY_TIMEOUT_MS = 30_000;
const VOICE_PATTERN = /^[A-Za-z0-9+_-]{1,64}$/;
export const ESPEAK_WASM_SAMPLE_RATE = 22050;

type FromChild =
  | { type: 'ready'; sampleRate: number }
  | { type: 'audio'; id: number; pcm: Int16Array }
  | { type: 'done'; id: number }
  | { type: 'error'; id?: number; message: string };

/** One request's chunks as they arrive, for the async iterator to take. */
class Channel {
  readonly chunks: Int16Array[] = [];
  ended = false;
  error: Error | undefined;
  private wake: (() => void) | undefined;

  push(pcm: Int16Array): void {
    this.chunks.push(pcm);
    this.notify();
  }
  end(error?: Error): void {
    this.ended = true;
    this.error ??= error;
    this.notify();
  }
  wait(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }
  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** The child process and the requests it has not finished. */
class EspeakWasmHost {
  private child: ChildProcess | undefined;
  private ready: Promise<void> | undefined;
  private readonly channels = new Map<number, Channel>();
  /** Requests waiting for the child to start. */
  private starting = 0;
  private nextId = 1;

  /** Forks the child if none is running; resolves once it has loaded the engine. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const child = fork(CHILD_ENTRY, [], { execArgv: [], serialization: 'advanced', stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    this.child = child;
    let stderr = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => {
      if (stderr.length < 2000) stderr += d;
    });
    // An idle child must not keep the server's process alive: neither its process handle, nor its stderr pipe,
    // nor (while no request waits) its IPC channel.
    child.unref();
    (child.stderr as (NodeJS.ReadableStream & { unref?: () => void }) | null)?.unref?.();
    child.channel?.unref();
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error('eSpeak NG (WebAssembly) did not start in time'));
        child.kill('SIGKILL');
      }, READY_TIMEOUT_MS);
      timer.unref();
      child.on('message', (message: FromChild) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (message.type === 'error' && message.id === undefined) {
          clearTimeout(timer);
          reject(new Error(message.message));
        } else this.onMessage(message);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const error = new Error(`eSpeak NG (WebAssembly) process exited (${signal ?? `code ${code}`})${stderr ? `: ${stderr.trim().slice(0, 200)}` : ''}`);
        reject(error);
        if (this.child === child) {
          this.child = undefined;
          this.ready = undefined;
        }
        for (const channel of this.channels.values()) channel.end(error);
        this.channels.clear();
      });
      // `on`, not `once`: a later failed send also emits 'error', and an unhandled one would throw in the server.
      child.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
        if (this.child === child && child.exitCode === null && child.signalCode === null && child.pid === undefined) {
          this.child = undefined; // never spawned: the next request tries again
          this.ready = undefined;
        }
      });
    });
    ready.catch(() => {}); // observed by the requests that wait on it
    this.ready = ready;
    return ready;
  }

  async request(text: string, voice: string, wordsPerMinute: number): Promise<{ id: number; channel: Channel }> {
    const starting = this.start();
    // While a request waits or is open the child keeps the process alive (its answer is awaited).
    this.starting += 1;
    this.refWhileBusy();
    try {
      await starting;
    } finally {
      this.starting -= 1;
      this.refWhileBusy();
    }
    const child = this.child;
    if (!child?.connected) throw new Error('eSpeak NG (WebAssembly) process is not running');
    const id = this.nextId++;
    const channel = new Channel();
    this.channels.set(id, channel);
    this.refWhileBusy();
    child.send({ type: 'synthesize', id, text, voice, wordsPerMinute }, (error) => {
      if (error) channel.end(error); // the child went away meanwhile; its exit ends the other requests
    });
    return { id, channel };
  }

  /** The caller stopped listening: drop its channel; a request still queued in the child is skipped there. */
  release(id: number): void {
    if (!this.channels.delete(id)) return;
    if (this.child?.connected) this.child.send({ type: 'cancel', id }, () => {}); // a failed send: nothing to cancel
    this.refWhileBusy();
  }

  private onMessage(message: FromChild): void {
    if (message.type === 'ready' || message.id === undefined) return;
    const channel = this.channels.get(message.id);
    if (!channel) return;
    if (message.type === 'audio') channel.push(message.pcm);
    else {
      channel.end(message.type === 'error' ? new Error(message.message) : undefined);
      this.channels.delete(message.id);
      this.refWhileBusy();
    }
  }

  /** The child (its IPC channel, and its exit) holds the event loop open only while some request waits on it. */
  private refWhileBusy(): void {
    if (this.channels.size > 0 || this.starting > 0) {
      this.child?.ref();
      this.child?.channel?.ref();
    } else {
      this.child?.unref();
      this.child?.channel?.unref();
    }
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Ends the child (tests, shutdown). */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.ref(); // the caller awaits the exit
    child.kill('SIGTERM');
    await exited;
  }
}

const sharedHost = new EspeakWasmHost();

/** Starts the shared child ahead of the first call (optional: the first synthesize() starts it too). */
export function prewarmEspeakWasm(): Promise<void> {
  return sharedHost.start();
}

/** The shared child's process id while one runs (the benchmark reads its CPU time). */
export function espeakWasmPid(): number | undefined {
  return sharedHost.pid;
}

/** Stops the shared child, if one runs. */
export function stopEspeakWasm(): Promise<void> {
  return sharedHost.stop();
}

export class EspeakWasmTextToSpeech implements TextToSpeech {
  readonly name = 'espeak-ng-wasm';
  readonly sampleRate = ESPEAK_WASM_SAMPLE_RATE;
  private readonly defaultVoice: string;
  private readonly wordsPerMinute: number;

  constructor(options: EspeakWasmOptions = {}) {
    this.defaultVoice = options.voice ?? 'en-us';
    this.wordsPerMinute = options.wordsPerMinute ?? 175;
  }

  async *synthesize(text: string, opts: { voice?: string; signal: AbortSignal }): AsyncIterable<Int16Array> {
    const voice = opts.voice ?? this.defaultVoice;
    if (!VOICE_PATTERN.test(voice)) throw new ProviderError(this.name, 'invalid voice name (letters, digits, + _ - only)');
    const clean = text.replace(/\s+/g, ' ').trim();
    if (opts.signal.aborted || clean === '') return;

    let opened: { id: number; channel: Channel };
    try {
      opened = await sharedHost.request(clean, voice, this.wordsPerMinute);
    } catch (error) {
      throw new ProviderError(this.name, (error as Error).message, { cause: error });
    }
    const { id, channel } = opened;
    const wakeOnAbort = (): void => channel.end();
    opts.signal.addEventListener('abort', wakeOnAbort, { once: true });
    try {
      for (;;) {
        if (opts.signal.aborted) return;
        const pcm = channel.chunks.shift();
        if (pcm) {
          yield pcm;
          continue;
        }
        if (channel.ended) break;
        await channel.wait();
      }
      if (opts.signal.aborted) return;
      if (channel.error) throw new ProviderError(this.name, channel.error.message, { cause: channel.error });
    } finally {
      opts.signal.removeEventListener('abort', wakeOnAbort);
      sharedHost.release(id);
    }
  }
}
