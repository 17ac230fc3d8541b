/**
 * `smartalex bench-webrtc` measures a real WebRTC call: callers in their own
 * process reach the server's answerers over DTLS-SRTP on loopback, hear their
 * speech back, and the report gives a CPU cost per call. (The figures
 * themselves live in the README, not in a threshold here.)
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import nodeDataChannel from 'node-datachannel';
import { benchWebRtc, formatWebRtcReport } from '../../../tools/bench/webrtc.ts';

test('two calls for two seconds: the speech comes back and the CPU per call is reported', async () => {
  const report = await benchWebRtc({ calls: 2, seconds: 2 });
  assert.is(report.calls, 2);
  assert.is(report.packetsSent, 2 * 2 * 50);
  assert.ok(report.packetsHeard > report.packetsSent / 2, `heard ${report.packetsHeard} of ${report.packetsSent}`);
  assert.ok(report.cpuUsPerCallSecond > 0);
  assert.match(formatWebRtcReport(report), /% of one core/);
});

test.after(() => {
  nodeDataChannel.cleanup();
  setTimeout(() => process.exit(), 500).unref();
});

test.run();
