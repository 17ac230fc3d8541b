/**
 * Child process for the kill -9 test: reads {root, ref, dataKey, keyId,
 * wrapped, chunkSize, chunks} as JSON on stdin, records `chunks` full chunks
 * plus half a chunk of the shared pattern, printing "chunk N" after each chunk
 * is durable and "idle" at the end, then waits to be killed.
 */
import { LocalObjectStore, RecordingWriter } from '../../../../storage/vault/index.ts';
import { pattern } from './helpers.ts';

let input = '';
for await (const part of process.stdin) input += String(part);
const job = JSON.parse(input) as {
  root: string; tenantId: string; recordingId: string; dataKey: string; keyId: string; wrapped: string; chunkSize: number; chunks: number;
};
const store = new LocalObjectStore(job.root);
const writer = await RecordingWriter.create({
  handle: await store.create({ tenantId: job.tenantId, recordingId: job.recordingId }),
  tenantId: job.tenantId,
  recordingId: job.recordingId,
  dataKey: Buffer.from(job.dataKey, 'base64'),
  keyId: job.keyId,
  wrappedKey: Buffer.from(job.wrapped, 'base64'),
  chunkSize: job.chunkSize,
});
const plain = pattern(job.chunkSize * job.chunks + job.chunkSize / 2, 5);
for (let i = 0; i < job.chunks; i++) {
  await writer.write(plain.subarray(i * job.chunkSize, (i + 1) * job.chunkSize));
  process.stdout.write(`chunk ${i + 1}\n`);
}
await writer.write(plain.subarray(job.chunks * job.chunkSize));
process.stdout.write('idle\n');
setInterval(() => {}, 60_000);
