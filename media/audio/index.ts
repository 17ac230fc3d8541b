/** Public face of media/audio: G.711, resampling and WAV files. */
export {
  decodeAlaw, decodeAlawSample, decodeG711, decodeMulaw, decodeMulawSample, encodeAlaw, encodeAlawSample, encodeG711,
  encodeMulaw, encodeMulawSample, G711_SILENCE,
} from './g711.ts';
export type { G711Law } from './g711.ts';
export { resample, Resampler } from './resample.ts';
export type { ResamplerOptions } from './resample.ts';
export { encodeWav, parseWav, pcm16Samples, wavHeader, WavFormatError } from './wav.ts';
export type { WavAudio, WavEncoding } from './wav.ts';
