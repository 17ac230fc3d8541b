/**
 * Opus for WebRTC callers: 48 kHz mono, 20 ms frames (960 samples), on
 * `opusscript` (libopus compiled to WebAssembly: no native build, so
 * `npm install` stays the whole set-up). Browsers send opus/48000/2; a mono
 * decoder folds a stereo stream down, and what we encode is mono (allowed by
 * the opus/48000/2 rtpmap, RFC 7587). One codec instance per call direction:
 * Opus keeps state between frames.
 */
import { createRequire } from 'node:module';
import type OpusScriptType from 'opusscript';

const require = createRequire(import.meta.url);
const OpusScript = require('opusscript') as typeof OpusScriptType;

export const OPUS_RATE = 48_000;
export const OPUS_FRAME_SAMPLES = 960;

export class OpusEncoder {
  private readonly codec = new OpusScript(OPUS_RATE, 1, OpusScript.Application.VOIP);

  /** One 20 ms frame (960 samples at 48 kHz) to one Opus packet. */
  encode(pcm: Int16Array): Buffer {
    if (pcm.length !== OPUS_FRAME_SAMPLES) throw new RangeError(`an Opus frame is ${OPUS_FRAME_SAMPLES} samples, not ${pcm.length}`);
    return this.codec.encode(Buffer.from(pcm.buffer, pcm.byteOffset, pcm.byteLength), OPUS_FRAME_SAMPLES);
  }

  close(): void {
    this.codec.delete();
  }
}

export class OpusDecoder {
  private readonly codec = new OpusScript(OPUS_RATE, 1, OpusScript.Application.VOIP);

  /** One Opus packet to PCM16 at 48 kHz (as many samples as the packet holds); throws on a corrupt packet. */
  decode(packet: Uint8Array): Int16Array {
    const out = this.codec.decode(Buffer.from(packet.buffer, packet.byteOffset, packet.byteLength));
    return new Int16Array(out.buffer.slice(out.byteOffset, out.byteOffset + out.byteLength));
  }

  close(): void {
    this.codec.delete();
  }
}
