/**
 * Latency of one turn in DESIGN.md's vocabulary. A `TurnTimer` collects the
 * boundaries as they happen (all on the conversation's monotonic clock, the
 * transport's frame clock) and `finish()` derives the trace:
 *
 *   endOfSpeech      VAD stop minus its silence window: when the caller stopped
 *   endpointingMs    VAD stop - end of speech (the hangover plus detection lag)
 *   sttFinalMs       STT final that closed the turn - VAD stop (0 when it came first)
 *   llmTtftMs        first LLM token - LLM request
 *   llmFirstSentenceMs  first complete sentence - LLM request (what TTS waited for)
 *   ttsTtfbMs        first TTS audio - TTS request of the first sentence
 *   e2eMs            first agent audio out (transport onPlayoutStart) - end of speech
 *   overheadMs       what this server adds: the gaps on the critical path that
 *                    are neither the turn-taking wait nor a provider's latency:
 *                      (llmStart - turn end)           turn decision to LLM request
 *                    + (ttsStart - llmFirstSentence)   sentence to TTS request
 *                    + (firstAudioQueued - ttsFirstByte)  resampling, queueing
 *                      (from the turn's end for an answer prepared before it:
 *                      audio held for the hangover is turn-taking, not overhead)
 *                    + (playout - firstAudioQueued)    pacer to first packet
 *                    each clamped at 0 (the pacer may stamp a tick slightly
 *                    before the audio was handed over). When the reply queued
 *                    behind earlier agent audio, the last gap is that wait, not
 *                    overhead, and is left out. e2e = endpointingMs + sttFinalMs
 *                    + llmFirstSentenceMs + ttsTtfbMs + overheadMs - preparedMs,
 *                    give or take the clamping.
 *   preparedMs       provider time spent before the turn ended (an answer started
 *                    on the STT final during the hangover): from the LLM request
 *                    to the first TTS audio or the turn's end, whichever came
 *                    first; 0 when the answer started after the turn ended
 */

export interface TurnTrace {
  /** 1-based caller turn number in the call. */
  turn: number;
  endpointingMs: number;
  sttFinalMs: number;
  llmTtftMs: number;
  llmFirstSentenceMs: number;
  ttsTtfbMs: number;
  e2eMs: number;
  overheadMs: number;
  /** Provider time (LLM request onwards) that ran before the turn ended: hidden in the hangover by preemptive generation. */
  preparedMs: number;
  /** Time the turn waited for the AI disclosure to finish playing (0 when it did not). */
  heldMs: number;
  /** True when the turn's end of speech came from the STT alone (the VAD heard nothing). */
  vadMissed: boolean;
  /** True when the reply's first audio queued behind earlier agent audio, so its playout time is estimated. */
  playoutEstimated: boolean;
}

type Mark = 'endOfSpeech' | 'vadStop' | 'sttFinal' | 'llmStart' | 'llmFirstToken' | 'llmFirstSentence' | 'ttsStart' | 'ttsFirstByte' | 'firstAudioQueued' | 'playout' | 'released';

export class TurnTimer {
  private readonly marks = new Map<Mark, number>();
  vadMissed = false;
  playoutEstimated = false;

  constructor(readonly turn: number) {}

  /** Records a boundary once; later marks of the same kind are ignored. */
  mark(kind: Mark, atMs: number): void {
    if (!this.marks.has(kind)) this.marks.set(kind, atMs);
  }

  has(kind: Mark): boolean {
    return this.marks.has(kind);
  }

  /** When `kind` was marked, if it was. */
  at(kind: Mark): number | undefined {
    return this.marks.get(kind);
  }

  get complete(): boolean {
    return this.marks.has('playout') && this.marks.has('endOfSpeech');
  }

  finish(): TurnTrace | undefined {
    const m = (k: Mark): number | undefined => this.marks.get(k);
    const endOfSpeech = m('endOfSpeech');
    const playout = m('playout');
    if (endOfSpeech === undefined || playout === undefined) return undefined;
    const vadStop = m('vadStop') ?? endOfSpeech;
    const sttFinal = m('sttFinal') ?? vadStop;
    const span = (from: Mark, to: Mark): number => {
      const a = m(from);
      const b = m(to);
      return a === undefined || b === undefined ? 0 : Math.max(0, b - a);
    };
    const round = (x: number): number => Math.round(x * 10) / 10;
    const endpointingMs = Math.max(0, vadStop - endOfSpeech);
    const sttFinalMs = Math.max(0, sttFinal - vadStop);
    const llmTtftMs = span('llmStart', 'llmFirstToken');
    const llmFirstSentenceMs = span('llmStart', 'llmFirstSentence');
    const ttsTtfbMs = span('ttsStart', 'ttsFirstByte');
    const e2eMs = playout - endOfSpeech;
    const released = Math.max(sttFinal, m('released') ?? sttFinal);
    const heldMs = released - sttFinal;
    const llmStart = m('llmStart');
    const preparedMs = llmStart === undefined ? 0 : Math.max(0, Math.min(m('ttsFirstByte') ?? released, released) - llmStart);
    const overheadMs = Math.max(0, (m('llmStart') ?? released) - released)
      + span('llmFirstSentence', 'ttsStart')
      + Math.max(0, (m('firstAudioQueued') ?? 0) - Math.max(m('ttsFirstByte') ?? Infinity, released))
      + (this.playoutEstimated ? 0 : span('firstAudioQueued', 'playout'));
    return {
      turn: this.turn,
      endpointingMs: round(endpointingMs),
      sttFinalMs: round(sttFinalMs),
      llmTtftMs: round(llmTtftMs),
      llmFirstSentenceMs: round(llmFirstSentenceMs),
      ttsTtfbMs: round(ttsTtfbMs),
      e2eMs: round(e2eMs),
      overheadMs: round(overheadMs),
      preparedMs: round(preparedMs),
      heldMs: round(heldMs),
      vadMissed: this.vadMissed,
      playoutEstimated: this.playoutEstimated,
    };
  }
}
