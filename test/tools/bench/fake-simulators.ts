/**
 * A misbehaving simulators' thread for driver.test.ts, run by the real bench
 * driver in place of tools/bench/simulator-worker.ts (its
 * `--simulators-entry` argument). The last word of the worker's
 * process.argv picks the fault:
 * - `crash`: throws while loading (an uncaught error in the thread);
 * - `exit`: ends the thread with exit code 7 while starting, saying nothing;
 * - `crash-after-start`: says `started` (with URLs nobody serves), then throws 300 ms later.
 */
import { parentPort, threadId } from 'node:worker_threads';
import type { FromSimulatorThread } from '../../../tools/bench/driver-protocol.ts';
import { SIMULATOR_PROFILES } from '../../../tools/simulators/index.ts';

const mode = process.argv[process.argv.length - 1];

if (mode === 'crash') {
  throw new Error('fake simulators: cannot bind the Deepgram port (boom)');
} else if (mode === 'exit') {
  process.exit(7);
} else if (mode === 'crash-after-start') {
  const started: FromSimulatorThread = {
    type: 'started', deepgramUrl: 'http://127.0.0.1:9/', openaiBaseUrl: 'http://127.0.0.1:9/v1', latency: { ...SIMULATOR_PROFILES.instant }, thread: { threadId },
  };
  parentPort!.postMessage(started);
  setTimeout(() => { throw new Error('fake simulators: websocket handler blew up (bang)'); }, 300);
} else {
  throw new Error(`fake simulators: unknown mode ${mode}`);
}
