/**
 * The caller's per-packet receive work: the voice level straight from the
 * G.711 bytes is exactly frameDbfs of the decoded samples, and the set of our
 * own voiced payloads (hash, then byte compare) recognises exactly those
 * payloads: the old latin1-string keys, a one-byte change, a hash collision.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeG711, encodeG711, type G711Law } from '../../../media/audio/index.ts';
import { FRAME_SAMPLES } from '../../../media/rtp/index.ts';
import { BARGE_IN_FILE, loadUtterance, payloadHash, PayloadSet, TURN_FILES, voicedPayloads } from '../../../tools/bench/utterances.ts';
import { frameDbfs, g711FrameDbfs } from '../../../tools/bench/voice.ts';

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

test('g711FrameDbfs is frameDbfs of the decoded samples, for both laws', () => {
  for (const law of ['mulaw', 'alaw'] as G711Law[]) {
    for (let seed = 1; seed < 50; seed++) {
      const bytes = randomBytes(FRAME_SAMPLES, seed);
      const pcm = new Int16Array(bytes.length);
      decodeG711(law, bytes, pcm);
      assert.is(g711FrameDbfs(law, bytes), frameDbfs(pcm));
      assert.is(g711FrameDbfs(law, bytes, 80), frameDbfs(pcm, 80));
    }
    const silence = new Uint8Array(FRAME_SAMPLES);
    encodeG711(law, new Int16Array(FRAME_SAMPLES), silence);
    const decoded = new Int16Array(FRAME_SAMPLES);
    decodeG711(law, silence, decoded);
    assert.is(g711FrameDbfs(law, silence), frameDbfs(decoded), 'silence (-Infinity in mu-law; A-law has no zero code)');
    if (law === 'mulaw') assert.is(g711FrameDbfs(law, silence), -Infinity);
    assert.is(g711FrameDbfs(law, new Uint8Array(0)), -Infinity);
  }
});

test('voicedPayloads holds exactly the voiced frames the latin1 keys held', () => {
  const utterances = [...TURN_FILES.map((f) => loadUtterance(f)), loadUtterance(BARGE_IN_FILE)];
  const set = voicedPayloads(utterances, 'mulaw', -45);
  const keys = new Set<string>();
  const out = Buffer.alloc(FRAME_SAMPLES);
  let silent = 0;
  for (const u of utterances) {
    for (let f = 0; f < u.frames; f++) {
      const frame = u.pcm.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES);
      encodeG711('mulaw', frame, out, 0);
      if (frameDbfs(frame) > -45) {
        keys.add(out.toString('latin1'));
        assert.ok(set.has(out), 'a voiced frame is in the set');
        // A copy as the socket would deliver it, inside a larger buffer (an RTP packet).
        const packet = Buffer.alloc(12 + FRAME_SAMPLES);
        out.copy(packet, 12);
        assert.ok(set.has(packet.subarray(12)));
        const changed = Uint8Array.from(out);
        changed[77] = changed[77]! ^ 1;
        if (!keys.has(Buffer.from(changed).toString('latin1'))) assert.not.ok(set.has(changed), 'one byte changed is not an echo');
      } else if (!keys.has(out.toString('latin1'))) {
        silent++;
        assert.not.ok(set.has(out), 'a quiet frame is not in the set');
      }
    }
  }
  assert.ok(keys.size > 100 && silent > 0);
  assert.is(set.size, keys.size);
});

test('PayloadSet: a hash collision is not a match', () => {
  // Birthday search for two 4-byte strings with the same 32-bit hash.
  const seen = new Map<number, number>();
  let pair: [Uint8Array, Uint8Array] | undefined;
  const bytes = (n: number): Uint8Array => new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24]);
  for (let i = 0; i < 2_000_000 && !pair; i++) {
    const v = Math.imul(i, 2654435761) >>> 0;
    const h = payloadHash(bytes(v));
    const prev = seen.get(h);
    if (prev !== undefined && prev !== v) pair = [bytes(prev), bytes(v)];
    else seen.set(h, v);
  }
  assert.ok(pair, 'found a collision');
  const [a, b] = pair!;
  assert.is(payloadHash(a), payloadHash(b));
  const set = new PayloadSet();
  set.add(a);
  assert.ok(set.has(a));
  assert.not.ok(set.has(b), 'same hash, other bytes');
  set.add(b);
  set.add(b);
  assert.ok(set.has(a) && set.has(b));
  assert.is(set.size, 2);
});

test.run();
