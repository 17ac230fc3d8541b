/**
 * A browser calls an agent over WebRTC, for real: Debian's Chromium driven by
 * playwright-core opens the server's own /call/<agentId> page (a call token
 * minted through the API in its fragment), its fake microphone playing a
 * fixture WAV, and talks to a conversation agent whose providers are the
 * local simulators. Asserted: the greeting is heard (energy on the remote
 * track through WebAudio in the page), the caller's speech gets a spoken
 * reply, speaking over the agent stops it (barge-in), the page shows the
 * redacted captions, and after the hang-up the call record holds the
 * redacted transcript, the turn's latency trace and a recording that
 * decrypts to both legs at 16 kHz.
 *
 * Everything runs in an empty network namespace: the file re-executes itself
 * under `unshare -n` with only loopback up, Chromium resolves no host name
 * (`--host-resolver-rules`), and neither side has a STUN server, so the call
 * cannot reach or depend on anything outside this machine. Chromium gathers
 * no loopback candidates unless told to (`--allow-loopback-in-peer-connection`).
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { parseWav } from '../../media/audio/index.ts';
import { AI_DISCLOSURE } from '../../pipeline/conversation/index.ts';
import { startAllSimulators } from '../../tools/simulators/index.ts';
import { getCall, issueApiKey, listCallEvents, listRecordings, listTranscript } from '../../storage/index.ts';
import { decryptToWavFile } from '../../src/recordings/index.ts';
import { contentText } from '../support/content-text.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { frameRms, splitStereo } from './support/energy.ts';
import { fakeMicrophoneArgs, microphoneWav, VOICED } from './support/fake-microphone.ts';
import { exitAfterNativePeers } from '../../media/webrtc/native-exit.ts';

const IN_NAMESPACE = process.env.SMARTALEX_TEST_NETNS === '1';

if (!IN_NAMESPACE) {
  const available = hasCommand('chromium') && hasCommand('unshare') && hasCommand('ip') && process.getuid?.() === 0;
  if (!needExternal(available, 'Chromium (Debian chromium), unshare and ip as root', 'the browser (WebRTC) call test')) process.exit(0);
  // Re-run this file alone in a new network namespace with loopback up; its exit code is ours.
  const child = spawn('unshare', ['-n', '--', 'sh', '-c', 'ip link set lo up && exec "$@"', 'sh', process.execPath, ...process.execArgv, fileURLToPath(import.meta.url)], {
    stdio: 'inherit', env: { ...process.env, SMARTALEX_TEST_NETNS: '1' },
  });
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => child.kill(signal));
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 1 : 0))));
  process.exit(code);
}

const API_KEY = 'e2e-simulator-key';
const CARD = '4111 1111 1111 1111';
const CALLER_SAYS = `my card number is ${CARD}`;
/** Far longer than the test waits (about a minute of speech): only the barge-in can stop it early. */
const AGENT_SAYS = `Thank you. I have noted the card ${CARD}. ${'Let me tell you about our opening hours and the ways to reach us. '.repeat(12)}`;

interface PageState {
  t0: number;
  phase: string;
  callId: string | null;
  endReason: string | null;
  error: string | null;
  levels: Array<{ t: number; rms: number }>;
  captions: Array<{ speaker: string; text: string; t: number }>;
  muted: boolean;
}

test('a browser hears the greeting, gets a reply, barges in; the call record has the redacted transcript, the trace and a two-leg recording', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'smartalex-webrtc-e2e-'));
  const sims = await startAllSimulators('instant', { apiKey: API_KEY, deepgramLive: { transcripts: () => CALLER_SAYS }, openai: { replies: [AGENT_SAYS] } });
  let t: TestServer | undefined;
  let browser: Browser | undefined;
  try {
    t = await startTestServer({
      env: { DEEPGRAM_BASE_URL: sims.deepgram.url, DEEPGRAM_API_KEY: API_KEY, OPENAI_BASE_URL: sims.openai.baseUrl, OPENAI_API_KEY: API_KEY },
      agent: { name: 'web', mode: 'conversation', prompt: 'Be brief.', greeting: 'How can I help you today?', recordingEnabled: true },
    });
    const server = t;
    const base = `http://127.0.0.1:${server.server.httpPort}`;
    const { key } = await issueApiKey(server.db, server.tenantId, { name: 'web-widget-admin', role: 'manager' });
    const minted = await fetch(`${base}/v1/agents/${server.agentId}/call-tokens`, {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ ttlSeconds: 120 }),
    });
    assert.is(minted.status, 201);
    const { callPath } = await minted.json() as { callPath: string };

    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [...fakeMicrophoneArgs(microphoneWav(dir)), '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', '--autoplay-policy=no-user-gesture-required'],
    });
    const page = await browser.newPage();
    const violations: string[] = [];
    page.on('console', (m) => { if (/Content.Security.Policy|Refused to/i.test(m.text())) violations.push(m.text()); });
    await page.goto(`${base}${callPath}`);
    assert.not.match(page.url(), /token/, 'the token left the address bar');
    const state = (): Promise<PageState> => page.evaluate(() => (globalThis as unknown as { smartalexCall: PageState }).smartalexCall);
    const pageNow = (): Promise<number> => page.evaluate(() => performance.now() - (globalThis as unknown as { smartalexCall: PageState }).smartalexCall.t0);
    const voicedAfter = async (from: number): Promise<number> => (await state()).levels.filter((l) => l.t > from && l.rms > VOICED).length;

    // Join muted, so the fixture speech waits until the greeting is over.
    await page.click('#mute');
    await page.click('#call');
    await waitFor('the call to start', async () => (await state()).callId !== null, { timeoutMs: 45_000 });
    const callId = (await state()).callId!;
    // The greeting is over when its caption comes (the server sends a turn's caption as the turn ends). Silence
    // alone is no proof: on a busy machine the agent's speech can stall for more than a second mid-greeting, and
    // a caller who spoke into that gap (during the disclosure, which cannot be talked over) ended a turn first.
    await waitFor('the greeting to finish (its caption)', async () => (await state()).captions.some((c) => c.speaker === 'agent' && c.text.startsWith(AI_DISCLOSURE)), { timeoutMs: 60_000 });
    const greetingVoiced = await voicedAfter(0);
    assert.ok(greetingVoiced >= 10, `the greeting was heard (${greetingVoiced} voiced 50 ms samples)`);

    // Speak: unmute until the caller's caption shows, then listen for the reply.
    const spokeAt = await pageNow();
    await page.click('#mute');
    await waitFor('the caller caption', async () => (await state()).captions.some((c) => c.speaker === 'caller'), { timeoutMs: 60_000 });
    await page.click('#mute');
    await waitFor('the reply to be heard', async () => (await voicedAfter(spokeAt)) >= 10, { timeoutMs: 60_000 });

    // Barge in: speak over the long reply; the agent stops while the caller is still talking.
    const bargedAt = await pageNow();
    await page.click('#mute');
    await waitFor('the agent to fall silent under the caller', async () => {
      const s = await state();
      const after = s.levels.filter((l) => l.t > bargedAt);
      return after.length > 30 && after.slice(-30).every((l) => l.rms <= VOICED); // 1.5 s without agent speech
    }, { timeoutMs: 60_000 });
    await page.click('#mute');

    const captions = (await state()).captions;
    assert.ok(captions.some((c) => c.speaker === 'caller' && /\[CARD\]/.test(c.text)), 'the caller caption is redacted');
    assert.not.ok(captions.some((c) => /4111/.test(c.text)), `no caption holds the card digits: ${JSON.stringify(captions)}`);

    await page.click('#hangup');
    await waitFor('the page to show the end', async () => (await state()).phase === 'ended', { timeoutMs: 20_000 });
    assert.equal(violations, [], 'no CSP violation');

    const call = await waitForValue('the call row to be ended', async () => {
      const c = await getCall(server.db, server.tenantId, callId);
      return c?.state === 'ended' && c.latency !== null ? c : undefined;
    }, { timeoutMs: 30_000 });
    assert.is(call.endReason, 'remote-bye');
    const events = await listCallEvents(server.db, server.tenantId, callId);
    assert.ok(events.some((e) => e.type === 'transport' && (e.data as { kind?: string }).kind === 'webrtc'), 'the call is marked as WebRTC');

    // A turn that settles at the hang-up is written by the transcript queue's own flush. On a timeout the rows
    // seen last are in the message (the .catch was once inside a line comment and never ran).
    let lastRows: unknown[] = [];
    const turns = await waitForValue('the transcript', async () => {
      const rows = await listTranscript(server.db, server.tenantId, callId);
      lastRows = rows.map((r) => ({ seq: r.seq, speaker: r.speaker, text: r.redactedText.slice(0, 60), latency: r.latency !== null, at: r.at }));
      return rows.some((r) => r.speaker === 'agent' && r.latency !== null) ? rows : undefined;
    }, { timeoutMs: 60_000 }).catch((error: unknown) => { throw new Error(`${String(error)}: ${JSON.stringify(lastRows)}`); });
    assert.ok(turns[0]!.redactedText.startsWith(AI_DISCLOSURE), `the greeting (disclosure first) is in the transcript: ${JSON.stringify(lastRows)}`);
    assert.ok(turns.some((r) => r.speaker === 'caller' && /^my card number is \[CARD\]/.test(r.redactedText)));
    assert.not.ok(contentText(turns).includes('4111'), 'the card digits are nowhere in the transcript');
    const reply = turns.find((r) => r.speaker === 'agent' && r.latency !== null)!;
    const trace = reply.latency as Record<string, number>;
    for (const field of ['e2eMs', 'endpointingMs', 'sttFinalMs', 'llmTtftMs', 'ttsTtfbMs', 'overheadMs']) assert.type(trace[field], 'number', field);
    // The barged-in reply is stored as far as the caller heard it: shorter than what the agent meant to say.
    const fullReply = AGENT_SAYS.replace(CARD, '[CARD]').trim();
    const replies = turns.filter((r) => r.speaker === 'agent').slice(1); // after the greeting
    assert.ok(replies.some((r) => r.redactedText.trim().length < fullReply.length), `a reply was cut short by the barge-in: ${JSON.stringify(replies.map((r) => r.redactedText.length))} < ${fullReply.length}`);

    const recording = await waitForValue('the completed recording', async () => {
      const [r] = await listRecordings(server.db, server.tenantId, { callId });
      return r?.completedAt ? r : undefined;
    }, { timeoutMs: 30_000 });
    const ref = { tenantId: server.tenantId, recordingId: recording.id };
    const file = join(dir, 'call.wav');
    const result = await decryptToWavFile(await server.server.recordings.vault.store.openRead(ref), server.server.recordings.vault.keys, file, ref);
    assert.is(result.cutShort, false);
    const wav = parseWav(readFileSync(file));
    assert.is(wav.channels, 2);
    assert.is(wav.sampleRate, 16_000, 'the recording keeps the wideband audio');
    const { left, right } = splitStereo(wav.data);
    const loud = (pcm: Int16Array): number => frameRms(pcm).filter((r) => r > 500).length;
    // The caller said little but a card number, which is silenced (PCI), as is the whole of a turn whose words
    // the STT did not time: what is left of the caller's speech varies from run to run, but it is there.
    assert.ok(loud(left) > 0, `the caller leg holds the speech (${loud(left)} loud 10 ms frames)`);
    assert.ok(loud(right) > 100, `the agent leg holds the greeting and the reply (${loud(right)} loud 10 ms frames)`);
  } finally {
    await browser?.close().catch(() => undefined);
    await t?.close();
    await sims.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// libdatachannel's native threads keep the process alive: once uvu has printed its summary, exit with its code.
test.after(() => exitAfterNativePeers());

test.run();
