import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Pcm16Assembler, readPcm16Stream } from '../../../pipeline/providers/pcm-bytes.ts';

const le = (samples: number[]): Uint8Array => {
  const b = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => b.writeInt16LE(s, i * 2));
  return new Uint8Array(b);
};

test('samples split across chunks at odd byte boundaries are reassembled', () => {
  const samples = [1, -2, 300, -32768, 32767, 1234, -4321];
  const bytes = le(samples);
  for (const cuts of [[1], [3, 4], [1, 2, 3, 5, 7, 9, 11, 13], [0, 0, 13]]) {
    const a = new Pcm16Assembler();
    const out: number[] = [];
    let prev = 0;
    for (const cut of [...cuts, bytes.length]) {
      out.push(...a.push(bytes.subarray(prev, cut)));
      prev = cut;
    }
    assert.equal(out, samples, `cuts ${cuts.join(',')}`);
    assert.not.ok(a.pending);
  }
});

test('readPcm16Stream yields aligned chunks and stops on abort', async () => {
  const bytes = le([10, 20, 30, 40, 50]);
  const parts = [bytes.subarray(0, 3), bytes.subarray(3, 7), bytes.subarray(7)];
  let cancelled = false;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      const p = parts.shift();
      if (p) c.enqueue(p);
      else c.close();
    },
    cancel() {
      cancelled = true;
    },
  });
  const got: number[] = [];
  for await (const chunk of readPcm16Stream(body, new AbortController().signal)) got.push(...chunk);
  assert.equal(got, [10, 20, 30, 40, 50]);
  assert.not.ok(cancelled);

  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(le([1, 2]));
    },
    cancel() {
      cancelled = true;
    },
  });
  const ac = new AbortController();
  let n = 0;
  for await (const chunk of readPcm16Stream(endless, ac.signal)) {
    void chunk;
    if (++n === 3) ac.abort();
  }
  assert.is(n, 3);
  assert.ok(cancelled, 'the body is cancelled on abort');
});

test.run();
