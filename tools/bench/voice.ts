/**
 * Voice on the wire: a frame counts as voice when its RMS level is above a
 * threshold in dBFS. A server may send silence or comfort noise between
 * utterances, so "a packet arrived" is not "the agent spoke".
 */
import { decodeAlawSample, decodeMulawSample, type G711Law } from '../../media/audio/index.ts';

/** RMS level of PCM16 samples in dBFS (full scale 32768); -Infinity for digital silence. */
export function frameDbfs(pcm: Int16Array, length = pcm.length): number {
  if (length === 0) return -Infinity;
  let sum = 0;
  for (let i = 0; i < length; i++) {
    const s = pcm[i]!;
    sum += s * s;
  }
  if (sum === 0) return -Infinity;
  return 10 * Math.log10(sum / length / (32768 * 32768));
}

/** Default voice threshold: espeak speech sits around -20 dBFS, the fixtures' pink noise at -40. */
export const DEFAULT_VOICE_THRESHOLD_DBFS = -45;

function squaresOf(decode: (code: number) => number): Float64Array {
  const table = new Float64Array(256);
  for (let code = 0; code < 256; code++) table[code] = decode(code) ** 2;
  return table;
}

/** Square of every G.711 code's linear value, per law. */
const SQUARES: Record<G711Law, Float64Array> = { mulaw: squaresOf(decodeMulawSample), alaw: squaresOf(decodeAlawSample) };

/**
 * frameDbfs of the G.711 payload's decoded samples, without decoding: one
 * table lookup per byte (the caller's receive path runs it for every packet).
 * The sum of squares is the same exact integer, so the result is identical.
 */
export function g711FrameDbfs(law: G711Law, bytes: Uint8Array, length = bytes.length): number {
  if (length === 0) return -Infinity;
  const sq = SQUARES[law];
  let sum = 0;
  for (let i = 0; i < length; i++) sum += sq[bytes[i]!]!;
  if (sum === 0) return -Infinity;
  return 10 * Math.log10(sum / length / (32768 * 32768));
}
