/**
 * Reassembles little-endian PCM16 from an HTTP byte stream. Network chunks do
 * not respect sample boundaries, so an odd trailing byte is carried into the
 * next chunk; output views are always 2-byte aligned.
 */

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class Pcm16Assembler {
  private carry: number | null = null;

  /** Samples completed by `bytes` (possibly empty). */
  push(bytes: Uint8Array): Int16Array {
    if (bytes.length === 0) return new Int16Array(0);
    const extra = this.carry === null ? 0 : 1;
    const total = bytes.length + extra;
    const samples = total >> 1;
    const out = new Int16Array(samples);
    if (samples > 0) {
      const dst = new Uint8Array(out.buffer);
      if (extra) dst[0] = this.carry!;
      dst.set(bytes.subarray(0, samples * 2 - extra), extra);
      if (!littleEndianHost) for (let i = 0; i < samples; i++) out[i] = ((out[i]! & 0xff) << 8) | ((out[i]! >> 8) & 0xff);
    }
    this.carry = total % 2 === 1 ? (bytes[bytes.length - 1] ?? 0) : null;
    return out;
  }

  /** True when a lone byte is waiting for its partner. */
  get pending(): boolean {
    return this.carry !== null;
  }
}

/**
 * Yields Int16Array chunks from a web ReadableStream of PCM16 LE bytes until it
 * ends or `signal` aborts (then the stream is cancelled and iteration stops).
 */
export async function* readPcm16Stream(body: ReadableStream<Uint8Array>, signal: AbortSignal): AsyncGenerator<Int16Array> {
  const reader = body.getReader();
  const assembler = new Pcm16Assembler();
  const onAbort = (): void => {
    reader.cancel().catch(() => undefined);
  };
  signal.addEventListener('abort', onAbort, { once: true });
  let finished = false;
  try {
    while (!signal.aborted) {
      const { done, value } = await reader.read();
      if (done) {
        finished = true;
        break;
      }
      if (signal.aborted) break;
      const pcm = assembler.push(value);
      if (pcm.length > 0) yield pcm;
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    // Aborted, or the consumer stopped early: cancel so the HTTP response is closed.
    if (!finished) await reader.cancel().catch(() => undefined);
    reader.releaseLock();
  }
}
