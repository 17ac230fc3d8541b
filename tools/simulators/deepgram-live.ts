/**
 * A local stand-in for Deepgram's live speech-to-text WebSocket (`/v1/listen`).
 * It speaks the wire protocol the official SDK expects: credentials checked at
 * the upgrade as the real service checks them (deepgram-auth.ts) with
 * Deepgram's 401 JSON body, binary linear16 audio in, the JSON control
 * messages KeepAlive / Finalize / CloseStream, and Results / UtteranceEnd /
 * SpeechStarted / Metadata out in Deepgram's shapes.
 *
 * Speech is found deterministically by energy in 10 ms windows of the audio it
 * receives; each speech segment is given the next scripted transcript. Word
 * timings (`words[].start/end`) follow the audio: when the segment has as many
 * voiced runs (split by 30 ms or more of silence) as the transcript has words,
 * word i is timed to run i (so audio with one burst per word, such as
 * speech-pattern.ts makes, gets exact word times); otherwise the words are
 * spread evenly over the segment. Finals
 * can be held back by `sttFinalDelayMs` (provider latency).
 *
 * `Finalize` as Deepgram documents it: the audio buffered so far is
 * transcribed at once and its final result carries `from_finalize: true`;
 * nothing else changes. A Finalize in a pause of the caller's speech (before
 * endpointing silence) finalizes the segment's words, and if the caller goes
 * on, the rest of the segment is the same utterance (no new scripted
 * transcript), closed later by endpointing or another Finalize with an empty
 * final, as nothing new was said. A segment whose words were finalized and
 * that heard no voice since ends without another result.
 *
 * The real service on a bad day, each behaviour selectable (the `typical`
 * profile turns the realistic ones on, see index.ts):
 * - `finalizeWhenIdle: 'silent'`: a Finalize with no speech buffered gets no
 *   reply (Deepgram: a from_finalize response "typically occurs when there is
 *   a noticeable amount of audio buffered").
 * - `splitSpeechFinal`: the words arrive in an is_final result and the
 *   speech_final that follows is empty (seen in public Deepgram logs).
 * - `interimOnlySegments`: a segment's words show in interim results only; its
 *   final is empty (short "yes"/"no" answers).
 * - `interimIntervalMs`: ~1000 on the real service.
 * - `socketFault`: after N messages drop the TCP connection, close with a
 *   code and reason (1008 DATA-0000, 1011 NET-0000/NET-0001), or stall: stop
 *   answering without closing (a dead path).
 * - `connectFault`: answer the first upgrades with 429 or 5xx.
 */
import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import { credentialAccepted } from './deepgram-auth.ts';
import { listenLocal, simId } from './http-common.ts';

export interface SttSegmentInfo {
  /** Index of this segment across the simulator (segments that reached a final before it). */
  index: number;
  /** 1-based number of the WebSocket connection the segment arrived on. */
  connectionId: number;
}

/** Scripted transcripts: an array used in order (cycled), or a function of the segment. */
export type TranscriptScript = readonly string[] | ((segment: SttSegmentInfo) => string);

/** What happens to a connection once it has sent `afterMessages` messages. */
export type DeepgramSocketFault =
  | { kind: 'drop'; afterMessages: number; connections?: number }
  | { kind: 'close'; code: number; reason: string; afterMessages: number; connections?: number }
  | { kind: 'stall'; afterMessages: number; connections?: number };

export interface DeepgramLiveSimOptions {
  port?: number;
  /** When set only this key is accepted (as `Token`); otherwise any non-empty key is. */
  apiKey?: string;
  /** When set only this access token is accepted (as `Bearer`); otherwise any JWT-shaped token is. */
  accessToken?: string;
  transcripts?: TranscriptScript;
  /** Endpointing used when the client sends none (Deepgram's own default is 10 ms). */
  endpointingMs?: number;
  /** Extra wall-clock delay before each final result is sent (the provider's finalization latency). */
  sttFinalDelayMs?: number;
  /** Audio time between interim results while speech continues. */
  interimIntervalMs?: number;
  /** Mean absolute amplitude (PCM16 scale) at which a 10 ms window counts as speech. */
  energyThreshold?: number;
  /** Close with 1011 (NET-0001) after this long without audio or a text message; 0 disables. */
  idleTimeoutMs?: number;
  /** Fault: terminate the socket abruptly once it has sent this many messages. */
  dropAfterMessages?: number;
  /** How many connections (the first ones) the drop fault applies to; default 1. */
  dropConnections?: number;
  /** Fault for the first `connections` (default 1) connections: drop, close with a code, or stall. */
  socketFault?: DeepgramSocketFault;
  /** Fault: answer the first `count` upgrade requests with this HTTP status (429, 500, 503). */
  connectFault?: { status: number; count: number };
  /** What a Finalize gets when no speech is buffered: an empty from_finalize result (default) or nothing (the real service). */
  finalizeWhenIdle?: 'empty' | 'silent';
  /** Send a segment's words as is_final (speech_final false), then an empty speech_final result. */
  splitSpeechFinal?: boolean;
  /** Segments whose words appear in interim results only (their final is empty). */
  interimOnlySegments?: (segment: SttSegmentInfo) => boolean;
}

export interface DeepgramLiveSimStats {
  connections: number;
  openConnections: number;
  authFailures: number;
  messagesSent: number;
  audioBytes: number;
  /** Binary (audio) WebSocket messages received. */
  audioMessages: number;
  keepAlives: number;
  finalizes: number;
  closeStreams: number;
  finals: number;
  drops: number;
  idleCloses: number;
  /** Connections closed by `socketFault` with a code, and connections stalled by it. */
  faultCloses: number;
  stalls: number;
  /** Upgrades refused by `connectFault`. */
  connectRejects: number;
  /** Query parameters of the most recent accepted connection. */
  lastQuery: Record<string, string>;
}

export interface DeepgramLiveSimulator {
  /** http://127.0.0.1:port (what the SDK takes as a base URL). */
  url: string;
  /** ws://127.0.0.1:port */
  wsUrl: string;
  port: number;
  stats: DeepgramLiveSimStats;
  close(): Promise<void>;
}

const DEFAULT_TRANSCRIPTS = ['hello there', 'i would like to book an appointment', 'yes that works for me', 'thank you goodbye'];
const SUPPORTED_RATES = new Set([8000, 16000, 22050, 24000, 32000, 44100, 48000]);

/**
 * The live simulator's logic without a listener of its own: `upgrade` takes
 * an HTTP upgrade for `/v1/listen` from any node:http server, `request`
 * answers a plain request the way Deepgram answers one without an upgrade.
 * `startDeepgramLiveSimulator` and the combined Deepgram simulator
 * (deepgram.ts) both serve through it.
 */
export interface DeepgramLiveHandler {
  stats: DeepgramLiveSimStats;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  request(req: IncomingMessage, res: ServerResponse): void;
  /** Terminates the open WebSockets (the HTTP listener is the caller's). */
  close(): void;
}

export function createDeepgramLiveHandler(options: Omit<DeepgramLiveSimOptions, 'port'> = {}): DeepgramLiveHandler {
  const stats: DeepgramLiveSimStats = {
    connections: 0,
    openConnections: 0,
    authFailures: 0,
    messagesSent: 0,
    audioBytes: 0,
    audioMessages: 0,
    keepAlives: 0,
    finalizes: 0,
    closeStreams: 0,
    finals: 0,
    drops: 0,
    idleCloses: 0,
    faultCloses: 0,
    stalls: 0,
    connectRejects: 0,
    lastQuery: {},
  };
  const shared = { segmentsFinalized: 0 };
  const wss = new WebSocketServer({ noServer: true });
  // Deepgram names each connection in a response header.
  wss.on('headers', (headers) => {
    headers.push(`dg-request-id: ${simId('')}`);
  });
  return {
    stats,
    request: (_req, res) => {
      res.writeHead(405, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ err_code: 'METHOD_NOT_ALLOWED', err_msg: 'Use a WebSocket upgrade.' }));
    },
    upgrade: (req, socket, head) => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      if (url.pathname !== '/v1/listen') return rejectUpgrade(socket, 404, { err_code: 'NOT_FOUND', err_msg: 'Not found.' });
      if (!credentialAccepted(req, options)) {
        stats.authFailures += 1;
        return rejectUpgrade(socket, 401, { err_code: 'INVALID_AUTH', err_msg: 'Invalid credentials.' });
      }
      const refuse = options.connectFault;
      if (refuse && stats.connectRejects < refuse.count) {
        stats.connectRejects += 1;
        const code = refuse.status === 429 ? 'TOO_MANY_REQUESTS' : 'INTERNAL_SERVER_ERROR';
        return rejectUpgrade(socket, refuse.status, { err_code: code, err_msg: refuse.status === 429 ? 'Too many requests.' : 'Service unavailable.' });
      }
      const query = Object.fromEntries(url.searchParams.entries());
      const problem = validateQuery(query);
      if (problem) return rejectUpgrade(socket, 400, { err_code: 'INVALID_QUERY_PARAMETER', err_msg: problem });
      wss.handleUpgrade(req, socket, head, (ws) => {
        stats.connections += 1;
        stats.openConnections += 1;
        stats.lastQuery = query;
        const session = new ListenSession(ws, query, stats.connections, options, stats, shared);
        ws.on('close', () => {
          stats.openConnections -= 1;
          session.dispose();
        });
      });
    },
    close: () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

export async function startDeepgramLiveSimulator(options: DeepgramLiveSimOptions = {}): Promise<DeepgramLiveSimulator> {
  const handler = createDeepgramLiveHandler(options);
  const http = await listenLocal(options.port ?? 0, handler.request);
  http.server.on('upgrade', handler.upgrade);
  return {
    url: http.url,
    wsUrl: http.url.replace(/^http/, 'ws'),
    port: http.port,
    stats: handler.stats,
    close: async () => {
      handler.close();
      await http.close();
    },
  };
}

function rejectUpgrade(socket: Duplex, status: number, body: { err_code: string; err_msg: string }): void {
  const text = JSON.stringify({ ...body, request_id: simId('') });
  const reason = STATUS_TEXT[status] ?? 'Error';
  socket.write(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(text)}\r\n` +
      `dg-error: ${body.err_msg}\r\nconnection: close\r\n\r\n${text}`,
  );
  socket.destroy();
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

function validateQuery(q: Record<string, string>): string | undefined {
  if (q.encoding !== undefined) {
    if (q.encoding !== 'linear16') return `The simulator only supports encoding=linear16, not ${q.encoding}.`;
    if (q.sample_rate === undefined) return 'sample_rate is required when encoding is set.';
  }
  if (q.sample_rate !== undefined && !SUPPORTED_RATES.has(Number(q.sample_rate))) return 'Invalid sample_rate.';
  if (q.channels !== undefined && q.channels !== '1') return 'The simulator only supports channels=1.';
  return undefined;
}

const truthy = (v: string | undefined): boolean => v === 'true';

interface Outgoing { text: string; dueAt: number }

/** One live transcription connection: audio analysis, scripted results and an ordered, delayable outbox. */
class ListenSession {
  private readonly sampleRate: number;
  private readonly interimResults: boolean;
  private readonly endpointingMs: number | null;
  private readonly utteranceEndMs: number | null;
  private readonly vadEvents: boolean;
  private readonly windowSamples: number;
  private readonly threshold: number;
  private readonly requestId = randomUUID();
  private readonly audioHash: Hash = createHash('sha256');

  private oddByte: number | null = null;
  private windowSum = 0;
  private windowFill = 0;
  private processedSamples = 0;

  private inSpeech = false;
  private segmentStartS = 0;
  private lastVoiceEndS = 0;
  private silenceMs = 0;
  private transcript = '';
  /** The words of this segment show in interims only (`interimOnlySegments`). */
  private interimOnly = false;
  /** The segment's words went out in a final (a Finalize before its endpoint). */
  private wordsFinalized = false;
  /** Voiced audio arrived since the segment's last final: something is buffered to finalize. */
  private voicedSinceFinal = false;
  private wordsShown = 0;
  private lastInterimS = 0;
  private cursorS = 0;
  private utterancePending = false;
  private lastWordEndS = 0;
  /** Voiced runs of the current segment (seconds on this connection). */
  private runs: Array<{ startS: number; endS: number }> = [];

  private readonly outbox: Outgoing[] = [];
  private pumpTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private sentOnThisSocket = 0;
  private closingAfterDrain = false;
  private stalled = false;
  private disposed = false;

  constructor(
    private readonly ws: WebSocket,
    query: Record<string, string>,
    private readonly connectionId: number,
    private readonly options: DeepgramLiveSimOptions,
    private readonly stats: DeepgramLiveSimStats,
    private readonly shared: { segmentsFinalized: number },
  ) {
    this.sampleRate = Number(query.sample_rate ?? 16000);
    this.interimResults = truthy(query.interim_results);
    const ep = query.endpointing;
    this.endpointingMs = ep === 'false' ? null : ep !== undefined && ep !== 'true' ? Number(ep) : (options.endpointingMs ?? 10);
    this.utteranceEndMs = query.utterance_end_ms !== undefined ? Number(query.utterance_end_ms) : null;
    this.vadEvents = truthy(query.vad_events);
    this.windowSamples = Math.round(this.sampleRate / 100);
    this.threshold = options.energyThreshold ?? 300;
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    this.armIdle();
  }

  dispose(): void {
    this.disposed = true;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.pumpTimer = null;
    this.idleTimer = null;
  }

  private armIdle(): void {
    const ms = this.options.idleTimeoutMs ?? 10_000;
    if (ms <= 0 || this.disposed) return;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      if (this.stalled) return; // a dead path closes nothing
      this.stats.idleCloses += 1;
      this.ws.close(1011, 'NET-0001: no audio data or text message received within the timeout window');
    }, ms);
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closingAfterDrain) return;
    this.armIdle();
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (isBinary) {
      if (buf.length === 0) return this.onCloseStream(); // legacy: an empty frame closes the stream
      this.stats.audioBytes += buf.length;
      this.stats.audioMessages += 1;
      this.audioHash.update(buf);
      this.onAudio(buf);
      return;
    }
    let msg: { type?: unknown };
    try {
      msg = JSON.parse(buf.toString('utf8')) as { type?: unknown };
    } catch {
      return;
    }
    if (msg.type === 'KeepAlive') this.stats.keepAlives += 1;
    else if (msg.type === 'Finalize') this.onFinalize();
    else if (msg.type === 'CloseStream') this.onCloseStream();
  }

  private onAudio(buf: Buffer): void {
    let i = 0;
    if (this.oddByte !== null) {
      const sample = ((buf[0] ?? 0) << 8) | this.oddByte;
      this.addSample(sample >= 0x8000 ? sample - 0x10000 : sample);
      this.oddByte = null;
      i = 1;
    }
    for (; i + 1 < buf.length; i += 2) this.addSample(buf.readInt16LE(i));
    if (i < buf.length) this.oddByte = buf[i] ?? 0;
  }

  private addSample(s: number): void {
    this.windowSum += s < 0 ? -s : s;
    this.windowFill += 1;
    if (this.windowFill < this.windowSamples) return;
    const energy = this.windowSum / this.windowFill;
    const startS = this.processedSamples / this.sampleRate;
    this.processedSamples += this.windowFill;
    this.windowSum = 0;
    this.windowFill = 0;
    this.onWindow(energy >= this.threshold, startS, this.processedSamples / this.sampleRate);
  }

  private onWindow(voiced: boolean, startS: number, endS: number): void {
    if (voiced) {
      if (!this.inSpeech) this.beginSegment(startS);
      const run = this.runs[this.runs.length - 1];
      if (run && startS - run.endS < RUN_GAP_S) run.endS = endS;
      else this.runs.push({ startS, endS });
      this.lastVoiceEndS = endS;
      this.silenceMs = 0;
      this.voicedSinceFinal = true;
      if (this.interimResults && !this.wordsFinalized && (endS - this.lastInterimS) * 1000 >= (this.options.interimIntervalMs ?? 300)) {
        this.lastInterimS = endS;
        const words = this.transcript.split(' ').filter(Boolean);
        // The last word stays unconfirmed until the final, unless the final will not carry it.
        const cap = this.interimOnly ? words.length : Math.max(1, words.length - 1);
        this.wordsShown = Math.min(cap, this.wordsShown + 1);
        this.sendResults(words.slice(0, this.wordsShown).join(' '), endS, { isFinal: false, speechFinal: false, fromFinalize: false });
      }
      return;
    }
    if (this.inSpeech) {
      this.silenceMs += 10;
      if (this.endpointingMs !== null && this.silenceMs >= this.endpointingMs) {
        this.finishSegment(endS, true, false);
      } else if (this.endpointingMs === null && this.utteranceEndMs !== null && this.silenceMs >= this.utteranceEndMs) {
        this.finishSegment(endS, false, false);
      }
    }
    if (this.utterancePending && this.utteranceEndMs !== null && (endS - this.lastWordEndS) * 1000 >= this.utteranceEndMs) {
      this.utterancePending = false;
      if (this.interimResults) this.enqueue({ type: 'UtteranceEnd', channel: [0, 1], last_word_end: round3(this.lastWordEndS) }, 0);
    }
  }

  private beginSegment(startS: number): void {
    this.inSpeech = true;
    this.segmentStartS = startS;
    this.runs = [];
    this.lastInterimS = startS;
    this.wordsShown = 0;
    this.utterancePending = false;
    this.wordsFinalized = false;
    this.transcript = this.pickTranscript();
    this.interimOnly = this.options.interimOnlySegments?.({ index: this.shared.segmentsFinalized, connectionId: this.connectionId }) ?? false;
    if (this.vadEvents) this.enqueue({ type: 'SpeechStarted', channel: [0, 1], timestamp: round3(startS) }, 0);
  }

  private pickTranscript(): string {
    const script = this.options.transcripts ?? DEFAULT_TRANSCRIPTS;
    const index = this.shared.segmentsFinalized;
    if (typeof script === 'function') return script({ index, connectionId: this.connectionId }).trim();
    if (script.length === 0) return '';
    return (script[index % script.length] ?? '').trim();
  }

  /** The segment is over (endpointing silence, or the stream closing): its words go out unless a Finalize sent them. */
  private finishSegment(endS: number, speechFinal: boolean, fromFinalize: boolean): void {
    if (!this.wordsFinalized) this.finalizeWords(endS, speechFinal, fromFinalize);
    else if (this.voicedSinceFinal) this.sendFinal('', endS, speechFinal, fromFinalize);
    this.inSpeech = false;
    this.silenceMs = 0;
    this.shared.segmentsFinalized += 1;
    this.lastWordEndS = this.lastVoiceEndS;
    this.utterancePending = this.transcript.length > 0;
  }

  /** The segment's scripted words in a final result. */
  private finalizeWords(endS: number, speechFinal: boolean, fromFinalize: boolean): void {
    this.wordsFinalized = true;
    this.stats.finals += 1;
    const words = this.interimOnly ? '' : this.transcript;
    if (speechFinal && this.options.splitSpeechFinal && words !== '') {
      // The words are finalized first; the endpoint then comes as an empty speech_final.
      this.sendFinal(words, endS, false, fromFinalize);
      this.sendFinal('', endS, true, false);
    } else {
      this.sendFinal(words, endS, speechFinal, fromFinalize);
    }
  }

  private sendFinal(transcript: string, endS: number, speechFinal: boolean, fromFinalize: boolean): void {
    this.sendResults(transcript, endS, { isFinal: true, speechFinal, fromFinalize });
    this.cursorS = endS;
    this.voicedSinceFinal = false;
  }

  private onFinalize(): void {
    this.stats.finalizes += 1;
    const nowS = this.processedSamples / this.sampleRate;
    if (this.inSpeech && !this.wordsFinalized) {
      this.finalizeWords(nowS, false, true);
    } else if (this.inSpeech && this.voicedSinceFinal) {
      this.sendFinal('', nowS, false, true); // more audio, no new words
    } else if (this.options.finalizeWhenIdle !== 'silent') {
      this.sendFinal('', nowS, false, true);
    }
  }

  private onCloseStream(): void {
    this.stats.closeStreams += 1;
    const nowS = this.processedSamples / this.sampleRate;
    if (this.inSpeech) this.finishSegment(nowS, true, false);
    this.enqueue(
      {
        type: 'Metadata',
        transaction_key: 'deprecated',
        request_id: this.requestId,
        sha256: this.audioHash.copy().digest('hex'),
        created: new Date().toISOString(),
        duration: round3(nowS),
        channels: 1,
        models: ['sim-nova-3'],
        model_info: { 'sim-nova-3': { name: 'general-nova-3', version: 'sim', arch: 'nova-3' } },
      },
      0,
    );
    this.closingAfterDrain = true;
    this.pump();
  }

  private sendResults(transcript: string, endS: number, flags: { isFinal: boolean; speechFinal: boolean; fromFinalize: boolean }): void {
    const words = transcript.split(' ').filter(Boolean);
    const spanS = Math.max(0.05, this.lastVoiceEndS - this.segmentStartS);
    const perWord = words.length > 0 ? spanS / words.length : 0;
    const runs = this.runs.length === this.transcript.split(' ').filter(Boolean).length ? this.runs : undefined;
    const timing = (i: number): { start: number; end: number } => runs?.[i]
      ? { start: round3(runs[i]!.startS), end: round3(runs[i]!.endS) }
      : { start: round3(this.segmentStartS + i * perWord), end: round3(this.segmentStartS + (i + 1) * perWord) };
    const message = {
      type: 'Results',
      channel_index: [0, 1],
      duration: round3(Math.max(0, endS - this.cursorS)),
      start: round3(this.cursorS),
      is_final: flags.isFinal,
      speech_final: flags.speechFinal,
      from_finalize: flags.fromFinalize,
      channel: {
        alternatives: [
          {
            transcript,
            confidence: words.length > 0 ? 0.98 : 0,
            words: words.map((word, i) => ({
              word: word.toLowerCase().replace(/[^\p{L}\p{N}']/gu, ''),
              ...timing(i),
              confidence: 0.98,
              punctuated_word: word,
            })),
          },
        ],
      },
      metadata: {
        request_id: this.requestId,
        model_info: { name: 'general-nova-3', version: 'sim', arch: 'nova-3' },
        model_uuid: '00000000-0000-4000-8000-000000000000',
      },
    };
    this.enqueue(message, flags.isFinal ? (this.options.sttFinalDelayMs ?? 0) : 0);
  }

  /** Messages leave in order; a delayed final holds back what follows it, as on a real connection. */
  private enqueue(message: unknown, delayMs: number): void {
    this.outbox.push({ text: JSON.stringify(message), dueAt: performance.now() + delayMs });
    this.pump();
  }

  private pump(): void {
    if (this.pumpTimer || this.disposed) return;
    if (this.stalled) {
      this.outbox.length = 0;
      return;
    }
    while (this.outbox.length > 0) {
      const head = this.outbox[0]!;
      const wait = head.dueAt - performance.now();
      if (wait > 0) {
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = null;
          this.pump();
        }, Math.ceil(wait));
        return;
      }
      this.outbox.shift();
      if (!this.sendNow(head.text)) return;
    }
    if (this.closingAfterDrain && this.ws.readyState === this.ws.OPEN) this.ws.close(1000);
  }

  /** Returns false when a fault knob ended or stalled the socket. */
  private sendNow(text: string): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.ws.send(text);
    this.stats.messagesSent += 1;
    this.sentOnThisSocket += 1;
    const fault = this.socketFault();
    if (!fault || this.connectionId > (fault.connections ?? 1) || this.sentOnThisSocket < fault.afterMessages) return true;
    this.outbox.length = 0;
    if (fault.kind === 'stall') {
      // Reads go on, nothing is sent and nothing closes: what a client sees of a dead path.
      this.stats.stalls += 1;
      this.stalled = true;
      return false;
    }
    if (fault.kind === 'close') {
      this.stats.faultCloses += 1;
      this.ws.close(fault.code, fault.reason);
    } else {
      this.stats.drops += 1;
      this.ws.terminate();
    }
    this.dispose();
    return false;
  }

  private socketFault(): DeepgramSocketFault | undefined {
    const o = this.options;
    if (o.socketFault) return o.socketFault;
    if (o.dropAfterMessages === undefined) return undefined;
    return { kind: 'drop', afterMessages: o.dropAfterMessages, ...(o.dropConnections !== undefined ? { connections: o.dropConnections } : {}) };
  }
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
/** Silence that separates two voiced runs (two words) inside one segment. */
const RUN_GAP_S = 0.03;
