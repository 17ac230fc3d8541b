import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  decodeAlaw, decodeAlawSample, decodeG711, decodeMulaw, decodeMulawSample, encodeAlaw, encodeAlawSample,
  encodeG711, encodeMulaw, encodeMulawSample, G711_SILENCE,
} from '../../../media/audio/g711.ts';

test('known G.711 code points', () => {
  assert.is(encodeMulawSample(0), 0xff);
  assert.is(encodeAlawSample(0), 0xd5);
  assert.is(G711_SILENCE.mulaw, 0xff);
  assert.is(G711_SILENCE.alaw, 0xd5);
  assert.is(encodeMulawSample(32767), 0x80);
  assert.is(encodeMulawSample(-32768), 0x00);
  assert.is(encodeAlawSample(32767), 0xaa);
  assert.is(encodeAlawSample(-32768), 0x2a);
  assert.is(decodeMulawSample(0xff), 0);
  assert.is(decodeMulawSample(0x7f), 0);
  assert.is(decodeMulawSample(0x80), 32124);
  assert.is(decodeMulawSample(0x00), -32124);
  assert.is(decodeAlawSample(0xd5), 8);
  assert.is(decodeAlawSample(0x55), -8);
  assert.is(decodeAlawSample(0xaa), 32256);
  assert.is(decodeAlawSample(0x2a), -32256);
});

test('every code decodes and re-encodes to itself (except mu-law negative zero)', () => {
  for (let code = 0; code < 256; code++) {
    const mu = encodeMulawSample(decodeMulawSample(code));
    if (code === 0x7f) assert.is(mu, 0xff);
    else assert.is(mu, code, `mu-law ${code}`);
    assert.is(encodeAlawSample(decodeAlawSample(code)), code, `A-law ${code}`);
  }
});

test('round trip error stays within the quantisation step of each segment', () => {
  for (let s = -32768; s < 32768; s += 7) {
    const mu = decodeMulawSample(encodeMulawSample(s));
    const al = decodeAlawSample(encodeAlawSample(s));
    const mag = Math.min(Math.abs(s), 32124);
    // Relative error of a logarithmic quantiser: at most ~1/16 of the magnitude plus a small floor.
    assert.ok(Math.abs(Math.max(-32124, Math.min(32124, s)) - mu) <= mag / 16 + 8, `mu-law ${s} -> ${mu}`);
    assert.ok(Math.abs(Math.max(-32256, Math.min(32256, s)) - al) <= Math.abs(s) / 16 + 16, `A-law ${s} -> ${al}`);
  }
});

test('monotonic: larger samples never decode smaller', () => {
  let prevMu = -Infinity;
  let prevAl = -Infinity;
  for (let s = -32768; s < 32768; s++) {
    const mu = decodeMulawSample(encodeMulawSample(s));
    const al = decodeAlawSample(encodeAlawSample(s));
    assert.ok(mu >= prevMu && al >= prevAl, `at ${s}`);
    prevMu = mu;
    prevAl = al;
  }
});

test('frame functions write into the given buffers at an offset', () => {
  const pcm = Int16Array.from([0, 1000, -1000, 20000, -20000]);
  const mu = new Uint8Array(8).fill(0x11);
  assert.is(encodeMulaw(pcm, mu, 2), 5);
  assert.is(mu[0], 0x11);
  assert.is(mu[2], 0xff);
  const back = new Int16Array(5);
  assert.is(decodeMulaw(mu.subarray(2, 7), back), 5);
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(back[i]! - pcm[i]!) <= Math.abs(pcm[i]!) / 16 + 8);
  const al = new Uint8Array(5);
  encodeAlaw(pcm, al);
  const back2 = new Int16Array(5);
  decodeAlaw(al, back2);
  for (let i = 0; i < 5; i++) assert.ok(Math.abs(back2[i]! - pcm[i]!) <= Math.abs(pcm[i]!) / 16 + 16);
  const viaLaw = new Uint8Array(5);
  encodeG711('alaw', pcm, viaLaw);
  assert.equal(Array.from(viaLaw), Array.from(al));
  const viaLawPcm = new Int16Array(5);
  decodeG711('mulaw', mu.subarray(2, 7), viaLawPcm);
  assert.equal(Array.from(viaLawPcm), Array.from(back));
  assert.throws(() => encodeMulaw(pcm, new Uint8Array(4)), RangeError);
});

test.run();
