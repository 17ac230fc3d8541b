/**
 * What the call path counts, on the server's /metrics registry, named by
 * floor: smartalex_sip_* (the SIP transport and the calls it carries; its
 * calls_* series count the calls of every way in, SIP, WebRTC and streams),
 * smartalex_rtp_* (every RTP leg's counters, summed over live and ended
 * calls), smartalex_media_thread_* and smartalex_vad_* (the two worker
 * threads on the media path). Values are read when /metrics is scraped
 * (prom-client `collect`), never on the media path; the RTP counters come
 * from the same field lists as the stats row (media/rtp/rtp-stats.ts), so a
 * new RTP counter is exported without touching this file.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  DROP_REASONS, JITTER_COUNTERS, MediaThread, RTP_COUNTERS, type RtpCounter, type RtpSessionStats,
} from '../../media/rtp/index.ts';
import type { TransportStats } from '../../media/sip/index.ts';
import type { EndReason } from '../../pipeline/index.ts';
import type { CallRefusal } from './call-limit.ts';
import type { CallSession } from './call-session.ts';
import { SipCallSession } from './sip-call-session.ts';

/** Counters of the VAD model (pipeline/vad SileroStats). */
export interface VadStats {
  batches: number;
  windows: number;
  largestBatch: number;
  restarts: number;
}

export interface CallMetricsSource {
  /** The SIP transport's counters. */
  sipStats(): TransportStats;
  /** Calls up now. */
  readonly calls: ReadonlySet<CallSession>;
  on(event: 'call-ended', listener: (session: CallSession, reason: EndReason) => void): unknown;
  on(event: 'call-refused', listener: (refusal: CallRefusal) => void): unknown;
  /** Whether calls run their RTP in the media thread. */
  readonly usesMediaThread: boolean;
}

/** Counters of the moment rather than running totals: exported as gauges over the calls up now. */
const GAUGES: ReadonlySet<RtpCounter> = new Set<RtpCounter>(['jitterMs', 'queuedFrames']);

const snake = (name: string): string => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/-/g, '_');

/** Sums of RTP counters: the ended calls' final stats, kept as they end. */
class RtpTotals {
  readonly counters = Object.fromEntries(RTP_COUNTERS.map((c) => [c, 0])) as Record<RtpCounter, number>;
  readonly dropped = Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<string, number>;
  readonly jitter = Object.fromEntries(JITTER_COUNTERS.map((c) => [c, 0])) as Record<string, number>;

  add(stats: RtpSessionStats): void {
    for (const c of RTP_COUNTERS) if (!GAUGES.has(c)) this.counters[c] += stats[c];
    for (const r of DROP_REASONS) this.dropped[r]! += stats.dropped[r];
    for (const c of JITTER_COUNTERS) this.jitter[c]! += stats.jitterBuffer[c];
  }

  /** These totals plus the live legs' current counters. */
  plus(live: Iterable<RtpSessionStats>): RtpTotals {
    const sum = new RtpTotals();
    Object.assign(sum.counters, this.counters);
    Object.assign(sum.dropped, this.dropped);
    Object.assign(sum.jitter, this.jitter);
    for (const s of live) sum.add(s);
    return sum;
  }
}

/** Registers the call path's counters on `registry`; `vad` reads the VAD model's counters when one is loaded. */
export function registerCallMetrics(registry: Registry, source: CallMetricsSource, vad?: () => VadStats | undefined): void {
  const ended = new RtpTotals();
  /** The calls up now that have an RTP leg (the others came in over a media stream or WebRTC). */
  const sipCalls = (): SipCallSession[] => [...source.calls].filter((s): s is SipCallSession => s instanceof SipCallSession);
  const endedCalls = new Counter({
    name: 'smartalex_sip_calls_ended_total', help: 'Calls ended, by end reason', labelNames: ['reason'] as const, registers: [registry],
  });
  source.on('call-ended', (session, reason) => {
    if (session instanceof SipCallSession) ended.add(session.rtp.stats);
    endedCalls.inc({ reason });
  });
  const refusedCalls = new Counter({
    name: 'smartalex_sip_calls_refused_total', help: 'Calls refused before set-up because the tenant was at its concurrent call limit, by reason, way in and direction',
    labelNames: ['reason', 'kind', 'direction'] as const, registers: [registry],
  });
  source.on('call-refused', (refusal) => refusedCalls.inc({ reason: refusal.reason, kind: refusal.kind, direction: refusal.direction }));
  const rtpNow = (): RtpTotals => ended.plus(sipCalls().map((s) => s.rtp.stats));

  // ---- SIP
  const sipCounter = (name: string, help: string, read: (s: TransportStats) => number): void => {
    new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read(source.sipStats())); } });
  };
  sipCounter('smartalex_sip_messages_received_total', 'SIP messages received (datagrams and stream messages)', (s) => s.received);
  sipCounter('smartalex_sip_messages_parsed_total', 'SIP messages that parsed', (s) => s.parsed);
  sipCounter('smartalex_sip_bad_requests_answered_total', 'Requests the transport answered itself with 400, 505 or 513', (s) => s.responded400);
  sipCounter('smartalex_sip_guard_rejected_total', 'Requests the flood guard and ACL refused before anything else saw them', (s) => s.guardRejected);
  new Counter({
    name: 'smartalex_sip_messages_dropped_total', help: 'SIP messages dropped by the transport, by reason', labelNames: ['reason'] as const, registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(source.sipStats().dropped)) this.inc({ reason }, n);
    },
  });
  new Gauge({ name: 'smartalex_sip_calls_active', help: 'Calls up now', registers: [registry], collect() { this.set(source.calls.size); } });

  // ---- RTP, from the stats row's field lists
  for (const field of RTP_COUNTERS) {
    const help = `RTP ${field} summed over every call leg`;
    if (GAUGES.has(field)) {
      const name = field === 'jitterMs' ? 'smartalex_rtp_jitter_ms_max' : `smartalex_rtp_${snake(field)}`;
      new Gauge({
        name, help: field === 'jitterMs' ? 'Largest interarrival jitter among the calls up now (ms)' : `RTP ${field} over the calls up now`, registers: [registry],
        collect() {
          const live = sipCalls().map((s) => s.rtp.stats[field]);
          this.set(field === 'jitterMs' ? Math.max(0, ...live) : live.reduce((a, b) => a + b, 0));
        },
      });
      continue;
    }
    new Counter({ name: `smartalex_rtp_${snake(field)}_total`, help, registers: [registry], collect() { this.reset(); this.inc(rtpNow().counters[field]); } });
  }
  new Counter({
    name: 'smartalex_rtp_dropped_packets_total', help: 'RTP packets dropped on receive, by reason', labelNames: ['reason'] as const, registers: [registry],
    collect() {
      this.reset();
      const totals = rtpNow();
      for (const reason of DROP_REASONS) this.inc({ reason }, totals.dropped[reason]!);
    },
  });
  new Counter({
    name: 'smartalex_rtp_jitter_buffer_frames_total', help: 'Jitter buffer events (frames pushed, played, late, lost...), by event', labelNames: ['event'] as const, registers: [registry],
    collect() {
      this.reset();
      const totals = rtpNow();
      for (const c of JITTER_COUNTERS) this.inc({ event: snake(c) }, totals.jitter[c]!);
    },
  });

  // ---- the media thread
  if (source.usesMediaThread) {
    const media = MediaThread.shared();
    const threadCounter = (name: string, help: string, read: () => number): void => {
      new Counter({ name, help, registers: [registry], collect() { this.reset(); this.inc(read()); } });
    };
    threadCounter('smartalex_media_thread_starts_total', 'Media threads started', () => media.stats.starts);
    threadCounter('smartalex_media_thread_crashes_total', 'Media threads that died without being stopped', () => media.stats.crashes);
    threadCounter('smartalex_media_thread_messages_in_total', 'Messages from the media thread (ticks and replies)', () => media.stats.messagesIn);
    threadCounter('smartalex_media_thread_messages_out_total', 'Messages to the media thread (batches)', () => media.stats.messagesOut);
    new Gauge({ name: 'smartalex_media_thread_sessions', help: 'RTP sessions open in the media thread', registers: [registry], collect() { this.set(media.sessionCount); } });
  }

  // ---- VAD
  if (vad) {
    const vadCounter = (name: string, help: string, read: (s: VadStats) => number): void => {
      new Counter({ name, help, registers: [registry], collect() { this.reset(); const s = vad(); if (s) this.inc(read(s)); } });
    };
    vadCounter('smartalex_vad_batches_total', 'Batches sent to the VAD inference thread', (s) => s.batches);
    vadCounter('smartalex_vad_windows_total', 'VAD windows inferred', (s) => s.windows);
    vadCounter('smartalex_vad_restarts_total', 'VAD inference threads restarted after one died', (s) => s.restarts);
    new Gauge({ name: 'smartalex_vad_largest_batch', help: 'Most windows in one VAD batch so far', registers: [registry], collect() { this.set(vad()?.largestBatch ?? 0); } });
  }
}
