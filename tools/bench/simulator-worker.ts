/**
 * The simulators' thread (entry module of the worker that simulator-thread.ts
 * starts in the bench driver): the provider simulators (Deepgram STT + TTS,
 * OpenAI chat + TTS) with their HTTP and websocket servers and every timer of
 * their audio generation live on this thread's event loop, so the driver's
 * main thread, which timestamps the server's RTP as it arrives, runs the
 * callers only.
 *
 * It starts the simulators with the parameters in workerData and answers
 * `started` (URLs, latency, which thread) or `failed` (then ends); on `close`
 * it stops them, answers `closed` and ends. Protocol: driver-protocol.ts.
 */
import { readlinkSync } from 'node:fs';
import { isMainThread, parentPort, threadId, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { startAllSimulators } from '../simulators/index.ts';
import { SIMULATOR_WORKER_MARK, type FromSimulatorThread, type SimulatorThreadInfo, type SimulatorWorkerData, type ToSimulatorThread } from './driver-protocol.ts';

/** This thread's ids: worker threadId and, on Linux, the OS thread id. */
function currentThreadInfo(): SimulatorThreadInfo {
  const info: SimulatorThreadInfo = { threadId };
  try {
    const m = /\/task\/(\d+)$/.exec(readlinkSync('/proc/thread-self'));
    if (m) info.tid = Number(m[1]);
  } catch {
    // not Linux
  }
  return info;
}

async function runSimulatorWorker(port: MessagePort, data: SimulatorWorkerData): Promise<void> {
  const post = (message: FromSimulatorThread): void => port.postMessage(message);
  let sims: Awaited<ReturnType<typeof startAllSimulators>>;
  try {
    const knobs = Object.fromEntries(Object.entries(data.knobs).filter(([, v]) => v !== undefined));
    sims = await startAllSimulators(data.profile, { ...knobs, apiKey: data.apiKey });
  } catch (error) {
    post({ type: 'failed', message: error instanceof Error ? error.message : String(error) });
    port.close();
    return;
  }
  let closing = false;
  port.on('message', (message: ToSimulatorThread) => {
    if (message?.type !== 'close' || closing) return;
    closing = true;
    void sims.close().catch(() => undefined).then(() => {
      post({ type: 'closed' });
      port.close();
    });
  });
  post({ type: 'started', deepgramUrl: sims.deepgram.url, openaiBaseUrl: sims.openai.baseUrl, latency: { ...sims.latency }, thread: currentThreadInfo() });
}

if (!isMainThread && parentPort && (workerData as { mark?: string } | null)?.mark === SIMULATOR_WORKER_MARK) {
  void runSimulatorWorker(parentPort, workerData as SimulatorWorkerData);
}
