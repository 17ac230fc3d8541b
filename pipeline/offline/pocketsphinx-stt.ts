/**
 * Offline speech to text with CMU pocketsphinx (Debian's 5prealpha build and
 * its en-us model). The installed CLI is `pocketsphinx_continuous`; with
 * `-infile /dev/stdin` it reads raw 16 kHz mono PCM16 from a pipe, splits it
 * into utterances with its own voice activity detection and prints one
 * hypothesis line per utterance as soon as that utterance ends (stdout is
 * flushed per line), so results stream.
 *
 * The model is for 16 kHz: 8 kHz caller audio is upsampled with
 * media/audio/resample.ts. `finalize()` cannot be asked of a running
 * pocketsphinx, so it ends that process's input (it then decodes what it has,
 * prints and exits) and starts a fresh process for the audio that follows.
 * Results keep their order across processes. Every hypothesis is a `final`
 * with `speechFinal: true` (pocketsphinx's endpointer ended it); a finalize()
 * is answered with `utterance_end` once its process has printed everything.
 * With `-time yes` each hypothesis is followed by one line per word
 * (`word start end probability`, seconds from the start of that process's
 * audio, up to `</s>`): they become the final's `words` on the stream's
 * timeline (fillers such as `<sil>` and `[NOISE]` left out).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Resampler } from '../../media/audio/resample.ts';
import { ProviderError, type SpeechToText, type SttEvent, type SttStream, type SttWord } from '../providers/types.ts';

export const POCKETSPHINX_MODEL_DIR = '/usr/share/pocketsphinx/model/en-us';

export interface PocketsphinxOptions {
  /** Program to run. Default `pocketsphinx_continuous`. */
  command?: string;
  /** Directory holding `en-us/` (acoustic model), `en-us.lm.bin` and `cmudict-en-us.dict`. */
  modelDir?: string;
  /** Extra command-line arguments, e.g. ['-vad_threshold', '3.0']. */
  extraArgs?: string[];
  /** How long close() waits for the processes to print what they still decode before killing them. Default 5000. */
  closeTimeoutMs?: number;
}

const MODEL_RATE = 16_000;
/** A `-time yes` line: word, start and end (seconds), probability. */
const WORD_LINE = /^(\S+) (\d+(?:\.\d+)?) (\d+(?:\.\d+)?) (-?\d+(?:\.\d+)?(?:e-?\d+)?)$/;
/** Entries that are not words: sentence marks, silence, noise. */
const FILLER = /^(<.*>|\[.*\])$/;

/** The hypothesis still collecting word lines is complete (its `</s>`, the next hypothesis, or the end). */
function closeHypothesis(segment: Segment): void {
  if (!segment.open) return;
  segment.lines.push(segment.open);
  segment.open = undefined;
}
/** Silence appended before ending a process's input: flushes the resampler and lets the endpointer settle. */
const FLUSH_SILENCE_MS = 100;

export class PocketsphinxSpeechToText implements SpeechToText {
  readonly name = 'pocketsphinx';
  readonly args: string[];
  readonly command: string;
  readonly closeTimeoutMs: number;

  constructor(options: PocketsphinxOptions = {}) {
    this.command = options.command ?? 'pocketsphinx_continuous';
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5000;
    const model = options.modelDir ?? POCKETSPHINX_MODEL_DIR;
    this.args = [
      '-infile', '/dev/stdin',
      '-samprate', String(MODEL_RATE),
      '-hmm', `${model}/en-us`,
      '-lm', `${model}/en-us.lm.bin`,
      '-dict', `${model}/cmudict-en-us.dict`,
      '-logfn', '/dev/null',
      '-time', 'yes',
      ...(options.extraArgs ?? []),
    ];
  }

  stream(opts: { sampleRate: number; language?: string; signal?: AbortSignal }): SttStream {
    if (opts.language && !/^en(-us)?$/i.test(opts.language)) {
      throw new ProviderError(this.name, `only en-us is installed, not ${opts.language}`);
    }
    return new PocketsphinxStream(this.name, this.command, this.args, opts.sampleRate, opts.signal, this.closeTimeoutMs);
  }
}

function killGroup(child: ChildProcessWithoutNullStreams): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/** One pocketsphinx process: the audio since the previous finalize(). */
interface Segment {
  child: ChildProcessWithoutNullStreams;
  /** Hypotheses printed (with their word times) but not yet delivered (a later segment waits for the earlier one). */
  lines: Array<{ text: string; words: SttWord[] }>;
  /** The hypothesis whose word lines are still coming (until `</s>`). */
  open?: { text: string; words: SttWord[] };
  /** Stream time (ms) where this process's audio starts. */
  startMs: number;
  exited: boolean;
  failed?: Error;
  /** Set when finalize() ended this segment's input: answer with utterance_end. */
  finalized: boolean;
  audioBytes: number;
}

class PocketsphinxStream implements SttStream {
  private readonly resampler: Resampler | undefined;
  private readonly segments: Segment[] = [];
  private readonly queue: SttEvent[] = [];
  private wake: (() => void) | undefined;
  private closing = false;
  private doneWaiters: Array<() => void> = [];
  private done = false;
  /** Audio pushed so far, in ms of the stream. */
  private pushedMs = 0;
  private readonly onAbort = (): void => {
    for (const s of this.segments) killGroup(s.child);
    this.finish();
  };

  constructor(
    private readonly name: string,
    private readonly command: string,
    private readonly args: string[],
    private readonly sampleRate: number,
    private readonly signal: AbortSignal | undefined,
    private readonly closeTimeoutMs: number,
  ) {
    if (!Number.isInteger(sampleRate) || sampleRate < 8000) throw new ProviderError(name, `unsupported sample rate ${sampleRate}`);
    this.resampler = sampleRate === MODEL_RATE ? undefined : new Resampler(sampleRate, MODEL_RATE);
    if (signal?.aborted) {
      this.done = true;
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.startSegment();
  }

  push(pcm: Int16Array): void {
    if (this.done || this.closing || pcm.length === 0) return;
    const segment = this.current() ?? this.startSegment();
    this.pushedMs += (pcm.length * 1000) / this.sampleRate;
    const wide = this.resampler ? this.resampler.process(pcm) : pcm;
    const bytes = Buffer.from(wide.buffer, wide.byteOffset, wide.byteLength);
    // Copy: the caller may reuse its frame buffer, and the pipe writes later.
    segment.child.stdin.write(Buffer.from(bytes));
    segment.audioBytes += bytes.length;
  }

  finalize(): void {
    if (this.done || this.closing) return;
    const segment = this.current();
    if (!segment || segment.audioBytes === 0) return;
    this.endInput(segment, true);
    this.startSegment(); // the next process loads its model while this one decodes
  }

  async *events(): AsyncIterable<SttEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        yield event;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  async close(): Promise<void> {
    if (this.done) return;
    this.closing = true;
    for (const s of this.segments) if (!s.exited) this.endInput(s, false);
    this.deliver();
    if (this.done) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.segments) killGroup(s.child);
        this.finish();
      }, this.closeTimeoutMs);
      this.doneWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private current(): Segment | undefined {
    const last = this.segments[this.segments.length - 1];
    return last && !last.child.stdin.writableEnded ? last : undefined;
  }

  private startSegment(): Segment {
    // Node's stdio "pipes" are socketpairs, and pocketsphinx cannot open /dev/stdin on a socket
    // (ENXIO); `cat |` hands it a real pipe. Its own process group lets kill() reach both.
    const child = spawn('sh', ['-c', 'cat | exec "$0" "$@"', this.command, ...this.args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    const segment: Segment = { child, lines: [], exited: false, finalized: false, audioBytes: 0, startMs: this.pushedMs };
    this.segments.push(segment);
    child.stdin.on('error', () => {}); // EPIPE if it dies; reported through 'close'
    child.stderr.resume(); // logs go to -logfn /dev/null; drain anything else
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const text = line.trim();
      if (text === '') return;
      const word = WORD_LINE.exec(text);
      if (word && segment.open) {
        const [, token, start, end] = word;
        if (token === '</s>') closeHypothesis(segment);
        else if (!FILLER.test(token!)) {
          segment.open.words.push({ word: token!.replace(/\(\d+\)$/, ''), startMs: segment.startMs + Number(start) * 1000, endMs: segment.startMs + Number(end) * 1000 });
        }
        if (token === '</s>') this.deliver();
        return;
      }
      closeHypothesis(segment);
      segment.open = { text, words: [] };
    });
    child.once('error', (err) => {
      segment.failed = new ProviderError(this.name, `could not run ${this.command}: ${err.message}`, { cause: err });
      segment.exited = true; // a process that never started sends no 'close'
      setImmediate(() => this.deliver());
    });
    child.once('close', (code, signal) => {
      if (segment.exited) return;
      segment.exited = true;
      if (!segment.failed && code !== 0 && !this.signal?.aborted && signal !== 'SIGKILL') {
        const why = code === 127 ? `${this.command} not found` : `${this.command} exited with ${code ?? signal}`;
        segment.failed = new ProviderError(this.name, why);
      }
      // readline may still hold the last line; let it flush before delivering.
      setImmediate(() => { closeHypothesis(segment); this.deliver(); });
    });
    return segment;
  }

  private endInput(segment: Segment, finalized: boolean): void {
    if (segment.child.stdin.writableEnded) return;
    segment.finalized = finalized;
    if (this.resampler && segment.audioBytes > 0) {
      const tail = this.resampler.process(new Int16Array((this.sampleRate * FLUSH_SILENCE_MS) / 1000));
      segment.child.stdin.write(Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength));
      this.resampler.reset();
    }
    segment.child.stdin.end();
  }

  /** Moves finished output into the event queue, oldest segment first. */
  private deliver(): void {
    while (this.segments.length > 0) {
      const head = this.segments[0]!;
      for (const { text, words } of head.lines.splice(0)) {
        this.queue.push({ type: 'final', text, speechFinal: true, ...(words.length > 0 ? { words } : {}) });
      }
      if (!head.exited) break;
      this.segments.shift();
      if (head.failed) this.queue.push({ type: 'error', error: head.failed });
      else if (head.finalized) this.queue.push({ type: 'utterance_end' });
    }
    if (this.closing && this.segments.length === 0) this.finish();
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.signal?.removeEventListener('abort', this.onAbort);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
    for (const resolve of this.doneWaiters.splice(0)) resolve();
  }
}
