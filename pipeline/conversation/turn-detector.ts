/**
 * Turn-taking for one call: VAD events and STT results in, two decisions out.
 *
 * - `end_of_turn`: the caller finished. The VAD's silence hangover says speech
 *   stopped; the turn closes once the STT has also closed it (a speech_final,
 *   the answer to the finalize() asked when the VAD first heard silence, or
 *   an utterance end), so it ends at max(hangover, STT final), not their
 *   sum. If
 *   the STT stays quiet for `sttFinalTimeoutMs` (counted again from a
 *   reconnect, which replays the audio), what it has closes the turn; with no
 *   words at all the noise is dropped. The turn's text is its finals plus the
 *   latest interim when no final covered it: a short "yes" may only ever show
 *   in an interim result before the endpoint closes it.
 *   When the VAD heard nothing but the STT closes an utterance, that counts.
 * - `finalize`: once the VAD has heard `turn.finalizeAfterMs` of silence
 *   (windows under its negative threshold since the last voiced one) the STT
 *   is asked to finalize now, while the hangover runs (at VAD stop at the
 *   latest). The default (120 ms) is longer than the gaps between words, so
 *   an utterance is not cut into pieces the STT recognises without context.
 * - `tentative_turn`: the STT has closed what the caller said while the
 *   hangover still runs: the turn will very likely end with this text, so an
 *   answer can be prepared. `resumed`: the caller spoke again before the
 *   hangover ran out: any such preparation is void.
 * - `barge_in`: while `canInterrupt()` (the agent is audible), caller speech
 *   with `minWords` recognised words, or `minSpeechMs` of VAD speech with a
 *   recognised word, or `minVoicedMs` of confidently voiced VAD windows, or
 *   `maxUnrecognizedMs` of VAD speech, unless what was recognised is only a
 *   backchannel ("mm-hmm", "yeah").
 *
 * All times are on the conversation clock (the transport's frame clock).
 * The turn also says where its words were said (`timing`, from the STT's word
 * timings already mapped to that clock), for redacting the recording.
 */
import { EventEmitter } from 'node:events';
import type { SttEvent, SttWord } from '../providers/types.ts';
import type { SpeechEndEvent, SpeechStartEvent } from '../vad/index.ts';
import { isBackchannel, words } from './backchannel.ts';
import type { ConversationSettings } from './settings.ts';

/** Where a stretch of the turn's text was said: characters [start, end) of `text`, and clock times when known. */
export interface TimedText {
  start: number;
  end: number;
  /** Absent when the STT gave no timings (an interim, or a provider without word times). */
  startMs?: number;
  endMs?: number;
}

export interface EndOfTurn {
  /** Raw caller text: in memory only, for the LLM; never logged or emitted. */
  text: string;
  /** Word by word where the STT's timings match its text, else one entry per final (or for the interim). */
  timing: TimedText[];
  /** Clock time the caller's speech in this turn started (VAD; else the first word), for untimed text. */
  speechStartMs: number;
  endOfSpeechMs: number;
  vadStopMs: number;
  sttFinalAtMs: number;
  vadMissed: boolean;
}

export interface TurnDetectorEvents {
  end_of_turn: [EndOfTurn];
  barge_in: [{ atMs: number }];
  /** Ask the STT to finalize what it has (silence heard, no STT close yet). */
  finalize: [];
  /** The STT closed the caller's words during the hangover: the likely text of the turn (raw, in memory only). */
  tentative_turn: [{ text: string }];
  /** Speech again during the hangover, after silence had begun. */
  resumed: [];
}

export class TurnDetector extends EventEmitter<TurnDetectorEvents> {
  private vadSpeaking = false;
  private speechStartMs = 0;
  /** Time in VAD windows at or over the VAD threshold since speech started. */
  private voicedMs = 0;
  private vadEnd: SpeechEndEvent | undefined;
  private finals: string[] = [];
  /** Word timings (clock ms) of each final, when the STT gave them. */
  private finalWords: Array<SttWord[] | undefined> = [];
  /** First VAD speech start since the last turn closed. */
  private turnSpeechStartMs: number | undefined;
  private interim = '';
  private sttClosed = false;
  private sttFinalAtMs: number | undefined;
  /** Where the STT-final timeout counts from: VAD stop, or a later STT reconnect. */
  private timeoutFromMs = 0;
  private candidate = false;
  /** `finalizeAfterMs` of silence heard since the last voiced window, while the VAD still says speech. */
  private pausing = false;
  /** End of the last window at or over the VAD threshold. */
  private lastVoicedMs = 0;
  /** finalize was asked for the audio up to this pause. */
  private finalizeAsked = false;
  /** A tentative_turn was emitted for this pause. */
  private tentative = false;
  private readonly negativeThreshold: number;
  /** Clock time of the last caller activity (speech or words); for the silence reprompt. */
  lastActivityMs: number;

  constructor(
    private readonly settings: ConversationSettings,
    private readonly canInterrupt: () => boolean,
    startMs: number,
  ) {
    super();
    this.lastActivityMs = startMs;
    // The VAD's own default (detector.ts): what counts as silence while speaking.
    this.negativeThreshold = Math.max(0.01, settings.vad.threshold - 0.15);
  }

  /** True while the caller speaks or a turn is waiting to close. */
  get busy(): boolean {
    return this.vadSpeaking || this.vadEnd !== undefined || this.finals.length > 0 || this.interim !== '';
  }

  speechStart(ev: SpeechStartEvent): void {
    this.vadSpeaking = true;
    this.speechStartMs = ev.atMs;
    this.turnSpeechStartMs ??= ev.atMs;
    this.voicedMs = 0;
    this.vadEnd = undefined;
    this.sttClosed = false;
    this.pausing = false;
    this.finalizeAsked = false;
    this.tentative = false;
    this.lastVoicedMs = ev.detectedAtMs;
    this.lastActivityMs = ev.detectedAtMs;
    if (this.canInterrupt()) this.candidate = true;
    this.checkBargeIn(ev.detectedAtMs);
  }

  /** A scored VAD window: barge-in is checked window by window. */
  speechProgress(window: { startMs: number; endMs: number; probability: number }): void {
    const endMs = window.endMs;
    if (!this.vadSpeaking) return;
    if (window.probability >= this.settings.vad.threshold) {
      this.voicedMs += Math.max(0, endMs - Math.max(window.startMs, this.speechStartMs));
      this.lastVoicedMs = endMs;
      if (this.pausing) this.resume();
    } else if (window.probability < this.negativeThreshold && !this.pausing && endMs - this.lastVoicedMs >= this.settings.turn.finalizeAfterMs) {
      this.pausing = true;
      this.askFinalize();
      this.maybeTentative();
    }
    this.lastActivityMs = endMs;
    if (!this.candidate && this.canInterrupt()) this.candidate = true;
    this.checkBargeIn(endMs);
  }

  speechEnd(ev: SpeechEndEvent): void {
    this.vadSpeaking = false;
    this.vadEnd = ev;
    this.timeoutFromMs = ev.atMs;
    this.candidate = false;
    this.lastActivityMs = ev.atMs;
    this.askFinalize();
    this.maybeCommit();
  }

  stt(ev: SttEvent, nowMs: number): void {
    switch (ev.type) {
      case 'interim':
        this.interim = ev.text;
        this.sttClosed = false; // more words: an earlier speech_final no longer closes the turn
        this.lastActivityMs = nowMs;
        if (!this.candidate && this.canInterrupt()) this.candidate = true;
        this.checkBargeIn(nowMs);
        return;
      case 'final':
        if (ev.text.trim() !== '') {
          this.finals.push(ev.text.trim());
          this.finalWords.push(ev.words);
          this.interim = '';
          this.sttFinalAtMs = nowMs;
          this.lastActivityMs = nowMs;
        }
        if (ev.speechFinal || ev.fromFinalize) {
          this.sttClosed = true;
          this.sttFinalAtMs ??= nowMs;
        } else if (ev.text.trim() !== '') {
          this.sttClosed = false;
        }
        this.checkBargeIn(nowMs);
        this.maybeTentative();
        this.maybeCommit();
        return;
      case 'utterance_end':
        this.sttClosed = true;
        this.sttFinalAtMs ??= nowMs;
        this.maybeTentative();
        this.maybeCommit();
        return;
      case 'reconnected':
        this.timeoutFromMs = nowMs; // the replayed audio gets its own time to be finalized
        return;
      default:
        return;
    }
  }

  /** Called every frame: the STT-final timeout. */
  tick(nowMs: number): void {
    if (this.vadEnd && !this.sttClosed && nowMs - Math.max(this.vadEnd.atMs, this.timeoutFromMs) >= this.settings.turn.sttFinalTimeoutMs) {
      this.sttClosed = true;
      this.sttFinalAtMs ??= nowMs;
      this.maybeCommit();
    }
  }

  /** The call ended (the STT has flushed): what the caller said that no turn closed yet becomes the last turn. */
  closeAtEnd(nowMs: number): void {
    if (!this.busy) return;
    this.vadSpeaking = false;
    this.sttClosed = true;
    this.sttFinalAtMs ??= nowMs;
    this.maybeCommit();
  }

  /** Finalize once per stretch of speech, when silence starts (or at VAD stop at the latest). */
  private askFinalize(): void {
    if (this.sttClosed || this.finalizeAsked) return;
    this.finalizeAsked = true;
    this.emit('finalize');
  }

  /** The caller went on talking before the hangover ran out: what the STT closed is not the end of the turn. */
  private resume(): void {
    this.pausing = false;
    this.finalizeAsked = false;
    this.sttClosed = false;
    this.sttFinalAtMs = undefined;
    if (this.tentative) {
      this.tentative = false;
      this.emit('resumed');
    }
  }

  private maybeTentative(): void {
    if (!this.vadSpeaking || !this.pausing || !this.sttClosed || this.tentative) return;
    const text = [...this.finals, this.interim].join(' ').trim();
    if (text === '') return;
    this.tentative = true;
    this.emit('tentative_turn', { text });
  }

  /** Forget the words heard so far (a backchannel or noise that is not a turn). */
  discard(): void {
    this.finals = [];
    this.finalWords = [];
    this.interim = '';
  }

  private maybeCommit(): void {
    if (this.vadSpeaking || !this.sttClosed) return;
    // An interim after the last final holds words no final covered.
    const text = [...this.finals, this.interim].join(' ').trim();
    const timing = timedText(this.finals, this.finalWords, this.interim);
    const vadEnd = this.vadEnd;
    const finalAt = this.sttFinalAtMs ?? vadEnd?.atMs ?? 0;
    const speechStartMs = this.turnSpeechStartMs ?? timing.find((t) => t.startMs !== undefined)?.startMs ?? vadEnd?.endOfSpeechMs ?? finalAt;
    this.turnSpeechStartMs = undefined;
    this.finals = [];
    this.finalWords = [];
    this.interim = '';
    this.sttClosed = false;
    this.sttFinalAtMs = undefined;
    this.vadEnd = undefined;
    this.pausing = false;
    this.finalizeAsked = false;
    this.tentative = false;
    if (text === '') return; // noise, or a trailing empty final: no turn
    this.emit('end_of_turn', {
      text,
      timing,
      speechStartMs,
      endOfSpeechMs: vadEnd?.endOfSpeechMs ?? finalAt,
      vadStopMs: vadEnd?.atMs ?? finalAt,
      sttFinalAtMs: finalAt,
      vadMissed: vadEnd === undefined,
    });
  }

  private checkBargeIn(nowMs: number): void {
    if (!this.candidate || !this.settings.bargeIn.enabled || !this.canInterrupt()) return;
    const b = this.settings.bargeIn;
    const text = [...this.finals, this.interim].join(' ').trim();
    const n = words(text).length;
    const backchannel = n > 0 && isBackchannel(text);
    if (backchannel) return;
    const speechMs = this.vadSpeaking ? nowMs - this.speechStartMs : 0;
    const voiced = this.vadSpeaking && b.minVoicedMs > 0 && this.voicedMs >= b.minVoicedMs;
    if (n >= b.minWords || (n >= 1 && speechMs >= b.minSpeechMs) || voiced || speechMs >= b.maxUnrecognizedMs) {
      this.candidate = false;
      this.emit('barge_in', { atMs: nowMs });
    }
  }
}

/** Character ranges of the joined turn text with their clock times: word by word when the counts match. */
function timedText(finals: string[], finalWords: Array<SttWord[] | undefined>, interim: string): TimedText[] {
  const out: TimedText[] = [];
  let at = 0;
  finals.forEach((segment, k) => {
    const words = finalWords[k];
    const tokens = [...segment.matchAll(/\S+/g)];
    if (words && words.length === tokens.length) {
      tokens.forEach((t, i) => out.push({ start: at + t.index, end: at + t.index + t[0].length, startMs: words[i]!.startMs, endMs: words[i]!.endMs }));
    } else if (words && words.length > 0) {
      out.push({ start: at, end: at + segment.length, startMs: words[0]!.startMs, endMs: words[words.length - 1]!.endMs });
    } else {
      out.push({ start: at, end: at + segment.length });
    }
    at += segment.length + 1;
  });
  const rest = interim.trim();
  if (rest !== '') out.push({ start: at, end: at + rest.length });
  return out;
}
