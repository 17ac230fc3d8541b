/**
 * The wire between the main thread (MediaThread, ThreadedRtpSession in
 * media-thread.ts) and the media thread (media-worker.ts). Shared constants
 * and message shapes only; see media-thread.ts for the design.
 *
 * Main -> media thread: at most ONE `batch` per main event-loop turn. `ops`
 * is a flat Int32Array of 4-int records [op, sessionId, a, b] applied in
 * order; OP_SEND's samples are in `pcm` (Int16Array, transferred) at
 * [a, a + b); OP_CTL's control object is `ctl[a]` (open, close, DTMF, codec,
 * remote, direction: rare, so plain objects).
 *
 * Media thread -> main: ONE `tick` per pacer tick (several ticks when the
 * pacer caught up after a stall), in one transferred ArrayBuffer:
 *   Float64 [sessions * STATE_STRIDE]  one state row per open session
 *   Float64 [frames * 4]               audio index: sessionId, timeMs, leg, samples
 *   Int16   [sum of samples]           the audio frames, in order: the caller's
 *                                      (LEG_CALLER) and, for a session whose
 *                                      owner listens to 'sent', the agent frames
 *                                      that left (LEG_SENT); 160 samples for an
 *                                      8 kHz session, 320 for 16 kHz (G.722)
 * plus `events` (DTMF, talkspurt, inactive, latched, RTCP, BYE, errors) as
 * plain objects, each with `at` = how many audio frames of this tick precede
 * it, so the main thread replays everything in the media thread's order.
 * Every time in a message is already on the main thread's performance.now()
 * clock (the worker adds its timeOrigin difference).
 */
import type { PortRange } from './port-allocator.ts';
import { FRAME_SAMPLES, RTP_STATS_LENGTH } from './session.ts';
import type { RtpSessionOptions } from './session.ts';

export const OP_SEND = 1;
export const OP_CLEAR = 2;
export const OP_CTL = 3;
export const OP_STRIDE = 4;

// A session's state row.
export const ST_ID = 0;
/** Samples the worker has taken from OP_SENDs for this session, since it opened. */
export const ST_RECEIVED = 1;
/** Samples waiting in the worker's outgoing queue. */
export const ST_QUEUED = 2;
/** The last OP_CLEAR sequence number the worker has applied. */
export const ST_CLEAR_ACK = 3;
/** lastPacketAt, main-thread clock. */
export const ST_LAST_PACKET_AT = 4;
export const ST_LATCHED = 5;
/** Ms the last applied clear actually dropped in the worker. */
export const ST_LAST_CLEARED_MS = 6;
export const ST_STATS = 7;
export const STATE_STRIDE = ST_STATS + RTP_STATS_LENGTH;

export const AUDIO_INDEX_STRIDE = 4;
/** Audio index leg: a caller frame played out. */
export const LEG_CALLER = 0;
/** Audio index leg: an agent frame that left in an RTP packet. */
export const LEG_SENT = 1;
export { FRAME_SAMPLES };

/** RtpSession options that can cross the thread boundary: a port range instead of an allocator, no pacer. */
export type ThreadedRtpSessionOptions = Omit<RtpSessionOptions, 'ports' | 'pacer'> & {
  /** RTP port range (the allocator for it lives in the media thread); omitted: ephemeral ports. */
  portRange?: PortRange;
};

export interface WireError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export type Control =
  | { c: 'open'; req: number; options: ThreadedRtpSessionOptions }
  | { c: 'close'; req: number; reason?: string }
  | { c: 'dtmf'; digit: string; ms: number }
  | { c: 'codec'; codec: { name: string; payloadType: number }; te?: number; cn?: number; adoptRate?: boolean }
  | { c: 'remote'; remote: { address: string; port: number; rtcpPort?: number } }
  | { c: 'direction'; send: boolean; receive: boolean }
  /** The owner listens to 'sent': report the agent frames that leave (they cost a copy each, so only on request). */
  | { c: 'report-sent' }
  /** Tests: make the media thread die of an uncaught exception. */
  | { c: 'crash' }
  /** Tests: make the media thread stop responding (a busy loop) for `ms`. */
  | { c: 'hang'; ms: number };

export interface BatchMessage {
  t: 'batch';
  ops: Int32Array;
  pcm: Int16Array | null;
  ctl: Control[];
}

/** workerData.mark of the media thread (the entry module runs only when it sees it). */
export const MEDIA_WORKER_MARK = 'smartalex-media-thread';

export interface WorkerStartData {
  mark: string;
  /** performance.timeOrigin of the main thread. */
  mainTimeOrigin: number;
  /** Scheduling priority (nice, -20..19) for the media thread itself; undefined leaves it as inherited. */
  niceness?: number;
}

export type WireEvent =
  | { id: number; at: number; e: 'dtmf'; digit: string; durationMs: number; timeMs: number }
  | { id: number; at: number; e: 'talkspurt'; timeMs: number }
  | { id: number; at: number; e: 'inactive'; idleMs: number }
  | { id: number; at: number; e: 'latched'; address: string; port: number }
  | { id: number; at: number; e: 'rtcp'; packets: unknown[] }
  | { id: number; at: number; e: 'bye'; reason?: string }
  | { id: number; at: number; e: 'error'; error: WireError };

export type FromWorker =
  | { t: 'ready'; priorityNote?: string }
  | { t: 'tick'; buf: ArrayBuffer; sessions: number; frames: number; events: WireEvent[] | null }
  | { t: 'opened'; req: number; id: number; localPort: number; localAddress: string; ssrc: number; state: Float64Array }
  | { t: 'open-failed'; req: number; id: number; error: WireError }
  | { t: 'closed'; req: number; id: number; state: Float64Array | null };

export function toWireError(err: unknown): WireError {
  if (err instanceof Error) {
    const out: WireError = { name: err.name, message: err.message };
    const code = (err as NodeJS.ErrnoException).code;
    if (typeof code === 'string') out.code = code;
    if (err.stack) out.stack = err.stack;
    return out;
  }
  return { name: 'Error', message: String(err) };
}
