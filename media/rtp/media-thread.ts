/**
 * The media thread: ONE worker thread per process that owns every call's RTP
 * sockets, the port allocators, the 20 ms pacer and the RtpSession engines
 * (media-worker.ts), and ThreadedRtpSession, the main-thread proxy for one of
 * those sessions (it implements RtpStream, like RtpSession itself).
 *
 * Why: outbound packets must leave every 20 ms. On the main thread they wait
 * behind everything else the server does (SIP, the STT/LLM/TTS clients,
 * recording encryption, database calls) and behind its GC pauses; with a
 * few dozen calls that lag is the whole pacing-jitter tail. In the media
 * thread packet I/O and pacing only compete with media work, so the main
 * thread's lag delays what the conversation hears or says by that lag, but
 * never the spacing of packets on the wire. (Media servers split the media
 * plane from signalling the same way.)
 *
 * Messages are batched, never one per packet (media-protocol.ts):
 *  - media thread -> main: one message per pacer tick with every session's
 *    caller frames packed into one transferred ArrayBuffer with an index,
 *    the tick's events (DTMF, talkspurt starts, inactivity, errors...) and one
 *    state row per session (samples taken, queue size, clears applied,
 *    counters);
 *  - main -> media thread: every sendFrame / clearOutgoing / control call made
 *    within one event-loop turn goes in one message, flushed on setImmediate
 *    (agent PCM packed into one transferred Int16Array, ops as an Int32Array).
 *
 * Clocks: a worker's performance.now() may have another origin than the main
 * thread's, so the media thread converts every time it sends (AudioFrame
 * timeMs, talkspurt and DTMF timeMs, lastPacketAt) with the difference of the
 * two threads' performance.timeOrigin. Downstream code measures latency
 * against the main thread's performance.now(), as with an in-thread session.
 *
 * Synchronous getters are mirrors. queuedMs = (samples the media thread had
 * queued at its last report) + (samples main sent since, that it had not yet
 * taken); after clearOutgoing() it counts only what was sent after the clear
 * until the media thread confirms it applied the clear. So queuedMs falls as
 * packets leave (one report per tick) and drops to 0 at once on a clear,
 * so a pipeline sees its own audio drain. What really left is not inferred
 * from that: a session with a 'sent' listener asks the media thread (once) to
 * report each agent frame as its packet leaves, and they come back with the
 * caller frames of the tick (the recorder takes those). clearOutgoing() returns the mirror's estimate: at a
 * barge-in the media thread may still send the one frame whose tick fell
 * between its last report and the clear (`lastClearedMs` is what it really
 * dropped). `stats` is the last state row (at most one tick old; final once
 * close() resolved).
 *
 * Failure: if the worker dies (or hangs: silent for hangTimeoutMs with
 * sessions open, then terminated), every threaded session emits 'error' (when
 * it has a listener) and then 'close' and behaves as closed (the call session
 * ends the call with a BYE); the crash is logged once and the next open
 * starts a fresh worker. The worker is unref'd whenever no session is open,
 * and stopped when the last user (CallManager) releases it, so it never keeps
 * the process alive.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { startTsWorker } from '../worker-boot.ts';
import {
  AUDIO_INDEX_STRIDE, FRAME_SAMPLES, LEG_SENT, MEDIA_WORKER_MARK, OP_CLEAR, OP_CTL, OP_SEND, OP_STRIDE, ST_CLEAR_ACK, ST_LAST_CLEARED_MS,
  ST_LAST_PACKET_AT, ST_LATCHED, ST_QUEUED, ST_RECEIVED, ST_STATS, STATE_STRIDE,
} from './media-protocol.ts';
import type { BatchMessage, Control, FromWorker, ThreadedRtpSessionOptions, WireError, WireEvent, WorkerStartData } from './media-protocol.ts';
import { PortExhaustedError } from './port-allocator.ts';
import { voiceCodec } from '../audio/voice-codec.ts';
import { isDtmfDigit, rtpStatsFromArray, sessionSampleRate } from './session.ts';
import type { RtpCodecChoice, RtpRemote, RtpSessionEvents, RtpSessionOptions, RtpSessionStats } from './session.ts';
import type { RtcpPacket } from './rtcp.ts';
import type { RtpStream, SetCodecOptions } from './stream.ts';

export type { ThreadedRtpSessionOptions } from './media-protocol.ts';

/** Where the crash of a media thread is reported (a pino logger fits). */
export interface MediaThreadLogger {
  error(obj: object, msg: string): void;
}

export class MediaThreadError extends Error {
  override name = 'MediaThreadError';
}

export interface MediaThreadStats {
  /** Workers started so far. */
  starts: number;
  /** Workers that died without being stopped. */
  crashes: number;
  /** Messages each way (batches to the worker, ticks and replies from it). */
  messagesOut: number;
  messagesIn: number;
}

function rebuildError(w: WireError): Error {
  const err = w.name === 'PortExhaustedError' ? new PortExhaustedError(w.message)
    : w.name === 'RangeError' ? new RangeError(w.message)
      : w.name === 'TypeError' ? new TypeError(w.message) : new Error(w.message);
  if (err.name !== w.name) {
    try { err.name = w.name; } catch { /* read-only name */ }
  }
  if (w.code !== undefined) (err as NodeJS.ErrnoException).code = w.code;
  if (w.stack) err.stack = `${err.name}: ${err.message}\n    (in the media thread)\n${w.stack.split('\n').slice(1).join('\n')}`;
  return err;
}

/** Only what may cross the boundary: an RtpSessionOptions passed through would carry an allocator or pacer, which do not clone. */
function wireOptions(o: ThreadedRtpSessionOptions): ThreadedRtpSessionOptions {
  const { ports: _ports, pacer: _pacer, ...wire } = o as ThreadedRtpSessionOptions & Pick<RtpSessionOptions, 'ports' | 'pacer'>;
  return wire;
}

interface Pending {
  resolve: (session: ThreadedRtpSession | undefined) => void;
  reject: (error: Error) => void;
  options?: ThreadedRtpSessionOptions;
}

const OPS_INITIAL = 256 * OP_STRIDE;
const PCM_INITIAL = FRAME_SAMPLES * 64;
const PCM_KEEP_MAX = 1 << 20;

/** One worker's lifetime: its sessions, its pending requests and the main side of the batching. */
class WorkerLink {
  readonly worker: Worker;
  dead = false;
  private stopping = false;
  private readonly sessions = new Map<number, ThreadedRtpSession>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private nextReq = 1;
  private refd = true;
  private exitError: Error | undefined;
  private readonly exited: Promise<void>;
  private resolveExited!: () => void;
  /** Resolves when the worker has loaded (rejects if it died first). */
  readonly ready: Promise<void>;
  private readyCallbacks!: { resolve: () => void; reject: (error: Error) => void };
  // The batch being built in this event-loop turn.
  private ops = new Int32Array(OPS_INITIAL);
  private opsLength = 0;
  private pcm = new Int16Array(PCM_INITIAL);
  private pcmLength = 0;
  private ctl: Control[] = [];
  private flushScheduled = false;
  private readonly flushBound = (): void => this.flush();
  // Hang watchdog: with sessions open the worker reports every tick.
  private lastHeardAt = performance.now();
  private suspect = false;
  private readonly watchdog: NodeJS.Timeout;

  constructor(private readonly owner: MediaThread) {
    const data: WorkerStartData = {
      mark: MEDIA_WORKER_MARK, mainTimeOrigin: performance.timeOrigin,
      ...(owner.niceness !== undefined ? { niceness: owner.niceness } : {}),
    };
    this.worker = startTsWorker(new URL('./media-worker.ts', import.meta.url), { workerData: data });
    this.exited = new Promise((resolve) => { this.resolveExited = resolve; });
    this.ready = new Promise((resolve, reject) => { this.readyCallbacks = { resolve, reject }; });
    this.ready.catch(() => undefined);
    this.worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    this.worker.on('error', (err) => { this.exitError ??= err; });
    this.worker.on('messageerror', (err) => { this.exitError ??= err; void this.worker.terminate(); });
    this.worker.on('exit', (code) => this.onExit(code));
    this.watchdog = setInterval(() => this.checkAlive(), Math.max(50, Math.min(1000, owner.hangTimeoutMs / 2)));
    this.watchdog.unref();
  }

  /**
   * A worker that sends nothing for hangTimeoutMs while it has sessions is stuck (a bug looping):
   * terminate it, so its calls end like a crash's instead of hanging. Judged on two looks in a row,
   * so that a main thread that was itself blocked reads the ticks already waiting before deciding.
   */
  private checkAlive(): void {
    if (this.dead || this.sessions.size === 0) {
      this.suspect = false;
      return;
    }
    const silentMs = performance.now() - this.lastHeardAt;
    if (silentMs < this.owner.hangTimeoutMs) {
      this.suspect = false;
      return;
    }
    if (!this.suspect) {
      this.suspect = true;
      return;
    }
    this.exitError ??= new MediaThreadError(`it stopped responding (${Math.round(silentMs)} ms without a tick)`);
    void this.worker.terminate();
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  open(options: ThreadedRtpSessionOptions): Promise<ThreadedRtpSession> {
    if (this.dead) return Promise.reject(new MediaThreadError('the media thread is not running'));
    const id = this.nextId++;
    const req = this.nextReq++;
    const wire = wireOptions(options);
    return new Promise<ThreadedRtpSession | undefined>((resolve, reject) => {
      this.pending.set(req, { resolve, reject, options: wire });
      this.control(id, { c: 'open', req, options: wire });
      this.updateRef();
    }).then((s) => s!);
  }

  /** Resolves once the media thread has closed the session (or died). */
  close(id: number, reason: string | undefined): Promise<void> {
    if (this.dead) return Promise.resolve();
    const req = this.nextReq++;
    return new Promise<void>((resolve) => {
      this.pending.set(req, { resolve: () => resolve(), reject: () => resolve() });
      const c: Control = { c: 'close', req };
      if (reason !== undefined) c.reason = reason;
      this.control(id, c);
      this.updateRef();
    });
  }

  // ------------------------------------------------------------ batching (main -> media thread)

  send(id: number, pcm: Int16Array): void {
    if (this.dead) return;
    const need = this.pcmLength + pcm.length;
    if (need > this.pcm.length) {
      let size = this.pcm.length * 2;
      while (size < need) size *= 2;
      const grown = new Int16Array(size);
      grown.set(this.pcm.subarray(0, this.pcmLength));
      this.pcm = grown;
    }
    this.pcm.set(pcm, this.pcmLength);
    this.op(OP_SEND, id, this.pcmLength, pcm.length);
    this.pcmLength = need;
  }

  clear(id: number, seq: number): void {
    if (!this.dead) this.op(OP_CLEAR, id, seq, 0);
  }

  control(id: number, c: Control): void {
    if (this.dead) return;
    this.op(OP_CTL, id, this.ctl.length, 0);
    this.ctl.push(c);
  }

  private op(op: number, id: number, a: number, b: number): void {
    if (this.opsLength + OP_STRIDE > this.ops.length) {
      const grown = new Int32Array(this.ops.length * 2);
      grown.set(this.ops);
      this.ops = grown;
    }
    const o = this.opsLength;
    this.ops[o] = op;
    this.ops[o + 1] = id;
    this.ops[o + 2] = a;
    this.ops[o + 3] = b;
    this.opsLength = o + OP_STRIDE;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.flushBound);
    }
  }

  /** Sends this turn's batch: one message, the ops and the PCM transferred (copied out of the reused scratch buffers). */
  flush(): void {
    this.flushScheduled = false;
    if (this.opsLength === 0) return;
    const ops = this.ops.slice(0, this.opsLength);
    const pcm = this.pcmLength > 0 ? this.pcm.slice(0, this.pcmLength) : null;
    const msg: BatchMessage = { t: 'batch', ops, pcm, ctl: this.ctl };
    this.opsLength = 0;
    this.pcmLength = 0;
    this.ctl = [];
    if (this.pcm.length > PCM_KEEP_MAX) this.pcm = new Int16Array(PCM_INITIAL);
    if (this.dead) return;
    try {
      this.worker.postMessage(msg, pcm ? [ops.buffer, pcm.buffer] : [ops.buffer]);
      this.owner.counters.messagesOut++;
    } catch (err) {
      // Nothing we build should fail to clone; if it does, the sessions cannot be trusted any more.
      this.exitError ??= err instanceof Error ? err : new Error(String(err));
      void this.worker.terminate();
    }
  }

  // ------------------------------------------------------------ from the media thread

  private onMessage(msg: FromWorker): void {
    this.owner.counters.messagesIn++;
    this.lastHeardAt = performance.now();
    switch (msg.t) {
      case 'tick': this.onTick(msg.buf, msg.sessions, msg.frames, msg.events); break;
      case 'opened': {
        const p = this.pending.get(msg.req);
        if (!p) break;
        this.pending.delete(msg.req);
        const session = new ThreadedRtpSession(this, msg.id, msg.localAddress, msg.localPort, msg.ssrc, p.options!);
        session.applyState(msg.state, 0);
        this.sessions.set(msg.id, session);
        p.resolve(session);
        break;
      }
      case 'open-failed': {
        const p = this.pending.get(msg.req);
        this.pending.delete(msg.req);
        p?.reject(rebuildError(msg.error));
        break;
      }
      case 'closed': {
        const s = this.sessions.get(msg.id);
        if (s && msg.state) s.applyState(msg.state, 0);
        this.sessions.delete(msg.id);
        const p = this.pending.get(msg.req);
        this.pending.delete(msg.req);
        p?.resolve(undefined);
        break;
      }
      case 'ready': this.owner.priorityNote = msg.priorityNote ?? ''; this.readyCallbacks.resolve(); break;
    }
    this.updateRef();
  }

  private onTick(buf: ArrayBuffer, sessions: number, frames: number, events: WireEvent[] | null): void {
    const indexAt = sessions * STATE_STRIDE;
    const f64 = new Float64Array(buf, 0, indexAt + frames * AUDIO_INDEX_STRIDE);
    // State first: listeners of this tick's audio (the recorder) see the queue as it is after this tick's send.
    for (let o = 0; o < indexAt; o += STATE_STRIDE) this.sessions.get(f64[o]!)?.applyState(f64, o);
    const pcm = new Int16Array(buf, f64.byteLength);
    let e = 0;
    let at = 0;
    const nEvents = events ? events.length : 0;
    for (let k = 0; k < frames; k++) {
      while (e < nEvents && events![e]!.at <= k) this.dispatch(events![e++]!);
      const o = indexAt + k * AUDIO_INDEX_STRIDE;
      const session = this.sessions.get(f64[o]!);
      const samples = f64[o + 3]!;
      if (f64[o + 2] === LEG_SENT) session?.deliverSent(pcm, at, samples, f64[o + 1]!);
      else session?.deliverAudio(pcm, at, samples, f64[o + 1]!);
      at += samples;
    }
    while (e < nEvents) this.dispatch(events![e++]!);
  }

  private dispatch(ev: WireEvent): void {
    this.sessions.get(ev.id)?.deliverEvent(ev);
  }

  // ------------------------------------------------------------ lifetime

  private updateRef(): void {
    if (this.dead) return;
    const busy = this.sessions.size > 0 || this.pending.size > 0;
    if (busy === this.refd) return;
    this.refd = busy;
    if (busy) this.worker.ref();
    else this.worker.unref();
  }

  /** Tests: the worker dies of an uncaught exception, as a real crash would. */
  crash(): void {
    this.control(0, { c: 'crash' });
    this.flush();
  }

  /** Tests: the worker busy-loops for `ms`. */
  hang(ms: number): void {
    this.control(0, { c: 'hang', ms });
    this.flush();
  }

  async stop(): Promise<void> {
    if (!this.dead) {
      this.stopping = true;
      await this.worker.terminate().catch(() => undefined);
    }
    await this.exited;
  }

  private onExit(code: number): void {
    if (this.dead) return;
    this.dead = true;
    clearInterval(this.watchdog);
    const crashed = !this.stopping;
    const detail = this.exitError ? `: ${this.exitError.message}` : '';
    const error = new MediaThreadError(crashed ? `the media thread died (exit code ${code})${detail}` : 'the media thread was stopped');
    if (crashed) this.owner.onCrash(this, error, this.exitError);
    this.readyCallbacks.reject(error);
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    for (const s of sessions) s.fail(crashed ? error : undefined);
    this.resolveExited();
  }
}

/**
 * The process's media thread (one per process: MediaThread.shared()). Started
 * lazily by the first open(); a CallManager acquire()s it and its release
 * stops the thread once the last user is gone.
 */
export class MediaThread {
  private static instance: MediaThread | undefined;
  private link: WorkerLink | undefined;
  private users = 0;
  private logger: MediaThreadLogger | undefined;
  /** A worker silent this long while it has sessions is taken for hung and terminated (its calls end as on a crash). */
  hangTimeoutMs = 5000;
  /**
   * Scheduling priority (nice) the next worker gives its own thread, e.g. -10: on a box where
   * every core is busy, a higher-priority media thread gets a core sooner when its 20 ms tick
   * is due. Lowering nice needs CAP_SYS_NICE; without it the thread keeps its priority
   * (reported through `priorityNote`). Undefined: inherit the process's.
   */
  niceness: number | undefined;
  /** What became of `niceness` in the current worker ('' until it reported). */
  priorityNote = '';
  /** @internal counters; read through `stats`. */
  readonly counters: MediaThreadStats = { starts: 0, crashes: 0, messagesOut: 0, messagesIn: 0 };

  static shared(): MediaThread {
    MediaThread.instance ??= new MediaThread();
    return MediaThread.instance;
  }

  /** Registers a user; the returned function releases it, and stops the thread when it was the last one. */
  acquire(logger?: MediaThreadLogger): () => Promise<void> {
    this.users++;
    if (logger) this.logger = logger;
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.users--;
      if (this.users === 0) await this.stop();
    };
  }

  /** Opens a session in the media thread (starting it if needed); rejects as RtpSession.open would (e.g. PortExhaustedError). */
  async open(options: ThreadedRtpSessionOptions): Promise<ThreadedRtpSession> {
    sessionSampleRate(options); // the same RangeError as RtpSession.open, before anything crosses
    return this.currentLink().open(options);
  }

  /**
   * Starts the worker now rather than at the first open() (loading it takes a few hundred ms, which
   * the first call would otherwise wait for); resolves once it is ready. It stays unref'd until a session opens.
   */
  async warmUp(): Promise<void> {
    await this.currentLink().ready;
  }

  private currentLink(): WorkerLink {
    if (!this.link || this.link.dead) {
      this.link = new WorkerLink(this);
      this.counters.starts++;
    }
    return this.link;
  }

  get running(): boolean {
    return this.link !== undefined && !this.link.dead;
  }

  /** Sessions open in the current worker. */
  get sessionCount(): number {
    return this.link && !this.link.dead ? this.link.sessionCount : 0;
  }

  get stats(): MediaThreadStats {
    return { ...this.counters };
  }

  /** Terminates the worker; its sessions still open emit 'close' (no 'error'). The next open() starts a new one. */
  async stop(): Promise<void> {
    const link = this.link;
    this.link = undefined;
    if (link) await link.stop();
  }

  /** Tests only: makes the media thread die of an uncaught exception. */
  simulateCrash(): void {
    this.link?.crash();
  }

  /** Tests only: makes the media thread stop responding for `ms` (the hang watchdog should end it). */
  simulateHang(ms: number): void {
    this.link?.hang(ms);
  }

  /** @internal */
  onCrash(link: WorkerLink, error: MediaThreadError, cause: Error | undefined): void {
    this.counters.crashes++;
    if (this.link === link) this.link = undefined;
    const sessions = link.sessionCount;
    if (this.logger) this.logger.error({ err: cause ?? error, sessions }, 'the media thread died; its calls are ended, new calls start a new one');
    else process.emitWarning(`${error.message}; ${sessions} RTP session(s) ended`, 'MediaThreadWarning');
  }
}

/**
 * Main-thread proxy of an RtpSession running in the media thread. Same
 * surface and events as RtpSession (RtpStream); see the header for the
 * mirrored getters.
 */
export class ThreadedRtpSession extends EventEmitter<RtpSessionEvents> implements RtpStream {
  readonly localAddress: string;
  readonly localPort: number;
  readonly ssrc: number;
  /** PCM rate of the audio events and sendFrame, as in the media thread's session (sessionSampleRate; setCodec's adoptRate). */
  private rate: number;
  private closed = false;
  private closeEmitted = false;
  private reportingSent = false;
  private closing: Promise<void> | undefined;
  private sending: boolean;
  private receiving: boolean;
  private tePayloadType: number | undefined;
  // The outgoing-queue mirror, in samples (see the header).
  private enqueued = 0;
  private workerReceived = 0;
  private workerQueued = 0;
  private clearSeq = 0;
  private clearAck = 0;
  private enqueuedAtClear = 0;
  /** The media thread's last state row for this session (counters included). */
  private readonly state = new Float64Array(STATE_STRIDE);

  /** @internal created by MediaThread.open */
  constructor(private readonly link: WorkerLink, readonly id: number, localAddress: string, localPort: number, ssrc: number, options: ThreadedRtpSessionOptions) {
    super();
    this.localAddress = localAddress;
    this.localPort = localPort;
    this.ssrc = ssrc;
    this.rate = sessionSampleRate(options);
    this.sending = options.send ?? true;
    this.receiving = options.receive ?? true;
    this.tePayloadType = options.telephoneEventPayloadType;
    this.state[ST_LAST_PACKET_AT] = performance.now();
    // The first 'sent' listener asks the media thread to report the agent frames that leave (off by default: a copy each).
    (this as EventEmitter).on('newListener', (event: string | symbol) => {
      if (event !== 'sent' || this.reportingSent || this.closed) return;
      this.reportingSent = true;
      this.link.control(this.id, { c: 'report-sent' });
    });
  }

  get sampleRate(): number {
    return this.rate;
  }

  get isLatched(): boolean {
    return this.state[ST_LATCHED] === 1;
  }
  get isSending(): boolean {
    return this.sending;
  }
  get isReceiving(): boolean {
    return this.receiving;
  }
  get lastPacketAt(): number {
    return this.state[ST_LAST_PACKET_AT]!;
  }
  /** Ms the media thread really dropped at the last clear it applied (clearOutgoing returns the estimate). */
  get lastClearedMs(): number {
    return this.state[ST_LAST_CLEARED_MS]!;
  }

  sendFrame(pcm: Int16Array): void {
    if (this.closed || !this.sending || pcm.length === 0) return;
    this.link.send(this.id, pcm);
    this.enqueued += pcm.length;
  }

  clearOutgoing(): number {
    const ms = this.queuedMs;
    this.clearSeq++;
    this.enqueuedAtClear = this.enqueued;
    if (!this.closed) this.link.clear(this.id, this.clearSeq);
    return ms;
  }

  get queuedMs(): number {
    const samples = this.clearAck < this.clearSeq
      ? this.enqueued - this.enqueuedAtClear
      : this.workerQueued + (this.enqueued - this.workerReceived);
    return (Math.max(0, samples) * 1000) / this.sampleRate;
  }

  sendDtmf(digit: string, durationMs = 100): boolean {
    if (this.closed || this.tePayloadType === undefined || !isDtmfDigit(digit)) return false;
    this.link.control(this.id, { c: 'dtmf', digit, ms: durationMs });
    return true;
  }

  get stats(): RtpSessionStats {
    return rtpStatsFromArray(this.state, ST_STATS);
  }

  setCodec(codec: RtpCodecChoice, telephoneEventPayloadType?: number, comfortNoisePayloadType?: number, options: SetCodecOptions = {}): void {
    const rate = voiceCodec(codec.name).sampleRate; // throws like RtpSession.setCodec
    this.tePayloadType = telephoneEventPayloadType;
    if (this.closed) return;
    const c: Control = { c: 'codec', codec: { name: codec.name, payloadType: codec.payloadType } };
    if (telephoneEventPayloadType !== undefined) c.te = telephoneEventPayloadType;
    if (comfortNoisePayloadType !== undefined) c.cn = comfortNoisePayloadType;
    // The media thread's session applies the same rule (RtpSession.setCodec) on the same facts: nothing received, nothing queued.
    if (options.adoptRate && rate !== this.rate && this.stats.packetsIn === 0 && this.enqueued === 0) {
      c.adoptRate = true;
      this.rate = rate;
    }
    this.link.control(this.id, c);
  }

  setRemote(remote: RtpRemote): void {
    if (!this.closed) this.link.control(this.id, { c: 'remote', remote });
  }

  setDirection(direction: { send: boolean; receive: boolean }): void {
    if (!direction.send && this.sending) this.clearOutgoing();
    this.sending = direction.send;
    this.receiving = direction.receive;
    if (!this.closed) this.link.control(this.id, { c: 'direction', send: direction.send, receive: direction.receive });
  }

  close(reason?: string): Promise<void> {
    if (this.closing) return this.closing;
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.closing = this.link.close(this.id, reason).then(() => this.emitClose());
    return this.closing;
  }

  /** @internal a state row from the media thread. */
  applyState(row: Float64Array, o: number): void {
    this.workerReceived = row[o + ST_RECEIVED]!;
    this.workerQueued = row[o + ST_QUEUED]!;
    this.clearAck = row[o + ST_CLEAR_ACK]!;
    const state = this.state;
    for (let i = ST_CLEAR_ACK; i < STATE_STRIDE; i++) state[i] = row[o + i]!;
  }

  /** @internal one caller frame (copied: listeners may keep it). */
  deliverAudio(pcm: Int16Array, offset: number, samples: number, timeMs: number): void {
    if (this.closed || this.listenerCount('audio') === 0) return;
    try {
      this.emit('audio', { kind: 'audio', pcm: pcm.slice(offset, offset + samples), sampleRate: this.sampleRate, timeMs });
    } catch (err) {
      this.reportError(err); // as an in-thread session's tick does: one listener's failure is not the other calls'
    }
  }

  /** @internal one agent frame that left (copied: listeners may keep it). */
  deliverSent(pcm: Int16Array, offset: number, samples: number, timeMs: number): void {
    if (this.closed || this.listenerCount('sent') === 0) return;
    try {
      this.emit('sent', { kind: 'audio', pcm: pcm.slice(offset, offset + samples), sampleRate: this.sampleRate, timeMs });
    } catch (err) {
      this.reportError(err);
    }
  }

  /** @internal */
  deliverEvent(ev: WireEvent): void {
    if (this.closed) return;
    try {
      switch (ev.e) {
        case 'dtmf': this.emit('dtmf', { kind: 'dtmf', digit: ev.digit, durationMs: ev.durationMs, timeMs: ev.timeMs }); break;
        case 'talkspurt': this.emit('talkspurt', { timeMs: ev.timeMs }); break;
        case 'inactive': this.emit('inactive', { idleMs: ev.idleMs }); break;
        case 'latched': this.emit('latched', { address: ev.address, port: ev.port }); break;
        case 'rtcp': this.emit('rtcp', ev.packets as RtcpPacket[]); break;
        case 'bye': this.emit('bye', ev.reason !== undefined ? { reason: ev.reason } : {}); break;
        case 'error': this.reportError(rebuildError(ev.error)); break;
      }
    } catch (err) {
      this.reportError(err);
    }
  }

  /** @internal the media thread is gone: 'error' (when there is a crash to report), then closed. */
  fail(error: Error | undefined): void {
    this.closed = true;
    this.enqueued = 0;
    this.workerReceived = 0;
    this.workerQueued = 0;
    this.clearAck = this.clearSeq;
    if (error) this.reportError(error);
    this.emitClose();
  }

  private emitClose(): void {
    if (this.closeEmitted) return;
    this.closeEmitted = true;
    this.emit('close');
  }

  private reportError(err: unknown): void {
    if (this.listenerCount('error') === 0) return;
    try {
      this.emit('error', err instanceof Error ? err : new Error(String(err)));
    } catch {
      // an error listener's own failure goes nowhere
    }
  }
}
