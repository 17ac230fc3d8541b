/**
 * The voice codecs an RTP stream can carry, behind one shape: the PCM sample
 * rate the codec works at, how payload bytes and samples relate, and a fresh
 * encoder and decoder per stream (G.722 keeps ADPCM and filter state between
 * packets; G.711 does not, but is used the same way). RTP timestamps are a
 * separate matter: all three run an 8000 Hz RTP clock (RFC 3551: G.722 is
 * "G722/8000" although its audio is 16 kHz).
 */
import { decodeG711, encodeG711 } from './g711.ts';
import type { G711Law } from './g711.ts';
import { G722Decoder, G722Encoder, g722BytesFor, g722SamplesFor } from './g722.ts';

export type VoiceCodecName = 'PCMU' | 'PCMA' | 'G722';

export interface VoiceEncoder {
  /** Encodes `pcm` (at the codec's sample rate) into `out` from `outOffset`; returns the byte count. */
  encode(pcm: Int16Array, out: Uint8Array, outOffset?: number): number;
}

export interface VoiceDecoder {
  /** Decodes a payload into `out` from `outOffset`; returns the sample count. */
  decode(payload: Uint8Array, out: Int16Array, outOffset?: number): number;
}

export interface VoiceCodec {
  readonly name: VoiceCodecName;
  /** Sample rate of the PCM the codec takes and gives. */
  readonly sampleRate: number;
  bytesFor(samples: number): number;
  samplesFor(bytes: number): number;
  createEncoder(): VoiceEncoder;
  createDecoder(): VoiceDecoder;
}

function g711(name: 'PCMU' | 'PCMA', law: G711Law): VoiceCodec {
  const encoder: VoiceEncoder = { encode: (pcm, out, offset = 0) => encodeG711(law, pcm, out, offset) };
  const decoder: VoiceDecoder = { decode: (payload, out, offset = 0) => decodeG711(law, payload, out, offset) };
  return {
    name, sampleRate: 8000, bytesFor: (n) => n, samplesFor: (n) => n,
    createEncoder: () => encoder, createDecoder: () => decoder,
  };
}

const CODECS: Readonly<Record<VoiceCodecName, VoiceCodec>> = {
  PCMU: g711('PCMU', 'mulaw'),
  PCMA: g711('PCMA', 'alaw'),
  G722: {
    name: 'G722', sampleRate: 16000, bytesFor: g722BytesFor, samplesFor: g722SamplesFor,
    createEncoder: () => new G722Encoder(), createDecoder: () => new G722Decoder(),
  },
};

/** The codec of an SDP encoding name (case-insensitive); throws a RangeError for one this server cannot carry. */
export function voiceCodec(name: string): VoiceCodec {
  const codec = CODECS[name.toUpperCase() as VoiceCodecName];
  if (!codec) throw new RangeError(`RTP audio supports PCMU, PCMA and G722, not ${name}`);
  return codec;
}
