/**
 * ITU-T G.711 mu-law (PCMU) and A-law (PCMA) for 8 kHz telephone audio.
 * Hand-written: the codec is a few lines of bit arithmetic, and table lookups
 * make it cheaper than any general-purpose package. Decoding uses 256-entry
 * tables; encoding uses 65536-entry tables indexed by the 16-bit sample, both
 * built once at load. The frame functions write into caller-supplied buffers so
 * the per-packet path allocates nothing.
 */

const MULAW_BIAS = 0x84;
const MULAW_CLIP = 32635;

/** Reference mu-law encoder for one PCM16 sample (used to build the table). */
function mulawFromLinear(sample: number): number {
  let magnitude = sample;
  let sign = 0;
  if (magnitude < 0) {
    magnitude = -magnitude;
    sign = 0x80;
  }
  if (magnitude > MULAW_CLIP) magnitude = MULAW_CLIP;
  magnitude += MULAW_BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (magnitude & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

function linearFromMulaw(code: number): number {
  const u = ~code & 0xff;
  const magnitude = (((u & 0x0f) << 3) + MULAW_BIAS) << ((u & 0x70) >> 4);
  return u & 0x80 ? MULAW_BIAS - magnitude : magnitude - MULAW_BIAS;
}

/** Reference A-law encoder for one PCM16 sample (used to build the table). */
function alawFromLinear(sample: number): number {
  let magnitude = sample;
  let sign = 0x80; // A-law sets the sign bit for positive values
  if (magnitude < 0) {
    sign = 0;
    magnitude = -magnitude - 1; // one's complement, as in the ITU reference
  }
  let exponent = 0;
  let mantissa: number;
  if (magnitude < 256) {
    mantissa = magnitude >> 4;
  } else {
    exponent = 1;
    while (exponent < 7 && magnitude >= 512 << (exponent - 1)) exponent++;
    mantissa = (magnitude >> (exponent + 3)) & 0x0f;
  }
  return (sign | (exponent << 4) | mantissa) ^ 0x55;
}

function linearFromAlaw(code: number): number {
  const a = code ^ 0x55;
  const exponent = (a >> 4) & 0x07;
  const mantissa = a & 0x0f;
  const magnitude = exponent === 0 ? (mantissa << 4) + 8 : ((mantissa << 4) + 0x108) << (exponent - 1);
  return a & 0x80 ? magnitude : -magnitude;
}

const MULAW_DECODE = new Int16Array(256);
const ALAW_DECODE = new Int16Array(256);
for (let code = 0; code < 256; code++) {
  MULAW_DECODE[code] = linearFromMulaw(code);
  ALAW_DECODE[code] = linearFromAlaw(code);
}

/** Indexed by the sample's 16-bit pattern (sample & 0xffff). */
const MULAW_ENCODE = new Uint8Array(65536);
const ALAW_ENCODE = new Uint8Array(65536);
for (let sample = -32768; sample < 32768; sample++) {
  MULAW_ENCODE[sample & 0xffff] = mulawFromLinear(sample);
  ALAW_ENCODE[sample & 0xffff] = alawFromLinear(sample);
}

export type G711Law = 'mulaw' | 'alaw';

export function encodeMulawSample(sample: number): number {
  return MULAW_ENCODE[sample & 0xffff]!;
}
export function decodeMulawSample(code: number): number {
  return MULAW_DECODE[code & 0xff]!;
}
export function encodeAlawSample(sample: number): number {
  return ALAW_ENCODE[sample & 0xffff]!;
}
export function decodeAlawSample(code: number): number {
  return ALAW_DECODE[code & 0xff]!;
}

function encodeWith(table: Uint8Array, pcm: Int16Array, out: Uint8Array, outOffset: number): number {
  const n = pcm.length;
  if (out.length - outOffset < n) throw new RangeError(`G.711 output needs ${n} bytes, has ${out.length - outOffset}`);
  for (let i = 0; i < n; i++) out[outOffset + i] = table[pcm[i]! & 0xffff]!;
  return n;
}

function decodeWith(table: Int16Array, bytes: Uint8Array, out: Int16Array, outOffset: number): number {
  const n = bytes.length;
  if (out.length - outOffset < n) throw new RangeError(`G.711 output needs ${n} samples, has ${out.length - outOffset}`);
  for (let i = 0; i < n; i++) out[outOffset + i] = table[bytes[i]!]!;
  return n;
}

/** Encodes every sample of `pcm` into `out` from `outOffset`; returns the byte count. */
export function encodeMulaw(pcm: Int16Array, out: Uint8Array, outOffset = 0): number {
  return encodeWith(MULAW_ENCODE, pcm, out, outOffset);
}
export function encodeAlaw(pcm: Int16Array, out: Uint8Array, outOffset = 0): number {
  return encodeWith(ALAW_ENCODE, pcm, out, outOffset);
}
/** Decodes every byte of `bytes` into `out` from `outOffset`; returns the sample count. */
export function decodeMulaw(bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
  return decodeWith(MULAW_DECODE, bytes, out, outOffset);
}
export function decodeAlaw(bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
  return decodeWith(ALAW_DECODE, bytes, out, outOffset);
}

export function encodeG711(law: G711Law, pcm: Int16Array, out: Uint8Array, outOffset = 0): number {
  return encodeWith(law === 'mulaw' ? MULAW_ENCODE : ALAW_ENCODE, pcm, out, outOffset);
}
export function decodeG711(law: G711Law, bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
  return decodeWith(law === 'mulaw' ? MULAW_DECODE : ALAW_DECODE, bytes, out, outOffset);
}

/** The byte that encodes silence: 0xFF for mu-law, 0xD5 for A-law. */
export const G711_SILENCE: Readonly<Record<G711Law, number>> = { mulaw: 0xff, alaw: 0xd5 };
