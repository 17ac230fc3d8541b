/**
 * Outbound calls offer G.722 first (then PCMU, PCMA, telephone-event) and run
 * at the rate of the codec the answer picks: a SIPp UAS plays the callee,
 * answering G.722 only and then G.711 (PCMU) only (fixtures/sipp/
 * uas-answer-codec.xml, which also fails unless the offer lists 9 0 8 101).
 * The call's RTP session, the conversation's transport and the recording
 * are at 16 kHz for G.722 and at 8 kHz for G.711.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseWav } from '../../media/audio/wav.ts';
import { grantConsent, setCallingPolicy } from '../../src/compliance/index.ts';
import type { SipCallSession } from '../../src/calls/index.ts';
import { decryptToWavFile } from '../../src/recordings/index.ts';
import { addNumber, listRecordings } from '../../storage/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { waitForValue } from '../support/poll.ts';
import { startSippUas, startTestServer, type TestServer } from './support/harness.ts';

const run = needExternal(hasCommand('sipp'), 'SIPp', 'the outbound codec tests');
const CALLEE = '4152101234';

let t: TestServer;

test.before(async () => {
  if (!run) return;
  t = await startTestServer({ agent: { name: 'echo', mode: 'echo', recordingEnabled: true } });
  // The outbound policy lets these calls through: a number to present, consent for the callee, any hour.
  await addNumber(t.db, t.tenantId, { number: '+14152100000', agentId: t.agentId, allowedCidrs: [] });
  await grantConsent(t.db, t.tenantId, CALLEE, { source: 'e2e test' });
  await setCallingPolicy(t.db, t.tenantId, { windowStart: '00:00', windowEnd: '24:00' });
});

test.after(async () => {
  await t?.close();
});

/** SIPp as the callee answering with one codec; resolves with its exit code and output once it is done. */
async function callee(pt: number, rtpmap: string): Promise<{ port: number; done: Promise<{ code: number; out: string }> }> {
  const uas = await startSippUas('uas-answer-codec.xml', ['-m', '1', '-timeout', '60s', '-timeout_error', '-set', 'pt', String(pt), '-set', 'rtpmap', rtpmap], { timeoutMs: 90_000 });
  const done = uas.done.then((r) => ({ code: r.code ?? 1, out: `${r.stdout.slice(-2000)}\n${r.stderr.slice(-1000)}` }));
  return { port: uas.sipPort, done };
}

async function recordingRate(session: SipCallSession): Promise<number> {
  const row = await waitForValue('the recording to complete', async () => {
    const [r] = await listRecordings(t.db, t.tenantId, { callId: session.callId });
    return r?.completedAt ? r : undefined;
  }, { timeoutMs: 60_000 });
  const out = join(t.dir, `outbound-${row.id}.wav`);
  const ref = { tenantId: t.tenantId, recordingId: row.id };
  await decryptToWavFile(await t.server.recordings.vault.store.openRead(ref), t.server.recordings.vault.keys, out, ref);
  return parseWav(readFileSync(out)).sampleRate;
}

const cases = [
  { name: 'G.722 only', pt: 9, rtpmap: 'G722/8000', codec: 'G722', rate: 16000 },
  { name: 'G.711 (PCMU) only', pt: 0, rtpmap: 'PCMU/8000', codec: 'PCMU', rate: 8000 },
] as const;

if (run) {
  for (const c of cases) {
    test(`an outbound call answered with ${c.name} runs at ${c.rate / 1000} kHz: RTP, conversation and recording`, async () => {
      const far = await callee(c.pt, c.rtpmap);
      const session = await t.server.calls.placeCall({ tenantId: t.tenantId, agent: 'echo', number: CALLEE, via: `sip:127.0.0.1:${far.port}`, timeoutMs: 30_000 });
      try {
        assert.is(session.codec, c.codec);
        assert.is(session.rtp.sampleRate, c.rate);
        assert.is(session.transport.sampleRate, c.rate, 'the conversation runs at the codec\'s rate');
      } finally {
        const sipp = await far.done; // the callee hangs up after 2 s
        assert.is(sipp.code, 0, sipp.out);
      }
      assert.is(await recordingRate(session), c.rate, 'the recording keeps the call\'s rate');
    });
  }
}

test.run();
