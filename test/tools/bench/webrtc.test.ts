/**
 * `smartalex bench-webrtc` measures a real WebRTC call: callers in their own
 * process reach the server's answerers over DTLS-SRTP on loopback, hear their
 * speech back, and the report gives a CPU cost per call. (The figures
 * themselves live in the README, not in a threshold here.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { benchWebRtc, formatWebRtcReport } from '../../../tools/bench/webrtc.ts';
import { exitAfterNativePeers } from '../../../media/webrtc/native-exit.ts';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { CallerMessage } from '../../../tools/bench/webrtc-callers.ts';
import { waitFor } from '../../support/poll.ts';

test('two calls for two seconds: the speech comes back and the CPU per call is reported', async () => {
  const report = await benchWebRtc({ calls: 2, seconds: 2 });
  assert.is(report.calls, 2);
  assert.is(report.packetsSent, 2 * 2 * 50);
  assert.ok(report.packetsHeard > report.packetsSent / 2, `heard ${report.packetsHeard} of ${report.packetsSent}`);
  assert.ok(report.cpuUsPerCallSecond > 0);
  assert.match(formatWebRtcReport(report), /% of one core/);
});

test('the callers\' process ends when the bench process is gone, though its peers are still open', async () => {
  // In CI the bench hung and was killed; its callers, kept alive by libdatachannel's threads, held the test
  // runner's output open, and the whole run never ended.
  const callers = fork(fileURLToPath(new URL('../../../tools/bench/webrtc-callers.ts', import.meta.url)), ['2'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => callers.on('exit', (code) => resolve(code)));
  let offers = 0;
  callers.on('message', (m: CallerMessage) => { if (m.type === 'offer') offers++; });
  await waitFor('both callers\' offers', () => offers === 2, { timeoutMs: 30_000 });
  callers.disconnect(); // what the bench process's death looks like from the callers' side
  const code = await Promise.race([exited, new Promise<'alive'>((resolve) => setTimeout(() => resolve('alive'), 30_000).unref())]);
  if (code === 'alive') callers.kill('SIGKILL');
  assert.is(code, 1, 'the callers\' process outlived the bench process');
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
