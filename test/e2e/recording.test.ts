/**
 * Recording through the real server: the project's UAC calls a greeting agent
 * that records; the call's recording row exists, decrypts to a 2-channel WAV
 * whose caller channel holds the tone the UAC sent (and nothing else) and
 * whose agent channel holds the greeting where the UAC heard it; a signed
 * link streams the same WAV over HTTP. A call to an agent with recording off
 * leaves no recording.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav } from '../../media/audio/index.ts';
import { addNumber, createAgent, getCall, listAudit, listRecordings } from '../../storage/index.ts';
import { decryptToWavFile, mintRecordingLink, openRecordingVault } from '../../src/recordings/index.ts';
import type { SipCallSession as CallSession } from '../../src/calls/index.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { waitForValue } from '../support/poll.ts';
import { ownCall } from './support/uac.ts';
import { frameRms, receivedRmsOnSenderClock, splitStereo, toneBurst } from './support/energy.ts';

const run = needExternal(hasCommand('espeak-ng'), 'espeak-ng', 'the recording end-to-end test (its agent speaks a greeting)');
let t: TestServer;
const started: CallSession[] = [];
const TONE_FROM_S = 0.3;
const TONE_TO_S = 1.1;

test.before(async () => {
  if (!run) return;
  t = await startTestServer({ agent: { name: 'greeter', mode: 'greeting', greeting: 'Hello, thank you for calling. This call is recorded for quality.', recordingEnabled: true } });
  t.server.calls.on('call-started', (s) => started.push(s as CallSession));
});
test.after(async () => { if (run) await t.close(); });

if (run) {
  test('a recorded call: both legs in the vault, caller left, agent right, and a signed link streams it', async () => {
    const before = started.length;
    const call = await ownCall(t.server.sipPort);
    let hungUp = false;
    call.dialog.once('terminated', () => { hungUp = true; });
    // Digital silence with one tone burst, in real time, until the agent hangs up (bounded at 20 s).
    const sent = await call.sendPcm(toneBurst(20, TONE_FROM_S, TONE_TO_S), { stop: () => hungUp || call.dialog.state === 'terminated' });
    await call.close();
    assert.ok(hungUp || call.dialog.state === 'terminated', 'the greeting agent hung up');
    const session = started[before]!;
    assert.ok(session, 'the call reached the call manager');
    const callId = session.callId;

    const row = await waitForValue('the completed recording row', async () => {
      const [r] = await listRecordings(t.db, t.tenantId, { callId });
      return r?.completedAt ? r : undefined;
    }, { timeoutMs: 15_000 });
    assert.is(row.cutShort, false);
    assert.ok(row.durationMs! > 1000, `duration ${row.durationMs}`);
    assert.is((await getCall(t.db, t.tenantId, callId))?.endReason, 'greeting-finished');

    const out = mkdtempSync(join(tmpdir(), 'smartalex-rec-e2e-'));
    try {
      const ref = { tenantId: t.tenantId, recordingId: row.id };
      const file = join(out, 'call.wav');
      const result = await decryptToWavFile(await t.server.recordings.vault.store.openRead(ref), t.server.recordings.vault.keys, file, ref);
      assert.is(result.cutShort, false);
      const wav = parseWav(readFileSync(file));
      assert.is(wav.channels, 2);
      assert.is(wav.sampleRate, 8000);
      const { left, right } = splitStereo(wav.data);
      const callerRms = frameRms(left);
      const agentRms = frameRms(right);

      // Caller channel: the tone and nothing else (the UAC sent digital silence around it).
      const toneFrames = Math.round((TONE_TO_S - TONE_FROM_S) * 50);
      const loud = callerRms.map((r, i) => (r > 2000 ? i : -1)).filter((i) => i >= 0);
      assert.ok(Math.abs(loud.length - toneFrames) <= 4, `caller channel: ${loud.length} loud frames, the UAC sent ${toneFrames}`);
      assert.ok(loud[loud.length - 1]! - loud[0]! < toneFrames + 6, 'the tone is one contiguous burst');

      // Agent channel: the greeting where the UAC heard it. Map UAC time to recording frames through the tone.
      // Both sides on the server's timing, not this process's: the tone's actual send time, the greeting's send time
      // from its RTP timestamps (this process's event loop may stall for hundreds of ms on a busy machine).
      const heard = receivedRmsOnSenderClock(call.received).filter((p) => p.rms > 300);
      assert.ok(heard.length > 50, `the UAC heard the greeting (${heard.length} voiced packets)`);
      const spoken = agentRms.filter((r) => r > 300).length;
      assert.ok(Math.abs(spoken - heard.length) <= Math.max(6, heard.length * 0.1), `agent channel has ${spoken} voiced frames, the UAC heard ${heard.length}`);
      const toneSentAt = sent.sentAt[Math.round(TONE_FROM_S * 50)]!;
      const lag = loud[0]! - Math.round((toneSentAt - sent.startedAt) / 20); // recording frame = UAC frame + lag
      let best = { offset: 0, match: 0 };
      for (let offset = -40; offset <= 15; offset++) {
        let hits = 0;
        for (const p of heard) {
          const i = Math.round((p.at - sent.startedAt) / 20) + lag + offset;
          if ((agentRms[i] ?? 0) > 300 || (agentRms[i - 1] ?? 0) > 300 || (agentRms[i + 1] ?? 0) > 300) hits++;
        }
        if (hits > best.match) best = { offset, match: hits };
      }
      assert.ok(best.match / heard.length > 0.85, `agent channel lines up with what the UAC heard (${best.match}/${heard.length} at offset ${best.offset})`);
      // The caller leg is placed when the agent's pipeline heard it (the jitter buffer's playout), the agent leg when it
      // was sent: on a clean path 12 frames cover the difference; on a jittery one (a busy machine) the adaptive buffer
      // deepens and the caller leg may trail by its depth more, never lead.
      const peakDepth = session.rtp.stats.jitterBuffer.peakDepthFrames;
      assert.ok(best.offset <= 12 && best.offset >= -(12 + peakDepth), `legs are aligned within 240 ms plus the jitter buffer's peak depth (offset ${best.offset} frames, peak depth ${peakDepth} frames)`);
      // The caller channel is silent while only the agent speaks.
      const agentOnly = agentRms.map((r, i) => (r > 300 && (callerRms[i] ?? 0) < 50 ? 1 : 0)).reduce<number>((a, b) => a + b, 0);
      assert.ok(agentOnly > spoken - toneFrames - 10, 'the greeting is not on the caller channel');

      // A signed link streams the same audio over HTTP, and the access is audited.
      const { linkSecret } = await openRecordingVault({ SMARTALEX_DATA_DIR: t.dir, SMARTALEX_MASTER_KEY: undefined }, t.db);
      const link = await mintRecordingLink(t.db, linkSecret, { tenantId: t.tenantId, recordingId: row.id, maxTtlMs: 3_600_000, actor: 'operator:e2e' });
      const res = await fetch(`http://127.0.0.1:${t.server.httpPort}${link.path}`, { signal: AbortSignal.timeout(15_000) });
      assert.is(res.status, 200);
      assert.is(res.headers.get('content-type'), 'audio/wav');
      const fetched = parseWav(Buffer.from(await res.arrayBuffer()));
      assert.is(fetched.channels, 2);
      assert.ok(fetched.data.equals(wav.data), 'the link serves the recording');
      const audit = await listAudit(t.db, t.tenantId);
      assert.ok(audit.some((e) => e.action === 'recording.accessed' && e.target === row.id));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('a call to an agent with recording off leaves no recording', async () => {
    const agent = await createAgent(t.db, t.tenantId, { name: 'echo-unrecorded', mode: 'echo', recordingEnabled: false });
    await addNumber(t.db, t.tenantId, { number: '2001', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    const before = started.length;
    const call = await ownCall(t.server.sipPort, { number: '2001' });
    await call.sendPcm(toneBurst(1.5, 0.2, 1.0));
    await call.close();
    const session = started[before]!;
    assert.ok(session);
    const ended = await waitForValue('the ended call record', async () => {
      const c = await getCall(t.db, t.tenantId, session.callId);
      return c?.state === 'ended' ? c : undefined;
    }, { timeoutMs: 10_000 });
    assert.is(ended.agentId, agent.id);
    assert.ok(session.rtp.stats.packetsOut > 20, 'the echo agent played audio');
    assert.equal(await listRecordings(t.db, t.tenantId, { callId: session.callId }), []);
  });
}

test.run();
