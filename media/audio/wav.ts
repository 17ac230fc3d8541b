/**
 * WAV (RIFF) reading and writing for PCM16 and G.711 audio. Hand-written: the
 * format is a few fixed headers, and the npm packages for it either buffer whole
 * files in odd shapes or go unmaintained. Truncated or malformed files get an
 * error naming what is wrong, never a crash or silent garbage.
 */
export type WavEncoding = 'pcm16' | 'mulaw' | 'alaw';

export interface WavAudio {
  sampleRate: number;
  channels: number;
  encoding: WavEncoding;
  /** Interleaved samples as stored: Int16 for pcm16, raw bytes for G.711. */
  data: Buffer;
}

export class WavFormatError extends Error {
  override name = 'WavFormatError';
}

const FORMAT_CODES: Record<number, WavEncoding | undefined> = { 1: 'pcm16', 6: 'alaw', 7: 'mulaw' };
const CODE_OF: Record<WavEncoding, number> = { pcm16: 1, alaw: 6, mulaw: 7 };

export function parseWav(file: Buffer): WavAudio {
  if (file.length < 12) throw new WavFormatError(`WAV too short: ${file.length} bytes, a RIFF header needs 12`);
  if (file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 8, 12) !== 'WAVE') {
    throw new WavFormatError('not a WAV file: missing RIFF/WAVE header');
  }
  let fmt: { code: number; channels: number; sampleRate: number; bits: number } | undefined;
  let offset = 12;
  while (offset + 8 <= file.length) {
    const id = file.toString('latin1', offset, offset + 4);
    const size = file.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > file.length) throw new WavFormatError('WAV fmt chunk is truncated');
      fmt = {
        code: file.readUInt16LE(body),
        channels: file.readUInt16LE(body + 2),
        sampleRate: file.readUInt32LE(body + 4),
        bits: file.readUInt16LE(body + 14),
      };
      // WAVE_FORMAT_EXTENSIBLE carries the real format code in its sub-format GUID.
      if (fmt.code === 0xfffe && size >= 40 && body + 26 <= file.length) fmt.code = file.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (!fmt) throw new WavFormatError('WAV data chunk comes before its fmt chunk');
      const encoding = FORMAT_CODES[fmt.code];
      if (!encoding) throw new WavFormatError(`unsupported WAV format code ${fmt.code} (PCM16, A-law and mu-law are supported)`);
      const expectedBits = encoding === 'pcm16' ? 16 : 8;
      if (fmt.bits !== expectedBits) throw new WavFormatError(`unsupported ${fmt.bits}-bit ${encoding} WAV`);
      if (fmt.channels < 1 || fmt.sampleRate < 1) throw new WavFormatError('WAV fmt chunk has no channels or no sample rate');
      // A file cut short (or one with the streaming "unknown size" marker) keeps what is there.
      const available = Math.min(size, file.length - body);
      const frameBytes = fmt.channels * (expectedBits / 8);
      const usable = available - (available % frameBytes);
      return { sampleRate: fmt.sampleRate, channels: fmt.channels, encoding, data: file.subarray(body, body + usable) };
    }
    offset = body + size + (size % 2);
  }
  throw new WavFormatError(fmt ? 'WAV has no data chunk (truncated?)' : 'WAV has no fmt chunk (truncated?)');
}

/** A 44-byte canonical header; `dataBytes` may be 0xffffffff for a stream of unknown length. */
export function wavHeader(opts: { sampleRate: number; channels: number; encoding: WavEncoding; dataBytes: number }): Buffer {
  const bytesPerSample = opts.encoding === 'pcm16' ? 2 : 1;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(Math.min(0xffffffff, 36 + opts.dataBytes), 4);
  header.write('WAVE', 8, 'latin1');
  header.write('fmt ', 12, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(CODE_OF[opts.encoding], 20);
  header.writeUInt16LE(opts.channels, 22);
  header.writeUInt32LE(opts.sampleRate, 24);
  header.writeUInt32LE(opts.sampleRate * opts.channels * bytesPerSample, 28);
  header.writeUInt16LE(opts.channels * bytesPerSample, 32);
  header.writeUInt16LE(bytesPerSample * 8, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(opts.dataBytes, 40);
  return header;
}

export function encodeWav(audio: WavAudio): Buffer {
  return Buffer.concat([wavHeader({ ...audio, dataBytes: audio.data.length }), audio.data]);
}

/** PCM16 samples of a pcm16 WAV's data (little-endian, copied so alignment is safe). */
export function pcm16Samples(audio: WavAudio): Int16Array {
  if (audio.encoding !== 'pcm16') throw new WavFormatError(`expected PCM16 audio, got ${audio.encoding}`);
  const samples = new Int16Array(audio.data.length >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = audio.data.readInt16LE(i * 2);
  return samples;
}
