/**
 * G.722 against a reference implementation: ffmpeg's (libavcodec g722, Debian
 * ffmpeg 5.1). Both directions are compared BIT-EXACT: our encoder's bytes
 * equal ffmpeg's encoder's, and our decoder's samples equal ffmpeg's decoder's
 * for the same bitstream. The speech fixture's reference is pinned as SHA-256
 * digests of ffmpeg's output (so this part runs without ffmpeg); synthetic
 * stress signals (full-scale noise, square waves, a chirp, clipping) go
 * through the ffmpeg program itself when it is installed.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { G722Decoder, G722Encoder, g722BytesFor, g722SamplesFor } from '../../../media/audio/g722.ts';
import { parseWav, pcm16Samples } from '../../../media/audio/wav.ts';
import { hasCommand, needExternal } from '../../support/external.ts';

const fixture = (name: string): Int16Array => pcm16Samples(parseWav(readFileSync(new URL(`../../../fixtures/audio/${name}`, import.meta.url))));
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');
const pcmBytes = (pcm: Int16Array): Uint8Array => new Uint8Array(pcm.buffer, pcm.byteOffset, pcm.byteLength);

function encodeAll(pcm: Int16Array): Uint8Array {
  const out = new Uint8Array(g722BytesFor(pcm.length));
  new G722Encoder().encode(pcm.subarray(0, pcm.length & ~1), out);
  return out;
}
function decodeAll(bytes: Uint8Array): Int16Array {
  const out = new Int16Array(g722SamplesFor(bytes.length));
  new G722Decoder().decode(bytes, out);
  return out;
}

function snrDb(reference: Int16Array, signal: Int16Array, delay: number): number {
  let s = 0;
  let n = 0;
  for (let i = delay; i < reference.length; i++) {
    const r = reference[i - delay]!;
    const e = r - signal[i]!;
    s += r * r;
    n += e * e;
  }
  return 10 * Math.log10(s / n);
}

// ffmpeg -f s16le -ar 16000 -ac 1 -i what-time-open-16k.raw -acodec g722 -f g722 out.g722 ; and back with -f g722 -i out.g722 -f s16le.
const FFMPEG_SPEECH_ENCODED = 'ba671a4dcc9021018b60ce5ce43122a4bcf71cdcc056273e9d3dfd68830b615c';
const FFMPEG_SPEECH_DECODED = '7b457625569787ad087dbab0c927f4be5afb2e71093915f855aef729d0695da0';

test('speech: encoder and decoder are bit-exact with ffmpeg (pinned digests)', () => {
  const pcm = fixture('what-time-open-16k.wav');
  const encoded = encodeAll(pcm);
  assert.is(encoded.length, pcm.length / 2);
  assert.is(sha256(encoded), FFMPEG_SPEECH_ENCODED);
  assert.is(sha256(pcmBytes(decodeAll(encoded))), FFMPEG_SPEECH_DECODED);
});

test('20 ms frames one by one give the same bytes and samples as the whole signal (state carries over)', () => {
  const pcm = fixture('hello-book-table-16k.wav');
  const usable = pcm.subarray(0, pcm.length - (pcm.length % 320));
  const whole = encodeAll(usable);
  const enc = new G722Encoder();
  const dec = new G722Decoder();
  const framed = new Uint8Array(whole.length);
  const decoded = new Int16Array(usable.length);
  for (let f = 0; f < usable.length / 320; f++) {
    assert.is(enc.encode(usable.subarray(f * 320, f * 320 + 320), framed, f * 160), 160);
    assert.is(dec.decode(framed.subarray(f * 160, f * 160 + 160), decoded, f * 320), 320);
  }
  assert.equal(framed, whole);
  assert.equal(decoded, decodeAll(whole));
});

test('a round trip keeps wideband speech (SNR over 15 dB after the 22-sample QMF delay)', () => {
  const pcm = fixture('what-time-open-16k.wav');
  const back = decodeAll(encodeAll(pcm));
  const snr = snrDb(pcm, back, 22);
  assert.ok(snr > 15, `SNR ${snr.toFixed(1)} dB`);
  // A 6 kHz tone survives: it is above G.711's 4 kHz band edge.
  const tone = new Int16Array(16000);
  for (let i = 0; i < tone.length; i++) tone[i] = Math.round(8000 * Math.sin((2 * Math.PI * 6000 * i) / 16000));
  const toneBack = decodeAll(encodeAll(tone));
  let energy = 0;
  for (let i = 8000; i < 16000; i++) energy += toneBack[i]! * toneBack[i]!;
  assert.ok(Math.sqrt(energy / 8000) > 3000, 'the 6 kHz tone came back');
});

test('odd sample counts and short outputs are refused', () => {
  assert.throws(() => new G722Encoder().encode(new Int16Array(3), new Uint8Array(4)), /sample pairs/);
  assert.throws(() => new G722Encoder().encode(new Int16Array(4), new Uint8Array(1)), /needs 2 bytes/);
  assert.throws(() => new G722Decoder().decode(new Uint8Array(4), new Int16Array(7)), /needs 8 samples/);
});

/** Deterministic stress signals: full-scale noise, square waves, a chirp, hard clipping, silence. */
function stressSignal(): Int16Array {
  const out = new Int16Array(16000 * 4);
  let seed = 12345;
  const rand = (): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 0x100000000;
  };
  for (let i = 0; i < out.length; i++) {
    const t = i / 16000;
    const part = Math.floor(t);
    let v: number;
    if (part === 0) v = (rand() * 2 - 1) * 32768;
    else if (part === 1) v = (Math.floor(i / (3 + ((i >> 11) & 7))) & 1 ? 32767 : -32768);
    else if (part === 2) v = 40000 * Math.sin(2 * Math.PI * (50 + 3900 * (t - 2)) * (t - 2));
    else v = i % 1600 < 800 ? 0 : (rand() * 2 - 1) * 200;
    out[i] = Math.max(-32768, Math.min(32767, Math.round(v)));
  }
  return out;
}

test('stress signals: bit-exact with the ffmpeg program both ways', () => {
  if (!needExternal(hasCommand('ffmpeg'), 'ffmpeg', 'the live G.722 comparison with ffmpeg')) return;
  const dir = mkdtempSync(join(tmpdir(), 'g722-'));
  try {
    const pcm = stressSignal();
    writeFileSync(join(dir, 'in.raw'), pcmBytes(pcm));
    const ff = (...args: string[]): void => {
      const r = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { cwd: dir, timeout: 60_000 });
      assert.is(r.status, 0, `ffmpeg ${args.join(' ')}: ${r.stderr?.toString()}`);
    };
    ff('-f', 's16le', '-ar', '16000', '-ac', '1', '-i', 'in.raw', '-acodec', 'g722', '-f', 'g722', 'ref.g722');
    const reference = new Uint8Array(readFileSync(join(dir, 'ref.g722')));
    const ours = encodeAll(pcm);
    assert.is(ours.length, reference.length);
    assert.ok(Buffer.compare(ours, reference) === 0, 'our encoder matches ffmpeg byte for byte');
    // Decode a bitstream with every code in it (ffmpeg's own, plus every byte value) both ways.
    const codes = new Uint8Array(reference.length + 256 * 40);
    codes.set(reference);
    for (let i = 0; i < 256 * 40; i++) codes[reference.length + i] = (i * 37 + (i >> 8)) & 0xff;
    writeFileSync(join(dir, 'codes.g722'), codes);
    ff('-f', 'g722', '-i', 'codes.g722', '-f', 's16le', '-ar', '16000', '-ac', '1', 'ref.raw');
    const refRaw = readFileSync(join(dir, 'ref.raw'));
    const refPcm = new Int16Array(refRaw.buffer, refRaw.byteOffset, refRaw.length / 2);
    const decoded = decodeAll(codes);
    assert.is(decoded.length, refPcm.length);
    let mismatches = 0;
    for (let i = 0; i < decoded.length; i++) if (decoded[i] !== refPcm[i]) mismatches++;
    assert.is(mismatches, 0, 'our decoder matches ffmpeg sample for sample');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
