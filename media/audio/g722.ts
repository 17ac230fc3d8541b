/**
 * ITU-T G.722 wideband speech codec, 64 kbit/s mode (mode 1): 16 kHz PCM16 in
 * and out, one byte per two samples. The encoder splits the signal with a
 * 24-tap quadrature mirror filter (QMF) into a 0-4 kHz and a 4-8 kHz band at
 * 8 kHz each; the low band is coded with 6-bit ADPCM, the high band with
 * 2-bit ADPCM, each with the standard's adaptive quantiser scale (LOGSCL /
 * SCALEL) and its pole-zero predictor (block 4: two poles, six zeros). A code
 * byte is (high << 6) | low. The decoder mirrors it and recombines the bands
 * with the receive QMF. Integer arithmetic follows the standard's blocks
 * (1L-6L, 1H-6H, 4), so the output is bit-exact with other conforming
 * implementations (checked against ffmpeg's in test/media/codecs/g722.test.ts).
 *
 * Hand-written: no maintained G.722 implementation exists on npm, and the
 * codec is a couple of hundred lines of fixed-point arithmetic. Encoder and
 * decoder are stateful (ADPCM and QMF history): one of each per RTP stream
 * direction. Both write into caller-supplied buffers and allocate nothing per
 * frame.
 *
 * RTP (RFC 3551 4.5.2): payload type 9, "G722/8000" in SDP although the audio
 * is 16 kHz; the RTP timestamp advances 8000 per second (160 per 20 ms frame
 * of 320 samples, 160 bytes).
 */

/** Quantiser decision levels (QUANTL), low band, x det >> 12. */
const Q6 = Int32Array.of(
  0, 35, 72, 110, 150, 190, 233, 276, 323, 370, 422, 473, 530, 587, 650, 714,
  786, 858, 940, 1023, 1121, 1219, 1339, 1458, 1612, 1765, 1980, 2195, 2557, 2919, 0, 0,
);
/** Low-band codes for a negative / positive difference, by decision interval. */
const ILN = Int32Array.of(
  0, 63, 62, 31, 30, 29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19,
  18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 0,
);
const ILP = Int32Array.of(
  0, 61, 60, 59, 58, 57, 56, 55, 54, 53, 52, 51, 50, 49, 48, 47,
  46, 45, 44, 43, 42, 41, 40, 39, 38, 37, 36, 35, 34, 33, 32, 0,
);
/** Low-band log scale factor multipliers (LOGSCL). */
const WL = Int32Array.of(-60, -30, 58, 172, 334, 538, 1198, 3042);
const RL42 = Int32Array.of(0, 7, 6, 5, 4, 3, 2, 1, 7, 6, 5, 4, 3, 2, 1, 0);
/** Inverse log base 2 table (SCALEL / SCALEH). */
const ILB = Int32Array.of(
  2048, 2093, 2139, 2186, 2233, 2282, 2332, 2383, 2435, 2489, 2543, 2599, 2656, 2714, 2774, 2834,
  2896, 2960, 3025, 3091, 3158, 3228, 3298, 3371, 3444, 3520, 3597, 3676, 3756, 3838, 3922, 4008,
);
/** 4-bit inverse quantiser (INVQAL: the predictor only ever sees the 4 most significant low-band bits). */
const QM4 = Int32Array.of(0, -20456, -12896, -8968, -6288, -4240, -2584, -1200, 20456, 12896, 8968, 6288, 4240, 2584, 1200, 0);
/** 6-bit inverse quantiser (INVQBL, 64 kbit/s mode). */
const QM6 = Int32Array.of(
  -136, -136, -136, -136, -24808, -21904, -19008, -16704, -14984, -13512, -12280, -11192, -10232, -9360, -8576, -7856,
  -7192, -6576, -6000, -5456, -4944, -4464, -4008, -3576, -3168, -2776, -2400, -2032, -1688, -1360, -1040, -728,
  24808, 21904, 19008, 16704, 14984, 13512, 12280, 11192, 10232, 9360, 8576, 7856, 7192, 6576, 6000, 5456,
  4944, 4464, 4008, 3576, 3168, 2776, 2400, 2032, 1688, 1360, 1040, 728, 432, 136, -432, -136,
);
/** High band: 2-bit inverse quantiser, codes and log scale factor multipliers. */
const QM2 = Int32Array.of(-7408, -1616, 7408, 1616);
const IHN = Int32Array.of(0, 1, 0);
const IHP = Int32Array.of(0, 3, 2);
const WH = Int32Array.of(0, -214, 798);
const RH2 = Int32Array.of(2, 1, 2, 1);
/** QMF coefficients (the 24-tap filter is symmetric: 12 distinct values). */
const QMF = Int32Array.of(3, -11, 12, 32, -210, 951, 3876, -805, 362, -156, 53, -11);

function saturate(x: number): number {
  return x > 32767 ? 32767 : x < -32768 ? -32768 : x;
}

/** One sub-band's ADPCM state: scale factor and the pole-zero predictor (block 4). */
class Band {
  /** Predicted signal (sp + sz). */
  s = 0;
  sp = 0;
  sz = 0;
  /** Reconstructed signal r, partial reconstructed p, quantised differences d (newest first). */
  readonly r = new Int32Array(3);
  readonly p = new Int32Array(3);
  readonly d = new Int32Array(7);
  /** Pole (a) and zero (b) predictor coefficients, and their updates (ap, bp). */
  readonly a = new Int32Array(3);
  readonly ap = new Int32Array(3);
  readonly b = new Int32Array(7);
  readonly bp = new Int32Array(7);
  readonly sg = new Int32Array(7);
  /** Log scale factor and scale factor. */
  nb = 0;
  det: number;

  constructor(initialDet: number) {
    this.det = initialDet;
  }

  /** Block 4: reconstruct, adapt the predictor to the quantised difference `dq`, predict the next sample. */
  update(dq: number): void {
    const { r, p, d, a, ap, b, bp, sg } = this;
    // RECONS, PARREC
    d[0] = dq;
    r[0] = saturate(this.s + dq);
    p[0] = saturate(this.sz + dq);
    // UPPOL2
    for (let i = 0; i < 3; i++) sg[i] = p[i]! >> 15;
    let wd1 = saturate(a[1]! << 2);
    let wd2 = sg[0] === sg[1] ? -wd1 : wd1;
    if (wd2 > 32767) wd2 = 32767;
    let wd3 = (wd2 >> 7) + (sg[0] === sg[2] ? 128 : -128);
    wd3 += (a[2]! * 32512) >> 15;
    if (wd3 > 12288) wd3 = 12288;
    else if (wd3 < -12288) wd3 = -12288;
    ap[2] = wd3;
    // UPPOL1
    sg[0] = p[0]! >> 15;
    sg[1] = p[1]! >> 15;
    wd1 = sg[0] === sg[1] ? 192 : -192;
    wd2 = (a[1]! * 32640) >> 15;
    ap[1] = saturate(wd1 + wd2);
    wd3 = saturate(15360 - ap[2]!);
    if (ap[1]! > wd3) ap[1] = wd3;
    else if (ap[1]! < -wd3) ap[1] = -wd3;
    // UPZERO
    wd1 = dq === 0 ? 0 : 128;
    sg[0] = dq >> 15;
    for (let i = 1; i < 7; i++) {
      sg[i] = d[i]! >> 15;
      wd2 = sg[i] === sg[0] ? wd1 : -wd1;
      wd3 = (b[i]! * 32640) >> 15;
      bp[i] = saturate(wd2 + wd3);
    }
    // DELAYA
    for (let i = 6; i > 0; i--) {
      d[i] = d[i - 1]!;
      b[i] = bp[i]!;
    }
    for (let i = 2; i > 0; i--) {
      r[i] = r[i - 1]!;
      p[i] = p[i - 1]!;
      a[i] = ap[i]!;
    }
    // FILTEP
    wd1 = saturate(r[1]! + r[1]!);
    wd1 = (a[1]! * wd1) >> 15;
    wd2 = saturate(r[2]! + r[2]!);
    wd2 = (a[2]! * wd2) >> 15;
    this.sp = saturate(wd1 + wd2);
    // FILTEZ
    let sz = 0;
    for (let i = 6; i > 0; i--) {
      const w = saturate(d[i]! + d[i]!);
      sz += (b[i]! * w) >> 15;
    }
    this.sz = saturate(sz);
    // PREDIC
    this.s = saturate(this.sp + this.sz);
  }
}

/** LOGSCL + SCALEL (low band): adapts the scale factor to the 4-bit code index `ril`. */
function adaptLow(band: Band, ril: number): void {
  let nb = ((band.nb * 127) >> 7) + WL[RL42[ril]!]!;
  if (nb < 0) nb = 0;
  else if (nb > 18432) nb = 18432;
  band.nb = nb;
  band.det = scale(nb, 8);
}

/** LOGSCH + SCALEH (high band). */
function adaptHigh(band: Band, ihigh: number): void {
  let nb = ((band.nb * 127) >> 7) + WH[RH2[ihigh]!]!;
  if (nb < 0) nb = 0;
  else if (nb > 22528) nb = 22528;
  band.nb = nb;
  band.det = scale(nb, 10);
}

function scale(nb: number, bias: number): number {
  const mantissa = ILB[(nb >> 6) & 31]!;
  const shift = bias - (nb >> 11);
  return (shift < 0 ? mantissa << -shift : mantissa >> shift) << 2;
}

/** Bytes of G.722 (64 kbit/s) for `samples` 16 kHz samples, and the reverse. */
export const g722BytesFor = (samples: number): number => samples >> 1;
export const g722SamplesFor = (bytes: number): number => bytes << 1;

export class G722Encoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  /** Transmit QMF history: the last 24 input samples. */
  private readonly x = new Int32Array(24);

  /** Encodes `pcm` (16 kHz, an even number of samples) into `out` from `outOffset`; returns the byte count. */
  encode(pcm: Int16Array, out: Uint8Array, outOffset = 0): number {
    const n = pcm.length >> 1;
    if (pcm.length & 1) throw new RangeError(`G.722 encodes sample pairs; got ${pcm.length} samples`);
    if (out.length - outOffset < n) throw new RangeError(`G.722 output needs ${n} bytes, has ${out.length - outOffset}`);
    const { low, high, x } = this;
    for (let k = 0; k < n; k++) {
      // Transmit QMF: shift two samples in, keep every other output.
      x.copyWithin(0, 2);
      x[22] = pcm[2 * k]!;
      x[23] = pcm[2 * k + 1]!;
      let sumOdd = 0;
      let sumEven = 0;
      for (let i = 0; i < 12; i++) {
        sumOdd += x[2 * i]! * QMF[i]!;
        sumEven += x[2 * i + 1]! * QMF[11 - i]!;
      }
      const xlow = (sumEven + sumOdd) >> 14;
      const xhigh = (sumEven - sumOdd) >> 14;

      // Low band. SUBTRA, QUANTL
      const el = saturate(xlow - low.s);
      let wd = el >= 0 ? el : -(el + 1);
      let i = 1;
      for (; i < 30; i++) if (wd < ((Q6[i]! * low.det) >> 12)) break;
      const ilow = el < 0 ? ILN[i]! : ILP[i]!;
      // INVQAL, then LOGSCL/SCALEL, then block 4
      const ril = ilow >> 2;
      const dlow = (low.det * QM4[ril]!) >> 15;
      adaptLow(low, ril);
      low.update(dlow);

      // High band. SUBTRA, QUANTH
      const eh = saturate(xhigh - high.s);
      wd = eh >= 0 ? eh : -(eh + 1);
      const mih = wd >= ((564 * high.det) >> 12) ? 2 : 1;
      const ihigh = eh < 0 ? IHN[mih]! : IHP[mih]!;
      // INVQAH, LOGSCH/SCALEH, block 4
      const dhigh = (high.det * QM2[ihigh]!) >> 15;
      adaptHigh(high, ihigh);
      high.update(dhigh);

      out[outOffset + k] = (ihigh << 6) | ilow;
    }
    return n;
  }
}

export class G722Decoder {
  private readonly low = new Band(32);
  private readonly high = new Band(8);
  /** Receive QMF history. */
  private readonly x = new Int32Array(24);

  /** Decodes `bytes` into `out` (16 kHz, two samples a byte) from `outOffset`; returns the sample count. */
  decode(bytes: Uint8Array, out: Int16Array, outOffset = 0): number {
    const n = bytes.length;
    if (out.length - outOffset < 2 * n) throw new RangeError(`G.722 output needs ${2 * n} samples, has ${out.length - outOffset}`);
    const { low, high, x } = this;
    for (let k = 0; k < n; k++) {
      const code = bytes[k]!;
      const ilow = code & 0x3f;
      const ihigh = (code >> 6) & 0x03;

      // Low band. INVQBL, RECONS, LIMIT
      let rlow = low.s + ((low.det * QM6[ilow]!) >> 15);
      if (rlow > 16383) rlow = 16383;
      else if (rlow < -16384) rlow = -16384;
      // INVQAL, LOGSCL/SCALEL, block 4
      const ril = ilow >> 2;
      const dlow = (low.det * QM4[ril]!) >> 15;
      adaptLow(low, ril);
      low.update(dlow);

      // High band. INVQAH, RECONS, LIMIT
      const dhigh = (high.det * QM2[ihigh]!) >> 15;
      let rhigh = dhigh + high.s;
      if (rhigh > 16383) rhigh = 16383;
      else if (rhigh < -16384) rhigh = -16384;
      adaptHigh(high, ihigh);
      high.update(dhigh);

      // Receive QMF
      x.copyWithin(0, 2);
      x[22] = rlow + rhigh;
      x[23] = rlow - rhigh;
      let xout1 = 0;
      let xout2 = 0;
      for (let i = 0; i < 12; i++) {
        xout2 += x[2 * i]! * QMF[i]!;
        xout1 += x[2 * i + 1]! * QMF[11 - i]!;
      }
      out[outOffset + 2 * k] = saturate(xout1 >> 11);
      out[outOffset + 2 * k + 1] = saturate(xout2 >> 11);
    }
    return 2 * n;
  }
}
