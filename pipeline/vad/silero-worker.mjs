/**
 * The Silero VAD inference thread (see silero.ts, which starts it). Plain
 * JavaScript on purpose: a worker does not inherit tsx's loader hooks, and
 * needing no TypeScript loader keeps its start-up short (silero.ts starts it
 * with an empty execArgv).
 *
 * workerData: { modelPath }. On start it loads the model and posts
 * { type: 'ready', inputNames, outputNames } or { type: 'load-error', message }
 * (and ends). Then, for each message
 *   { type: 'run', id, meta: Int32Array, data: Float32Array }
 * where item i has meta[2i] = sample rate, meta[2i + 1] = window length n and
 * in `data`, one after another, h (128 floats, [2, 1, 64]), c (128) and the
 * window (n floats), it groups the items by (rate, n), runs one batched
 * inference per group (input [B, n], h and c [2, B, 64]) and answers
 *   { type: 'result', id, out: Float32Array, status: Int32Array, errors: string[] }
 * with out[i * 257] = probability, then hn (128) and cn (128) of item i;
 * status[i] = -1 when item i was scored, else the index in `errors` of the
 * message of the inference (group) that failed.
 * { type: 'crash' } makes the thread throw (tests: a dying VAD thread).
 */
import { parentPort, workerData } from 'node:worker_threads';
import ort from 'onnxruntime-node';

const HALF = 64; // one LSTM layer's state for one stream
const STATE = 2 * HALF; // h (or c) for one stream: [2, 1, 64]
const OUT = 1 + 2 * STATE; // per item in the reply: probability, hn, cn

const port = parentPort;
if (!port) throw new Error('silero-worker.mjs must run as a worker thread');

let session;
try {
  session = await ort.InferenceSession.create(workerData.modelPath, {
    // One thread: the whole point is to use one core beside the main thread.
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
  });
} catch (err) {
  // No message listener follows, so the thread ends once this message is out.
  port.postMessage({ type: 'load-error', message: err instanceof Error ? err.message : String(err) });
}

const rateTensors = new Map();
function rateTensor(rate) {
  let t = rateTensors.get(rate);
  if (!t) {
    t = new ort.Tensor('int64', BigInt64Array.from([BigInt(rate)]), []);
    rateTensors.set(rate, t);
  }
  return t;
}

/** Runs the items `idx` (all of one rate and window length) as one batch; fills `out`. */
async function runGroup(rate, n, idx, offsets, data, out) {
  const batch = idx.length;
  const input = new Float32Array(batch * n);
  const h = new Float32Array(2 * batch * HALF);
  const c = new Float32Array(2 * batch * HALF);
  for (let b = 0; b < batch; b++) {
    const at = offsets[idx[b]];
    for (let layer = 0; layer < 2; layer++) {
      const from = at + layer * HALF;
      h.set(data.subarray(from, from + HALF), (layer * batch + b) * HALF);
      c.set(data.subarray(from + STATE, from + STATE + HALF), (layer * batch + b) * HALF);
    }
    input.set(data.subarray(at + 2 * STATE, at + 2 * STATE + n), b * n);
  }
  const result = await session.run({
    input: new ort.Tensor('float32', input, [batch, n]),
    sr: rateTensor(rate),
    h: new ort.Tensor('float32', h, [2, batch, HALF]),
    c: new ort.Tensor('float32', c, [2, batch, HALF]),
  });
  const output = result.output?.data;
  const hn = result.hn?.data;
  const cn = result.cn?.data;
  if (!output || !hn || !cn) throw new Error('Silero model returned no output/hn/cn');
  if (output.length !== batch || hn.length !== 2 * batch * HALF || cn.length !== 2 * batch * HALF) {
    throw new Error(`Silero model returned output ${output.length}, hn ${hn.length}, cn ${cn.length} values for a batch of ${batch}`);
  }
  for (let b = 0; b < batch; b++) {
    const o = idx[b] * OUT;
    out[o] = output[b];
    for (let layer = 0; layer < 2; layer++) {
      const from = (layer * batch + b) * HALF;
      out.set(hn.subarray(from, from + HALF), o + 1 + layer * HALF);
      out.set(cn.subarray(from, from + HALF), o + 1 + STATE + layer * HALF);
    }
  }
}

async function runBatch(id, meta, data) {
  const count = meta.length >> 1;
  const offsets = new Int32Array(count);
  const groups = new Map();
  for (let i = 0, at = 0; i < count; i++) {
    const rate = meta[2 * i];
    const n = meta[2 * i + 1];
    offsets[i] = at;
    at += 2 * STATE + n;
    const key = rate * 65536 + n;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { rate, n, idx: [] }));
    group.idx.push(i);
  }
  const out = new Float32Array(count * OUT);
  const status = new Int32Array(count).fill(-1);
  const errors = [];
  for (const { rate, n, idx } of groups.values()) {
    try {
      await runGroup(rate, n, idx, offsets, data, out);
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
      for (const i of idx) status[i] = errors.length - 1;
    }
  }
  port.postMessage({ type: 'result', id, out, status, errors }, [out.buffer, status.buffer]);
}

if (session) {
  port.on('message', (msg) => {
    if (msg.type === 'run') void runBatch(msg.id, msg.meta, msg.data);
    else if (msg.type === 'crash') throw new Error('Silero VAD worker crashed on request (test)');
  });
  port.postMessage({ type: 'ready', inputNames: [...session.inputNames], outputNames: [...session.outputNames] });
}
