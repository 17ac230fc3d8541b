/**
 * Interop with a SIP phone nobody here wrote: Debian's baresip, headless
 * (support/baresip.ts), against the real server. PCMU and PCMA calls with
 * audio both ways, G.722 chosen whenever the phone offers it, a G.722-only
 * call to a recorded conversation agent (greeting heard, a reply to the
 * phone's speech, a 16 kHz recording with wideband caller audio), hold and resume, digest with the challenge as
 * shipped (right and wrong password), TCP, TLS with a self-signed phone
 * certificate including a server hang-up, and RTP that keeps flowing while
 * the agent is silent (counted by the phone's RTCP reports), and keypad
 * digits reaching a conversation agent as a caller turn, and SRTP (SDES,
 * baresip's srtp module with mediaenc=srtp-mand) over SIP TLS, refused with
 * 488 over UDP.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ha1 } from '../../media/sip/index.ts';
import type { SipCallSession as CallSession } from '../../src/calls/index.ts';
import { startAllSimulators, type AllSimulators } from '../../tools/simulators/index.ts';
import { addNumber, createAgent, listCalls, listRecordings, listTranscript } from '../../storage/index.ts';
import { parseWav } from '../../media/audio/wav.ts';
import { AI_DISCLOSURE } from '../../pipeline/conversation/index.ts';
import { decryptToWavFile } from '../../src/recordings/index.ts';
import { frameRms, splitStereo } from './support/energy.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { Baresip } from './support/baresip.ts';
import { startTestServer, type TestServer } from './support/harness.ts';

const run = needExternal(hasCommand('baresip') && hasCommand('openssl') && hasCommand('sox'), 'baresip (Debian baresip-core), openssl or sox', 'the baresip interop tests');

let t: TestServer;
let dir = '';
let audioFile = '';
let silentFile = '';
let wideSpeechFile = '';
/** What the simulated STT hears in any caller speech (only the G.722 conversation test sets words). */
let callerWords = '';
let sims: AllSimulators;
const API_KEY = 'baresip-simulator-key';
let serverCert = '';
let phoneCert = '';
const user = 'phone-carrier';
// No spaces: baresip's account line ends a parameter value at whitespace.
const password = 'correct-horse-battery-staple';

function selfSigned(name: string): { cert: string; key: string } {
  const keyFile = join(dir, `${name}-key.pem`);
  const certFile = join(dir, `${name}-cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore', timeout: 60_000 });
  return { cert: certFile, key: keyFile };
}

/** The server's session of the one call in progress (polled: it exists from the INVITE on). */
async function liveSession(): Promise<CallSession> {
  let session: CallSession | undefined;
  await waitFor('the call on the server', () => (session = [...t.server.calls.calls][0] as CallSession | undefined) !== undefined);
  return session!;
}

async function lastCall(): Promise<Awaited<ReturnType<typeof listCalls>>[number]> {
  const calls = await listCalls(t.db, t.tenantId);
  return calls.sort((a, b) => +b.startedAt - +a.startedAt)[0]!;
}

/** Share of a 16 kHz signal's energy between 4 and 8 kHz (single-bin DFTs every 250 Hz over 512-sample windows). */
function highBandShare(pcm: Int16Array): number {
  let low = 0;
  let high = 0;
  for (let w = 0; w + 512 <= pcm.length; w += 512) {
    for (let f = 250; f < 8000; f += 250) {
      let re = 0;
      let im = 0;
      for (let i = 0; i < 512; i++) {
        re += pcm[w + i]! * Math.cos((2 * Math.PI * f * i) / 16000);
        im += pcm[w + i]! * Math.sin((2 * Math.PI * f * i) / 16000);
      }
      if (f < 4000) low += re * re + im * im;
      else if (f > 4250) high += re * re + im * im;
    }
  }
  return high / (low + high);
}

async function noCallsLeft(): Promise<void> {
  await waitFor('the server to end every call', () => t.server.calls.calls.size === 0);
}

async function withPhone(options: Partial<Parameters<typeof Baresip.start>[0]>, body: (phone: Baresip) => Promise<void>): Promise<void> {
  const phone = await Baresip.start({ audioFile, ...options });
  try {
    await body(phone);
  } finally {
    await phone.close();
    await noCallsLeft();
  }
}

/** Dials, waits for the answer, checks that audio flows both ways (echo agent), and hangs up from the phone. */
async function echoCall(phone: Baresip, uri: string): Promise<void> {
  assert.ok((await phone.dial(uri)).ok, 'dial accepted');
  await phone.waitEvent('CALL_ESTABLISHED');
  await phone.waitEvent('CALL_RTPESTAB'); // the phone received the server's RTP
  const session = await liveSession();
  await waitFor('the phone\'s audio to reach the server and come back', () => session.rtp.stats.packetsIn >= 50 && session.rtp.stats.packetsOut >= 50);
  const from = phone.events.length;
  await phone.command('hangup');
  await phone.waitEvent('CALL_CLOSED', { from });
  await waitFor('the call record to end', async () => (await lastCall()).state === 'ended');
  assert.is((await lastCall()).endReason, 'remote-bye');
}

if (run) {
  test.before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'smartalex-baresip-test-'));
    audioFile = join(dir, 'mic.wav');
    // 60 s of a tone: aufile ends the call at the end of its file.
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', audioFile, 'synth', '60', 'sine', '440', 'vol', '0.3']);
    silentFile = join(dir, 'silence.wav');
    execFileSync('sox', ['-n', '-r', '8000', '-c', '1', '-b', '16', silentFile, 'trim', '0', '60']);
    // 16 kHz speech for the G.722 call: 3 s of silence (the greeting plays), the fixture question, then 40 s of silence.
    wideSpeechFile = join(dir, 'wide-speech.wav');
    const fixture = new URL('../../fixtures/audio/what-time-open-16k.wav', import.meta.url).pathname;
    execFileSync('sox', [fixture, '-r', '16000', '-c', '1', '-b', '16', wideSpeechFile, 'pad', '3', '40']);
    // Providers for the conversation agents: the local simulators (the keypad test's phone is silent, so hears no words).
    sims = await startAllSimulators('instant', {
      apiKey: API_KEY, deepgramLive: { transcripts: () => callerWords },
      openai: { replies: ['You pressed one: our opening hours are nine to five.'] },
    });
    const server = selfSigned('smartalex-server');
    serverCert = server.cert;
    const phone = selfSigned('baresip-phone');
    phoneCert = join(dir, 'phone.pem'); // baresip wants certificate and key in one file
    writeFileSync(phoneCert, readFileSync(phone.cert, 'utf8') + readFileSync(phone.key, 'utf8'));
    t = await startTestServer({ env: {
      DEEPGRAM_BASE_URL: sims.deepgram.url, DEEPGRAM_API_KEY: API_KEY, OPENAI_BASE_URL: sims.openai.baseUrl, OPENAI_API_KEY: API_KEY,
      SMARTALEX_SIP_TLS_CERT: server.cert, SMARTALEX_SIP_TLS_KEY: server.key, SMARTALEX_SIP_TLS_PORT: '0' } });
    // A number reachable only with digest credentials, with the server's default challenge.
    await addNumber(t.db, t.tenantId, {
      number: '3000', agentId: t.agentId, allowedCidrs: ['10.0.0.0/8'],
      digest: { username: user, realm: 'smartalex', ha1Md5: ha1('MD5', user, 'smartalex', password), ha1Sha256: ha1('SHA-256', user, 'smartalex', password) },
    });
  });
  test.after(async () => {
    await t?.close();
    await sims?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const codec of ['PCMU', 'PCMA']) {
    test(`a ${codec} call over UDP: audio both ways, the phone hangs up`, async () => {
      await withPhone({ codecs: [codec] }, (phone) => echoCall(phone, `sip:${t.number}@127.0.0.1:${t.server.sipPort}`));
    });
  }

  test('over TCP', async () => {
    await withPhone({}, (phone) => echoCall(phone, `sip:${t.number}@127.0.0.1:${t.server.sipPort};transport=tcp`));
  });

  for (const codecs of [['G722', 'PCMU'], ['PCMU', 'G722']]) {
    test(`an offer of ${codecs.join(', ')} is answered with G.722 (wideband first): audio both ways`, async () => {
      // A 16 kHz microphone: baresip's aufile does not resample for a 16 kHz codec.
      await withPhone({ codecs, audioFile: wideSpeechFile }, async (phone) => {
        let session: CallSession | undefined;
        const seen = (s: unknown): void => { session = s as CallSession; };
        t.server.calls.once('call-started', seen);
        await echoCall(phone, `sip:${t.number}@127.0.0.1:${t.server.sipPort}`);
        assert.is(session?.rtp.sampleRate, 16000);
        assert.is(session?.transport.sampleRate, 16000);
        assert.match(phone.log(), /G722/);
      });
    });
  }

  test('G.722 only, to a recorded conversation agent: greeting heard, a reply follows, the recording is 16 kHz wideband', async () => {
    const agent = await createAgent(t.db, t.tenantId, { name: 'wideband', mode: 'conversation', greeting: 'Hello, how can I help?', prompt: 'Be brief.', recordingEnabled: true });
    await addNumber(t.db, t.tenantId, { number: '2104', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    callerWords = 'What time do you open tomorrow?';
    await withPhone({ codecs: ['G722'], audioFile: wideSpeechFile }, async (phone) => {
      await phone.dial(`sip:2104@127.0.0.1:${t.server.sipPort}`);
      await phone.waitEvent('CALL_ESTABLISHED');
      await phone.waitEvent('CALL_RTPESTAB'); // the phone receives the server's G.722
      const session = await liveSession();
      assert.is(session.transport.sampleRate, 16000, 'the conversation runs at 16 kHz');
      await waitFor('the greeting to be played to the phone', () => session.rtp.stats.packetsOut >= 50 && session.rtp.queuedMs === 0, { timeoutMs: 60_000 });
      // Turns are numbered as they end, and the phone speaks 3 s into the call whatever the agent is doing: it cuts
      // the greeting short after the disclosure, but on a busy machine the disclosure (which cannot be talked over)
      // can still be playing when the caller's turn ends. So the greeting is looked for among the agent's turns.
      const isGreeting = (r: { speaker: string; redactedText: string }): boolean => r.speaker === 'agent' && r.redactedText.startsWith(AI_DISCLOSURE);
      let seen: unknown[] = [];
      await waitForValue("the greeting, a caller turn and the agent's reply", async () => {
        const rows = await listTranscript(t.db, t.tenantId, session.callId);
        seen = rows.map((r) => ({ speaker: r.speaker, text: r.redactedText.slice(0, 80) }));
        const caller = rows.findIndex((r) => r.speaker === 'caller');
        return rows.some(isGreeting) && caller >= 0 && rows.slice(caller + 1).some((r) => r.speaker === 'agent' && !isGreeting(r)) ? rows : undefined;
      }, { timeoutMs: 60_000 }).catch((error: unknown) => { throw new Error(`${String(error)}: ${JSON.stringify(seen)}`); });
      await waitFor('the reply to be played', () => session.rtp.queuedMs === 0, { timeoutMs: 60_000 });
      const from = phone.events.length;
      await phone.command('hangup');
      await phone.waitEvent('CALL_CLOSED', { from });
      const row = await waitForValue('the recording to complete', async () => {
        const [r] = await listRecordings(t.db, t.tenantId, { callId: session.callId });
        return r?.completedAt ? r : undefined;
      }, { timeoutMs: 30_000 });
      const out = join(dir, `g722-${row.id}.wav`);
      const ref = { tenantId: t.tenantId, recordingId: row.id };
      await decryptToWavFile(await t.server.recordings.vault.store.openRead(ref), t.server.recordings.vault.keys, out, ref);
      const wav = parseWav(readFileSync(out));
      assert.is(wav.sampleRate, 16000);
      assert.is(wav.channels, 2);
      const { left, right } = splitStereo(wav.data);
      assert.ok(frameRms(right).filter((r) => r > 500).length > 25, 'the agent channel has the greeting and the reply');
      // Wideband: the caller's speech keeps energy above 4 kHz (G.711 would have none).
      const high = highBandShare(left);
      assert.ok(high > 0.002, `caller audio above 4 kHz: ${(high * 100).toFixed(2)}% of its energy`);
    }).finally(() => { callerWords = ''; });
  });

  test('hold and resume: the call survives and audio flows again after the resume', async () => {
    await withPhone({}, async (phone) => {
      await phone.dial(`sip:${t.number}@127.0.0.1:${t.server.sipPort}`);
      await phone.waitEvent('CALL_ESTABLISHED');
      const session = await liveSession();
      await waitFor('audio before the hold', () => session.rtp.stats.packetsIn >= 25);
      assert.ok((await phone.command('hold')).ok);
      await waitFor('the re-INVITE to be answered', () => /hold/i.test(phone.log()) || phone.events.some((e) => e.type === 'CALL_REMOTE_SDP' && e.param === 'answer' && phone.events.indexOf(e) > 3));
      assert.ok((await phone.command('resume')).ok);
      const before = session.rtp.stats.packetsIn;
      await waitFor('audio after the resume', () => session.rtp.stats.packetsIn >= before + 50);
      assert.ok(!phone.events.some((e) => e.type === 'CALL_CLOSED'), 'the call is still up');
      await phone.command('hangup');
      await phone.waitEvent('CALL_CLOSED');
    });
  });

  test('digest with the default challenge: the right password gets in, a wrong one gets 403', async () => {
    await withPhone({ auth: { user, password } }, (phone) => echoCall(phone, `sip:3000@127.0.0.1:${t.server.sipPort}`));
    await withPhone({ auth: { user, password: 'wrong' } }, async (phone) => {
      await phone.dial(`sip:3000@127.0.0.1:${t.server.sipPort}`);
      const closed = await phone.waitEvent('CALL_CLOSED');
      assert.match(String(closed.param), /403|401|Unauthorized|Forbidden/);
    });
  });

  test('TLS with a self-signed phone certificate: a call, then a server hang-up reaches the phone', async () => {
    const tlsPort = t.server.sipPorts.tls!;
    const agent = await createAgent(t.db, t.tenantId, { name: 'hangs-up-tls', mode: 'greeting', greeting: 'x' });
    await addNumber(t.db, t.tenantId, { number: '2101', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    let hangUp: () => void = () => undefined;
    const hangUpNow = new Promise<void>((resolve) => { hangUp = resolve; });
    t.server.calls.setRunner('greeting', async (c) => { await hangUpNow; await c.transport.hangup('agent-hangup'); });
    await withPhone({ tlsCertificate: phoneCert, tlsCaFile: serverCert }, async (phone) => {
      await phone.dial(`sip:2101@127.0.0.1:${tlsPort};transport=tls`);
      await phone.waitEvent('CALL_ESTABLISHED');
      const from = phone.events.length;
      hangUp();
      const closed = await phone.waitEvent('CALL_CLOSED', { from });
      assert.not.match(String(closed.param), /timeout/i, `closed by the server's BYE, not a timeout: ${closed.param}`);
    });
    assert.is((await lastCall()).endReason, 'agent-hangup');
  });

  test('SRTP (SDES, baresip srtp-mand) over SIP TLS: audio both ways, every packet authenticated; the same offer over UDP gets 488', async () => {
    const tlsPort = t.server.sipPorts.tls!;
    await withPhone({ tlsCertificate: phoneCert, tlsCaFile: serverCert, mediaenc: 'srtp-mand' }, async (phone) => {
      let session: CallSession | undefined;
      t.server.calls.once('call-started', (s) => { session = s as CallSession; });
      await echoCall(phone, `sip:${t.number}@127.0.0.1:${tlsPort};transport=tls`);
      const stats = session!.rtp.stats;
      assert.ok(stats.jitterBuffer.pushed >= 50, `the phone's SRTP decrypted into audio (${stats.jitterBuffer.pushed} frames)`);
      assert.is(stats.dropped.srtp, 0, 'every RTP packet from the phone authenticated');
      // libre 1.1 sends two RTCP packets unprotected: an APP "PING" when the stream starts and, at hang-up, a BYE
      // (its SRTP is detached first). Both are refused like any packet that does not authenticate, counted apart.
      assert.ok(stats.dropped.srtcp <= 2, `RTCP packets refused by SRTP: ${stats.dropped.srtcp}`);
    });
    await withPhone({ mediaenc: 'srtp-mand' }, async (phone) => {
      await phone.dial(`sip:${t.number}@127.0.0.1:${t.server.sipPort}`);
      const closed = await phone.waitEvent('CALL_CLOSED');
      assert.match(String(closed.param), /488/, 'SDES keys are not accepted over plain UDP');
    });
  });

  test('a number that requires SRTP: plain RTP over TLS gets 488, SRTP over TLS is answered', async () => {
    const tlsPort = t.server.sipPorts.tls!;
    const agent = await createAgent(t.db, t.tenantId, { name: 'srtp-only', mode: 'echo' });
    await addNumber(t.db, t.tenantId, { number: '2105', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'], requireSrtp: true });
    await withPhone({ tlsCertificate: phoneCert, tlsCaFile: serverCert }, async (phone) => {
      await phone.dial(`sip:2105@127.0.0.1:${tlsPort};transport=tls`);
      const closed = await phone.waitEvent('CALL_CLOSED');
      assert.match(String(closed.param), /488/);
    });
    await withPhone({ tlsCertificate: phoneCert, tlsCaFile: serverCert, mediaenc: 'srtp-mand' }, (phone) => echoCall(phone, `sip:2105@127.0.0.1:${tlsPort};transport=tls`));
  });

  test('keypad digits from the phone (RFC 4733) reach the agent as a caller turn', async () => {
    const agent = await createAgent(t.db, t.tenantId, { name: 'keypad', mode: 'conversation', greeting: 'Press one for our hours.', prompt: 'Be brief.', recordingEnabled: false });
    await addNumber(t.db, t.tenantId, { number: '2103', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    await withPhone({ audioFile: silentFile }, async (phone) => {
      await phone.dial(`sip:2103@127.0.0.1:${t.server.sipPort}`);
      await phone.waitEvent('CALL_ESTABLISHED');
      const session = await liveSession();
      // The disclosure and greeting are queued, then played out: keys are pressed once the agent is quiet.
      await waitFor('the greeting to be queued', () => session.rtp.queuedMs > 0, { timeoutMs: 30_000 });
      await waitFor('the greeting to be played', () => session.rtp.queuedMs === 0, { timeoutMs: 60_000 });
      const asked = sims.openai.stats.lastChatRequest; // an earlier test's conversation may have asked before
      await phone.sendDigits('1#');
      await waitFor('the LLM to be asked', () => sims.openai.stats.lastChatRequest !== asked, { timeoutMs: 30_000 });
      assert.is(sims.openai.stats.lastChatRequest?.messages.at(-1)?.content, '[keypad] 1#', 'the keys reached the LLM as a caller turn');
      const from = phone.events.length;
      await phone.command('hangup');
      await phone.waitEvent('CALL_CLOSED', { from });
      await waitFor('the transcript', async () => (await listTranscript(t.db, t.tenantId, session.callId)).some((x) => x.speaker === 'caller'));
      const turns = await listTranscript(t.db, t.tenantId, session.callId);
      assert.equal(turns.filter((x) => x.speaker === 'caller').map((x) => x.redactedText), ['[keypad] 1#']);
    });
  });

  test('RTP keeps flowing while the agent is silent (counted by the phone)', async () => {
    const agent = await createAgent(t.db, t.tenantId, { name: 'quiet', mode: 'greeting', greeting: 'x' });
    await addNumber(t.db, t.tenantId, { number: '2102', agentId: agent.id, allowedCidrs: ['127.0.0.1/32'] });
    // A 400 ms tone (20 packets), then silence until the caller hangs up.
    t.server.calls.setRunner('greeting', async (c) => {
      c.transport.play(new Int16Array(3200).map((_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000))));
      await new Promise<void>((resolve) => c.transport.onEnd(() => resolve()));
    });
    await withPhone({}, async (phone) => {
      await phone.dial(`sip:2102@127.0.0.1:${t.server.sipPort}`);
      await phone.waitEvent('CALL_RTPESTAB');
      // The phone's RTCP reports (about every 5 s) count what it received: far more than the tone's 20 packets.
      const received = (): number => Math.max(0, ...phone.events.map((e) => e.rtcp_stats?.rx.sent ?? 0));
      await waitFor('the phone to count packets sent during the agent\'s silence', () => received() >= 20 + 150, { timeoutMs: 30_000 })
        .catch((error: Error) => { throw new Error(`${error.message}: the phone counted ${received()} packets`); });
      assert.ok(!phone.events.some((e) => e.type === 'CALL_CLOSED'), 'the call is still up');
      await phone.command('hangup');
      await phone.waitEvent('CALL_CLOSED');
    });
  });
}

test.run();
