/**
 * Offline text to speech with espeak-ng: `espeak-ng --stdout --stdin` writes a
 * 22050 Hz mono PCM16 WAV as it synthesizes (sentence by sentence, much faster
 * than real time); this adapter reads the header with media/audio/wav.ts and
 * yields the PCM as it arrives. The text goes in on stdin, not on the command
 * line, so call content never shows up in the process list. Aborting kills
 * the process and ends the stream quietly.
 */
import { spawn } from 'node:child_process';
import { parseWav } from '../../media/audio/wav.ts';
import { ProviderError, type TextToSpeech } from '../providers/types.ts';

export interface EspeakOptions {
  /** Program to run. Default `espeak-ng`. */
  command?: string;
  /** espeak-ng voice when synthesize() gets none. Default `en-us`. */
  voice?: string;
  /** Words per minute (espeak-ng -s). Default 175 (espeak-ng's own default). */
  wordsPerMinute?: number;
}

const WAV_HEADER_BYTES = 44;
const VOICE_PATTERN = /^[A-Za-z0-9+_-]{1,64}$/;

export class EspeakTextToSpeech implements TextToSpeech {
  readonly name = 'espeak-ng';
  readonly sampleRate = 22050;
  private readonly command: string;
  private readonly defaultVoice: string;
  private readonly wordsPerMinute: number;

  constructor(options: EspeakOptions = {}) {
    this.command = options.command ?? 'espeak-ng';
    this.defaultVoice = options.voice ?? 'en-us';
    this.wordsPerMinute = options.wordsPerMinute ?? 175;
  }

  async *synthesize(text: string, opts: { voice?: string; signal: AbortSignal }): AsyncIterable<Int16Array> {
    const voice = opts.voice ?? this.defaultVoice;
    if (!VOICE_PATTERN.test(voice)) throw new ProviderError(this.name, `invalid voice name (letters, digits, + _ - only)`);
    if (opts.signal.aborted || text.trim() === '') return;

    const child = spawn(this.command, ['--stdout', '--stdin', '-b', '1', '-v', voice, '-s', String(this.wordsPerMinute)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const kill = (): void => {
      child.kill('SIGKILL');
    };
    opts.signal.addEventListener('abort', kill, { once: true });

    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      if (stderr.length < 2000) stderr += d;
    });
    const exited = new Promise<{ code: number | null; error?: Error }>((resolve) => {
      child.once('error', (error) => resolve({ code: null, error }));
      child.once('close', (code) => resolve({ code }));
    });
    child.stdin.on('error', () => {}); // EPIPE when the process dies early; `exited` reports it
    child.stdin.end(text.replace(/\s+/g, ' ').trim() + '\n');

    let header: Buffer | undefined = Buffer.alloc(0);
    let carry: Buffer | undefined;
    try {
      for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
        if (opts.signal.aborted) return;
        let data = chunk;
        if (header) {
          header = Buffer.concat([header, data]);
          if (header.length < WAV_HEADER_BYTES) continue;
          const wav = parseWav(header.subarray(0, WAV_HEADER_BYTES));
          if (wav.encoding !== 'pcm16' || wav.channels !== 1 || wav.sampleRate !== this.sampleRate) {
            throw new ProviderError(this.name, `unexpected output: ${wav.encoding} ${wav.channels} ch ${wav.sampleRate} Hz`);
          }
          data = header.subarray(WAV_HEADER_BYTES);
          header = undefined;
        }
        if (carry) {
          data = Buffer.concat([carry, data]);
          carry = undefined;
        }
        const whole = data.length & ~1;
        if (whole < data.length) carry = Buffer.from(data.subarray(whole));
        if (whole === 0) continue;
        // Copy into an aligned Int16Array; the pipe's buffers may start at odd offsets.
        const samples = new Int16Array(whole >> 1);
        for (let i = 0; i < samples.length; i++) samples[i] = data.readInt16LE(i * 2);
        yield samples;
      }
      if (opts.signal.aborted) return;
      const { code, error } = await exited;
      if (error) throw new ProviderError(this.name, `could not run ${this.command}: ${error.message}`, { cause: error });
      if (code !== 0) throw new ProviderError(this.name, `${this.command} exited with code ${code}: ${stderr.trim().slice(0, 200)}`);
      if (header) throw new ProviderError(this.name, `${this.command} produced no audio`);
    } finally {
      opts.signal.removeEventListener('abort', kill);
      if (child.exitCode === null && child.signalCode === null) kill();
    }
  }
}
