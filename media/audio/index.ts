/** Public face of media/audio: G.711, G.722, the voice codec table, resampling and WAV files. */
export {
  decodeAlaw, decodeAlawSample, decodeG711, decodeMulaw, decodeMulawSample, encodeAlaw, encodeAlawSample, encodeG711,
  encodeMulaw, encodeMulawSample, G711_SILENCE,
} from './g711.ts';
export type { G711Law } from './g711.ts';
export { resample, Resampler } from './resample.ts';
export type { ResamplerOptions } from './resample.ts';
export { encodeWav, parseWav, pcm16Samples, wavHeader, WavFormatError } from './wav.ts';
export type { WavAudio, WavEncoding } from './wav.ts';
export { G722Decoder, G722Encoder, g722BytesFor, g722SamplesFor } from './g722.ts';
export { voiceCodec } from './voice-codec.ts';
export type { VoiceCodec, VoiceCodecName, VoiceDecoder, VoiceEncoder } from './voice-codec.ts';
