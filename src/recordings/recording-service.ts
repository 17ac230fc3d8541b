/**
 * What the call manager uses to record a call and store its transcript.
 *
 *   const recorder = recordings.startCallRecording({ tenantId, callId, agent });
 *   recorder.caller(frame); recorder.agent(frame);   // every 20 ms, never blocks
 *   await recorder.finish();                        // at hang-up
 *   await recordings.addTranscriptTurn({ tenantId, callId, seq, speaker, text });
 *
 * `startCallRecording` returns at once. In the background it opens the
 * encrypted object (header on disk) and creates the recordings row (object
 * location, key id, retention deadline from the agent's retention days, else
 * the tenant plan's); frames that arrive meanwhile are held (bounded) and fed
 * in when it is open. `caller`/`agent` only copy a frame into the stereo
 * interleaver; sealing happens per 64 KiB chunk and disk writes run through
 * the writer's queue, so the media path never waits on I/O. `finish` seals the
 * last chunk and completes the row with size, checksum, duration and whether
 * the recording was cut short. Failures are logged once (ids only) and never
 * thrown into the media path.
 *
 * PCI-safe audio (audio-redaction.ts): unless the agent turned it off, the
 * tap holds the newest `holdMs` of audio in memory, `redactAudio(span)`
 * silences a span in both legs (padded; re-sealing chunks already on disk),
 * and `finish` lists the silenced spans (type, source, start, end; no
 * content) in a `recording_redactions` call event and in its result.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AudioFrame } from '../../media/audio/frames.ts';
import { Resampler } from '../../media/audio/resample.ts';
import { redact } from '../../pipeline/redact/index.ts';
import type { RedactionResult } from '../../pipeline/redact/index.ts';
import {
  addCallEvent, addTranscriptTurn, completeRecording, createRecording, transcriptQueue, type Database, type TranscriptTurnRow,
} from '../../storage/index.ts';
import { HEADER_LENGTH } from '../../storage/vault/index.ts';
import type { RecordingRef, RecordingTap, RecordingVault } from '../../storage/vault/index.ts';
import type { Logger } from '../log.ts';
import { DEFAULT_AUDIO_REDACTION, type AudioRedactionSettings, type AudioRedactionSpan, type MutedSpan } from './audio-redaction.ts';

/** Frames held per leg while the recording opens (10 s of 20 ms frames). */
const MAX_PENDING_FRAMES = 500;
/** Silenced spans listed per recording at most (each is still silenced beyond it). */
const MAX_LISTED_SPANS = 1000;

export interface CallRecordingStart {
  tenantId: string;
  callId: string;
  /** The call's agent; `retentionDays` null means the tenant plan's retention. */
  agent: { id?: string; retentionDays: number | null };
  /** The contact the call is with, when known (deleting it deletes the recording). */
  contactId?: string | null;
  /** Recording sample rate (default 8000); frames at other rates are resampled. */
  sampleRate?: number;
  /** The agent's pii_audio_redaction (audioRedactionFrom); default on. */
  audioRedaction?: AudioRedactionSettings;
}

export interface FinishedRecording {
  recordingId: string;
  sizeBytes: number;
  durationMs: number;
  cutShort: boolean;
  retainUntil: Date;
  /** Spans silenced by audio redaction (ms from the start of the recording). */
  mutedSpans: MutedSpan[];
}

export interface CallRecorder {
  readonly recordingId: string;
  /** Resolves when the object and its row exist; rejects if recording could not start. */
  readonly ready: Promise<void>;
  /** Caller leg (left channel). Never throws, never waits. */
  caller(frame: AudioFrame): void;
  /** Agent leg (right channel). Never throws, never waits. */
  agent(frame: AudioFrame): void;
  /** Silences a span of the call clock in both legs (when audio redaction is on). Never throws. */
  redactAudio(span: AudioRedactionSpan): void;
  /** Seals the recording and completes its row. Resolves null if the recording never started. */
  finish(): Promise<FinishedRecording | null>;
  /** Frames dropped because they came late, before start, or after a failure. */
  readonly droppedFrames: number;
}

export interface TranscriptTurnInput {
  tenantId: string;
  callId: string;
  seq: number;
  speaker: 'caller' | 'agent';
  /** Raw text of the turn: redacted here, never stored or logged. */
  text?: string;
  /** Or an already redacted turn (e.g. from a TurnRedactor). */
  redacted?: RedactionResult;
  latency?: Record<string, number> | null;
}

export interface RecordingServiceOptions {
  db: Database;
  vault: RecordingVault;
  logger?: Logger;
  now?: () => Date;
}

export class RecordingService {
  private readonly active = new Set<CallRecorder>();

  constructor(private readonly opts: RecordingServiceOptions) {}

  get vault(): RecordingVault { return this.opts.vault; }

  /** Recordings started and not yet sealed (their call still on, or its hang-up still writing them). */
  get openRecordings(): number { return this.active.size; }

  /** Starts recording one call (both legs, two channels). */
  startCallRecording(start: CallRecordingStart): CallRecorder {
    const recorder = new VaultCallRecorder(this.opts, start, () => this.active.delete(recorder));
    this.active.add(recorder);
    return recorder;
  }

  /** Redacts (unless given a redaction) and stores one transcript turn. */
  async addTranscriptTurn(turn: TranscriptTurnInput): Promise<TranscriptTurnRow> {
    const redacted = turn.redacted ?? (turn.text !== undefined ? redact(turn.text) : undefined);
    if (!redacted) throw new Error('a transcript turn needs text or a redaction');
    return addTranscriptTurn(this.opts.db, turn.tenantId, {
      callId: turn.callId, seq: turn.seq, speaker: turn.speaker, redacted, latency: turn.latency ?? null,
    });
  }

  /** Finishes every recording still open and writes the queued transcript turns (server shutdown). */
  async close(): Promise<void> {
    await Promise.all([...this.active].map((r) => r.finish().catch(() => null)));
    await transcriptQueue(this.opts.db).flushAll();
  }
}

class VaultCallRecorder implements CallRecorder {
  readonly recordingId = randomUUID();
  readonly ready: Promise<void>;
  droppedFrames = 0;
  private tap: RecordingTap | null = null;
  private failed = false;
  private finishing: Promise<FinishedRecording | null> | null = null;
  private pending: { leg: 'caller' | 'agent'; frame: AudioFrame }[] = [];
  private readonly redaction: AudioRedactionSettings;
  /** Padded spans on the call clock, in the order decided. */
  private readonly spans: AudioRedactionSpan[] = [];
  private retainUntil = new Date(0);
  private readonly rate: number;
  private readonly resamplers = new Map<string, Resampler>();
  private readonly ref: RecordingRef;

  constructor(private readonly opts: RecordingServiceOptions, private readonly start: CallRecordingStart, private readonly onDone: () => void) {
    this.rate = start.sampleRate ?? 8000;
    this.redaction = start.audioRedaction ?? DEFAULT_AUDIO_REDACTION;
    this.ref = { tenantId: start.tenantId, recordingId: this.recordingId };
    this.ready = this.open();
    this.ready.catch((err: unknown) => {
      this.failed = true;
      this.pending = [];
      this.log('recording could not start', err);
    });
  }

  private async open(): Promise<void> {
    const { db, vault } = this.opts;
    const now = this.opts.now?.() ?? new Date();
    const tap = await vault.startTap(this.ref, {
      sampleRate: this.rate,
      holdMs: this.redaction.enabled ? this.redaction.holdMs : 0,
      onError: (err) => this.log('recording write failed', err),
    });
    try {
      // The retention deadline is computed in the insert (the agent's days, else the tenant's): one statement.
      const row = await createRecording(db, this.start.tenantId, {
        id: this.recordingId, callId: this.start.callId, contactId: this.start.contactId ?? null,
        objectKey: `${this.start.tenantId}/${this.recordingId}`, keyId: tap.keyId,
        retainUntil: { from: now, agentRetentionDays: this.start.agent.retentionDays },
      });
      this.retainUntil = row.retainUntil;
    } catch (err) {
      await tap.finish().catch(() => undefined);
      await vault.delete(this.ref).catch(() => undefined);
      throw err;
    }
    this.tap = tap;
    const held = this.pending;
    this.pending = [];
    for (const { leg, frame } of held) this.feed(leg, frame);
    for (const span of this.spans) tap.silence(span.startMs, span.endMs);
  }

  redactAudio(span: AudioRedactionSpan): void {
    if (!this.redaction.enabled || this.failed || this.finishing) return;
    if (!(span.endMs >= span.startMs) || !Number.isFinite(span.startMs) || !Number.isFinite(span.endMs)) return;
    const padded = { ...span, startMs: span.startMs - this.redaction.padMs, endMs: span.endMs + this.redaction.padMs };
    this.tap?.silence(padded.startMs, padded.endMs);
    // Pieces of one decision (an agent sentence's audio chunks) become one listed span.
    const last = this.spans[this.spans.length - 1];
    if (last && last.source === padded.source && last.type === padded.type && padded.startMs <= last.endMs && padded.endMs >= last.startMs) {
      last.startMs = Math.min(last.startMs, padded.startMs);
      last.endMs = Math.max(last.endMs, padded.endMs);
    } else if (this.spans.length < MAX_LISTED_SPANS) {
      this.spans.push(padded);
    }
  }

  caller(frame: AudioFrame): void { this.push('caller', frame); }
  agent(frame: AudioFrame): void { this.push('agent', frame); }

  private push(leg: 'caller' | 'agent', frame: AudioFrame): void {
    if (this.failed || this.finishing) { this.droppedFrames++; return; }
    if (this.tap) { this.feed(leg, frame); return; }
    if (this.pending.length >= MAX_PENDING_FRAMES * 2) { this.droppedFrames++; return; }
    this.pending.push({ leg, frame: { ...frame, pcm: frame.pcm.slice() } });
  }

  private feed(leg: 'caller' | 'agent', frame: AudioFrame): void {
    try {
      const pcm = frame.sampleRate === this.rate ? frame.pcm : this.resampler(leg, frame.sampleRate).process(frame.pcm);
      const tapFrame = { pcm, timeMs: frame.timeMs, sampleRate: this.rate };
      if (leg === 'caller') this.tap!.caller(tapFrame);
      else this.tap!.agent(tapFrame);
    } catch (err) {
      this.droppedFrames++;
      this.log('recording frame rejected', err);
    }
  }

  private resampler(leg: string, inRate: number): Resampler {
    const key = `${leg}:${inRate}`;
    let r = this.resamplers.get(key);
    if (!r) { r = new Resampler(inRate, this.rate); this.resamplers.set(key, r); }
    return r;
  }

  finish(): Promise<FinishedRecording | null> {
    this.finishing ??= this.seal().finally(this.onDone);
    return this.finishing;
  }

  private async seal(): Promise<FinishedRecording | null> {
    try {
      await this.ready;
    } catch {
      return null;
    }
    const tap = this.tap!;
    this.droppedFrames += tap.stats.lateFramesDropped;
    let cutShort = Boolean(tap.error);
    let plaintextBytes = 0;
    try {
      plaintextBytes = (await tap.finish()).plaintextBytes;
    } catch (err) {
      cutShort = true;
      this.log('recording did not seal cleanly', err);
    }
    const { sizeBytes, sha256 } = await this.measure();
    const durationMs = Math.round((plaintextBytes / (this.rate * 4)) * 1000);
    const mutedSpans = this.mutedSpans(tap, durationMs);
    await completeRecording(this.opts.db, this.start.tenantId, this.recordingId, { sizeBytes, sha256, durationMs, cutShort });
    if (mutedSpans.length > 0) {
      await addCallEvent(this.opts.db, this.start.tenantId, this.start.callId, 'recording_redactions', { recordingId: this.recordingId, spans: mutedSpans })
        .catch((err: unknown) => this.log('recording redactions could not be listed', err));
    }
    return { recordingId: this.recordingId, sizeBytes, durationMs, cutShort, retainUntil: this.retainUntil, mutedSpans };
  }

  /** The silenced spans on the recording's own timeline, clipped to it. */
  private mutedSpans(tap: RecordingTap, durationMs: number): MutedSpan[] {
    if (tap.originMs === null) return [];
    const out: MutedSpan[] = [];
    for (const s of this.spans) {
      const startMs = Math.max(0, Math.round(tap.recordingMs(s.startMs)!));
      const endMs = Math.min(durationMs, Math.round(tap.recordingMs(s.endMs)!));
      if (endMs > startMs) out.push({ type: s.type, source: s.source, startMs, endMs });
    }
    return out;
  }

  /** Stored size, and SHA-256 of the sealed chunks (the part key rotation never rewrites). */
  private async measure(): Promise<{ sizeBytes: number; sha256: string }> {
    const store = this.opts.vault.store;
    const info = await store.stat(this.ref);
    const hash = createHash('sha256');
    if (info && info.size > HEADER_LENGTH) {
      for await (const part of await store.openRead(this.ref, { start: HEADER_LENGTH })) hash.update(part);
    }
    return { sizeBytes: info?.size ?? 0, sha256: hash.digest('hex') };
  }

  private log(message: string, err: unknown): void {
    const reason = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.opts.logger?.error({ tenantId: this.start.tenantId, callId: this.start.callId, recordingId: this.recordingId, reason }, message);
  }
}
