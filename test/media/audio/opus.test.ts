/**
 * Opus on libopus in WebAssembly (media/audio/opus.ts): speech-like audio
 * survives a round trip; codecs made before the WebAssembly memory grew keep
 * working after it grew (opusscript's own class fails there: its heap views
 * are detached); bad input and closed codecs are refused with clear errors.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { OpusDecoder, OpusEncoder, OPUS_FRAME_SAMPLES, opusHeapBytes } from '../../../media/audio/opus.ts';

/** A 440 Hz tone at about -12 dBFS, frame `n` of it (phase continuous). */
function toneFrame(n: number): Int16Array {
  const out = new Int16Array(OPUS_FRAME_SAMPLES);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * (n * OPUS_FRAME_SAMPLES + i)) / 48_000));
  return out;
}

function rms(pcm: Int16Array): number {
  let sum = 0;
  for (const v of pcm) sum += v * v;
  return Math.sqrt(sum / Math.max(1, pcm.length));
}

/** Encodes `frames` frames of tone and decodes them; the RMS of the last decoded frame. */
function roundTrip(encoder: OpusEncoder, decoder: OpusDecoder, frames: number, from = 0): number {
  let last: Int16Array = new Int16Array(0);
  for (let n = from; n < from + frames; n++) {
    const packet = encoder.encode(toneFrame(n));
    assert.ok(packet.length > 0 && packet.length < 1276, `packet of ${packet.length} bytes`);
    last = decoder.decode(packet);
    assert.is(last.length, OPUS_FRAME_SAMPLES);
  }
  return rms(last);
}

test('a tone survives encode and decode at about its level', () => {
  const encoder = new OpusEncoder();
  const decoder = new OpusDecoder();
  try {
    const level = roundTrip(encoder, decoder, 25);
    const expected = rms(toneFrame(0));
    assert.ok(level > expected * 0.7 && level < expected * 1.3, `decoded RMS ${level.toFixed(0)}, sent ${expected.toFixed(0)}`);
  } finally {
    encoder.close();
    decoder.close();
  }
});

test('codecs made before the WebAssembly memory grew still encode and decode after it grew', () => {
  const encoder = new OpusEncoder();
  const decoder = new OpusDecoder();
  const crowd: Array<OpusEncoder | OpusDecoder> = [];
  try {
    roundTrip(encoder, decoder, 5);
    const before = opusHeapBytes();
    for (let i = 0; i < 1000 && opusHeapBytes() === before; i++) crowd.push(new OpusDecoder(), new OpusEncoder());
    assert.ok(opusHeapBytes() > before, `the memory did not grow (${before} bytes) after ${crowd.length} more codecs`);
    const level = roundTrip(encoder, decoder, 10, 5);
    assert.ok(level > rms(toneFrame(0)) * 0.7, `decoded RMS ${level.toFixed(0)} after the growth`);
    // And the newest ones work too.
    assert.ok(roundTrip(crowd.at(-1) as OpusEncoder, crowd.at(-2) as OpusDecoder, 10) > 0);
  } finally {
    for (const c of crowd) c.close();
    encoder.close();
    decoder.close();
  }
});

test('a wrong frame size, an oversized or corrupt packet and a closed codec are refused with clear errors', () => {
  const encoder = new OpusEncoder();
  const decoder = new OpusDecoder();
  assert.throws(() => encoder.encode(new Int16Array(320)), /an Opus frame is 960 samples, not 320/);
  assert.throws(() => decoder.decode(new Uint8Array(5000)), /at most 3828 bytes/);
  // A TOC byte announcing an arbitrary number of frames (code 3) with a zero frame count is invalid (RFC 6716 3.2.5).
  assert.throws(() => decoder.decode(Uint8Array.of(0x03, 0x00)), /Opus decoding failed/);
  encoder.close();
  decoder.close();
  encoder.close(); // twice is fine
  assert.throws(() => encoder.encode(toneFrame(0)), /closed/);
  assert.throws(() => decoder.decode(Uint8Array.of(0xf8, 0xff, 0xfe)), /closed/);
});

test.run();
