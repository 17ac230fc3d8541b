/**
 * Opus for WebRTC callers: 48 kHz mono, 20 ms frames (960 samples), on
 * libopus compiled to WebAssembly by `opusscript` (no native build, so
 * `npm install` stays the whole set-up). Browsers send opus/48000/2; a mono
 * decoder folds a stereo stream down, and what we encode is mono (allowed by
 * the opus/48000/2 rtpmap, RFC 7587). One codec instance per call direction:
 * Opus keeps state between frames.
 *
 * Why not opusscript's own class: it takes views of the WebAssembly heap
 * once, when an instance is made, and the heap's buffer is replaced whenever
 * the module's memory grows (more calls, more codec states). From then on
 * every older instance fails ("detached ArrayBuffer"), and its decoder can
 * write at address 0 of the heap, after which even new instances fail
 * ("memory access out of bounds"): with enough concurrent browser calls,
 * every call's audio would break. This module drives the same WebAssembly
 * build (its `OpusScriptHandler`) and reads the heap's current buffer on
 * every call. Its buffers hold one byte of PCM per 16-bit slot (the build's
 * convention, which opusscript's class follows too): PCM bytes are widened
 * into the slots on the way in and narrowed back on the way out.
 */
import { createRequire } from 'node:module';

export const OPUS_RATE = 48_000;
export const OPUS_FRAME_SAMPLES = 960;

/** libopus's application for speech (OPUS_APPLICATION_VOIP). */
const APPLICATION_VOIP = 2048;
/** The largest packet libopus writes (RFC 6716: 1275 bytes a frame, up to 3 frames), and 120 ms of PCM. */
const MAX_PACKET_BYTES = 1276 * 3;
const MAX_PCM_BYTES = (OPUS_RATE * 120) / 1000 * 2;

interface OpusHandler {
  _encode(pcmPointer: number, pcmBytes: number, packetPointer: number, frameSamples: number): number;
  _decode(packetPointer: number, packetBytes: number, pcmPointer: number): number;
}

interface OpusNative {
  OpusScriptHandler: { new (rate: number, channels: number, application: number): OpusHandler; destroy_handler(handler: OpusHandler): void };
  _malloc(bytes: number): number;
  _free(pointer: number): void;
  /** Replaced by the module when its memory grows: read them at every use. */
  HEAPU8: Uint8Array;
  HEAPU16: Uint16Array;
}

const ERRORS: Record<number, string> = {
  [-1]: 'bad argument', [-2]: 'buffer too small', [-3]: 'internal error', [-4]: 'invalid packet', [-5]: 'unimplemented', [-6]: 'invalid state', [-7]: 'memory allocation failed',
};

let native: OpusNative | undefined;

/** The one WebAssembly instance of libopus in this thread, loaded on first use (synchronously). */
function opusNative(): OpusNative {
  if (!native) {
    const require = createRequire(import.meta.url);
    const factory = require('opusscript/build/opusscript_native_wasm.js') as () => OpusNative;
    native = factory();
  }
  return native;
}

/** One libopus state with its own input and output buffers in the WebAssembly heap. */
class OpusState {
  protected readonly native = opusNative();
  protected readonly handler = new this.native.OpusScriptHandler(OPUS_RATE, 1, APPLICATION_VOIP);
  /** Heap addresses; PCM buffers have a 16-bit slot per PCM byte (twice the bytes). */
  protected readonly input: number;
  protected readonly output: number;
  private closed = false;

  constructor(inputBytes: number, outputBytes: number) {
    this.input = this.native._malloc(inputBytes);
    this.output = this.native._malloc(outputBytes);
  }

  protected check(result: number, what: string): number {
    if (result < 0) throw new Error(`Opus ${what} failed: ${ERRORS[result] ?? `error ${result}`}`);
    return result;
  }

  protected assertOpen(): void {
    if (this.closed) throw new Error('this Opus codec is closed');
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.native.OpusScriptHandler.destroy_handler(this.handler);
    this.native._free(this.input);
    this.native._free(this.output);
  }
}

export class OpusEncoder extends OpusState {
  constructor() {
    super(OPUS_FRAME_SAMPLES * 2 * 2, MAX_PACKET_BYTES);
  }

  /** One 20 ms frame (960 samples at 48 kHz) to one Opus packet. */
  encode(pcm: Int16Array): Buffer {
    if (pcm.length !== OPUS_FRAME_SAMPLES) throw new RangeError(`an Opus frame is ${OPUS_FRAME_SAMPLES} samples, not ${pcm.length}`);
    this.assertOpen();
    const bytes = new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);
    this.native.HEAPU16.set(bytes, this.input >> 1); // one byte per 16-bit slot
    const length = this.check(this.handler._encode(this.input, bytes.length, this.output, OPUS_FRAME_SAMPLES), 'encoding');
    return Buffer.from(this.native.HEAPU8.slice(this.output, this.output + length));
  }
}

export class OpusDecoder extends OpusState {
  constructor() {
    super(MAX_PACKET_BYTES, MAX_PCM_BYTES * 2);
  }

  /** One Opus packet to PCM16 at 48 kHz (as many samples as the packet holds); throws on a corrupt packet. */
  decode(packet: Uint8Array): Int16Array {
    if (packet.length > MAX_PACKET_BYTES) throw new RangeError(`an Opus packet is at most ${MAX_PACKET_BYTES} bytes, not ${packet.length}`);
    this.assertOpen();
    this.native.HEAPU8.set(packet, this.input);
    const samples = this.check(this.handler._decode(this.input, packet.length, this.output), 'decoding');
    const slots = this.native.HEAPU16.subarray(this.output >> 1, (this.output >> 1) + samples * 2);
    const pcm = Uint8Array.from(slots); // one byte per 16-bit slot, narrowed
    return new Int16Array(pcm.buffer, 0, samples);
  }
}

/** Bytes of WebAssembly memory libopus holds now (tests: to see it grow). */
export function opusHeapBytes(): number {
  return opusNative().HEAPU8.byteLength;
}
