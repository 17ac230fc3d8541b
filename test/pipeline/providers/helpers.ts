/** Test helpers for provider tests: synthetic caller audio and event collection with a deadline. */

/** A 20 ms-framed PCM16 "utterance": tone bursts separated by silence, as [kind, ms] steps. */
export function burstsAndSilence(sampleRate: number, steps: Array<['tone' | 'silence', number]>): Int16Array {
  const total = steps.reduce((n, [, ms]) => n + Math.round((ms * sampleRate) / 1000), 0);
  const out = new Int16Array(total);
  let pos = 0;
  for (const [kind, ms] of steps) {
    const n = Math.round((ms * sampleRate) / 1000);
    if (kind === 'tone') for (let i = 0; i < n; i++) out[pos + i] = Math.round(6000 * Math.sin((2 * Math.PI * 220 * i) / sampleRate));
    pos += n;
  }
  return out;
}

/** Splits PCM into 20 ms frames. */
export function frames20ms(pcm: Int16Array, sampleRate: number): Int16Array[] {
  const size = sampleRate / 50;
  const out: Int16Array[] = [];
  for (let i = 0; i < pcm.length; i += size) out.push(pcm.subarray(i, Math.min(pcm.length, i + size)));
  return out;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Collects items from `source` until `done(items)` or the deadline; never hangs a test. */
export async function collectUntil<T>(source: AsyncIterable<T>, done: (items: T[]) => boolean, timeoutMs = 5000): Promise<T[]> {
  const items: T[] = [];
  const it = source[Symbol.asyncIterator]();
  const deadline = Date.now() + timeoutMs;
  while (!done(items)) {
    const left = deadline - Date.now();
    if (left <= 0) break;
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([
      it.next(),
      new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), left);
      }),
    ]);
    clearTimeout(timer);
    if (r === 'timeout' || r.done) break;
    items.push(r.value);
  }
  return items;
}

