/**
 * Voice on the wire: a frame counts as voice when its RMS level is above a
 * threshold in dBFS. A server may send silence or comfort noise between
 * utterances, so "a packet arrived" is not "the agent spoke".
 */

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
