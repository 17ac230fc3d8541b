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

test('two calls for two seconds: the speech comes back and the CPU per call is reported', async () => {
  const report = await benchWebRtc({ calls: 2, seconds: 2 });
  assert.is(report.calls, 2);
  assert.is(report.packetsSent, 2 * 2 * 50);
  assert.ok(report.packetsHeard > report.packetsSent / 2, `heard ${report.packetsHeard} of ${report.packetsSent}`);
  assert.ok(report.cpuUsPerCallSecond > 0);
  assert.match(formatWebRtcReport(report), /% of one core/);
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
