/**
 * One RTP leg's counters, and their flat row of numbers: the media thread
 * sends every session's counters to the main thread each tick as one row,
 * without building objects. The row is generated from the field lists below
 * (plain counters, drop reasons, jitter buffer counters, in that order), so
 * the writer (RtpSession.statsInto), the reader (rtpStatsFromArray) and the
 * metrics exporter cannot drift apart: a field added to RtpSessionStats
 * fails to compile until it is in its list.
 */
import type { RtpParseError } from './packet.ts';
import type { JitterBufferStats } from './jitter-buffer.ts';

/** 'foreign-source': RTP or RTCP from an address that is neither the SDP nor the signalling address; 'wrong-source': RTP not from the latched address and port. */
export type DropReason = RtpParseError | 'foreign-source' | 'wrong-source' | 'unknown-pt' | 'not-receiving' | 'srtp' | 'srtcp';

export interface RtpSessionStats {
  packetsIn: number;
  bytesIn: number;
  packetsOut: number;
  bytesOut: number;
  /** Cumulative lost packets per RFC 3550 A.3. */
  lost: number;
  /** Interarrival jitter in ms (RFC 3550 A.8). */
  jitterMs: number;
  dropped: Record<DropReason, number>;
  comfortNoise: number;
  ssrcChanges: number;
  dtmfIn: number;
  dtmfOut: number;
  rtcpIn: number;
  rtcpOut: number;
  /** Outgoing 20 ms frames waiting to be sent. */
  queuedFrames: number;
  /** Frames dropped because the outgoing queue was over its bound. */
  queueOverflow: number;
  /** Packets sent late, in a burst, for ticks an event-loop stall made the pacer skip. */
  catchUpPackets: number;
  /** Missed ticks older than maxCatchUpFrames, left as a gap in the timestamps. */
  gapTicks: number;
  /** Silence frames sent while the agent had nothing to say (continuous RTP). */
  silenceOut: number;
  /** Comfort noise SID packets sent (continuous RTP with CN negotiated). */
  comfortNoiseOut: number;
  jitterBuffer: JitterBufferStats;
}

/** The plain numeric fields of RtpSessionStats. */
export type RtpCounter = Exclude<keyof RtpSessionStats, 'dropped' | 'jitterBuffer'>;

/** Every plain counter, in row order. */
export const RTP_COUNTERS = [
  'packetsIn', 'bytesIn', 'packetsOut', 'bytesOut', 'lost', 'jitterMs', 'comfortNoise', 'ssrcChanges', 'dtmfIn', 'dtmfOut',
  'rtcpIn', 'rtcpOut', 'queuedFrames', 'queueOverflow', 'catchUpPackets', 'gapTicks', 'silenceOut', 'comfortNoiseOut',
] as const satisfies readonly RtpCounter[];

/** Every drop reason, in row order. */
export const DROP_REASONS = [
  'too-short', 'bad-version', 'bad-csrc', 'bad-extension', 'bad-padding', 'foreign-source', 'wrong-source', 'unknown-pt', 'not-receiving', 'srtp', 'srtcp',
] as const satisfies readonly DropReason[];

/** Every jitter buffer counter, in row order. */
export const JITTER_COUNTERS = [
  'pushed', 'played', 'duplicates', 'late', 'lost', 'underruns', 'overflowDrops', 'resets',
  'depthFrames', 'peakDepthFrames', 'depthFrameTicks', 'depthTicks', 'shrinkDrops', 'growHolds', 'catchUpPlayed',
] as const satisfies readonly (keyof JitterBufferStats)[];

// Compile-time completeness: each list names every field of its type (a missing one makes `true` fail to assign).
type Complete<All, Listed> = [Exclude<All, Listed>] extends [never] ? true : { missing: Exclude<All, Listed> };
const complete: [Complete<RtpCounter, (typeof RTP_COUNTERS)[number]>, Complete<DropReason, (typeof DROP_REASONS)[number]>, Complete<keyof JitterBufferStats, (typeof JITTER_COUNTERS)[number]>] = [true, true, true];
void complete;

const DROPS_AT = RTP_COUNTERS.length;
const JITTER_AT = DROPS_AT + DROP_REASONS.length;
/** Numbers in one RtpSessionStats row. */
export const RTP_STATS_LENGTH = JITTER_AT + JITTER_COUNTERS.length;

/** Writes one row at `o` (no allocation). */
export function writeRtpStats(
  out: Float64Array, o: number, counters: Readonly<Record<RtpCounter, number>>, dropped: Readonly<Record<DropReason, number>>, jitter: Readonly<JitterBufferStats>,
): void {
  for (let i = 0; i < RTP_COUNTERS.length; i++) out[o + i] = counters[RTP_COUNTERS[i]!];
  for (let i = 0; i < DROP_REASONS.length; i++) out[o + DROPS_AT + i] = dropped[DROP_REASONS[i]!];
  for (let i = 0; i < JITTER_COUNTERS.length; i++) out[o + JITTER_AT + i] = jitter[JITTER_COUNTERS[i]!];
}

/** Rebuilds RtpSessionStats from a row written by writeRtpStats. */
export function rtpStatsFromArray(a: ArrayLike<number>, o = 0): RtpSessionStats {
  const counters = {} as Record<RtpCounter, number>;
  for (let i = 0; i < RTP_COUNTERS.length; i++) counters[RTP_COUNTERS[i]!] = a[o + i]!;
  const dropped = {} as Record<DropReason, number>;
  for (let i = 0; i < DROP_REASONS.length; i++) dropped[DROP_REASONS[i]!] = a[o + DROPS_AT + i]!;
  const jitterBuffer = {} as JitterBufferStats;
  for (let i = 0; i < JITTER_COUNTERS.length; i++) jitterBuffer[JITTER_COUNTERS[i]!] = a[o + JITTER_AT + i]!;
  return { ...counters, dropped, jitterBuffer };
}
