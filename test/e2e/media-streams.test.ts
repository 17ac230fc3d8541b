/**
 * Carrier WebSocket media streams through the real server: the server
 * in-process with its providers on the local simulators and a conversation
 * agent that records, a number whose carrier is Twilio (auth token sealed
 * with the tenant key) and one whose carrier is Telnyx (Ed25519 key). A local
 * client speaks each carrier's protocol as documented (test/e2e/support/
 * stream-client.ts): the signed voice webhook answers TwiML/TeXML
 * `<Connect><Stream>` with a stream token; the stream carries the caller's
 * fixture audio in and the agent's greeting and reply out, paced, with marks
 * echoed as the audio plays; a barge-in makes the server send `clear`; an
 * abrupt socket close ends the call cleanly (end reason, transcript,
 * recording that decrypts to both legs). Bad signatures get 403, bad or
 * expired tokens are refused, a token works for its own call only.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseWav, pcm16Samples } from '../../media/audio/index.ts';
import { startAllSimulators, type AllSimulators } from '../../tools/simulators/index.ts';
import type { CallSession } from '../../src/calls/index.ts';
import { decryptToWavFile, openRecordingVault } from '../../src/recordings/index.ts';
import { mintStreamToken, signTwilioRequest } from '../../src/streams/index.ts';
import { addNumber, getCall, listCallEvents, listCalls, listRecordings, listTranscript, routeNumber, setNumberCarrier } from '../../storage/index.ts';
import { contentText } from '../support/content-text.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { frameRms, splitStereo } from './support/energy.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { StreamClient, UpgradeRefused } from './support/stream-client.ts';

const run = needExternal(hasCommand('espeak-ng'), 'espeak-ng', 'the media-stream end-to-end test (the conversation runner loads its offline voices)');
const API_KEY = 'e2e-simulator-key';
const TWILIO_TOKEN = 'twilio-auth-token-for-tests';
const TELNYX_NUMBER = '2001';
const CARD = '4111 1111 1111 1111';
const LONG_REPLY = 'Let me tell you about our opening hours. We open at nine in the morning. We close at ten in the evening. On weekends we open at eight. Holidays may differ, so please check our website before you come in.';

let t: TestServer;
let sims: AllSimulators;
let http: string;
let telnyxPrivate: import('node:crypto').KeyObject;
const started: CallSession[] = [];
const clients: StreamClient[] = [];

function fixture(name: string): Int16Array {
  const wav = parseWav(readFileSync(new URL(`../../fixtures/audio/${name}`, import.meta.url)));
  assert.is(wav.sampleRate, 8000);
  return pcm16Samples(wav);
}

test.before(async () => {
  if (!run) return;
  sims = await startAllSimulators('instant', {
    apiKey: API_KEY,
    deepgramLive: { transcripts: () => `my card number is ${CARD}` },
    openai: { replies: [LONG_REPLY, 'Sure, anything else?'] },
  });
  t = await startTestServer({
    env: { DEEPGRAM_BASE_URL: sims.deepgram.url, DEEPGRAM_API_KEY: API_KEY, OPENAI_BASE_URL: sims.openai.baseUrl, OPENAI_API_KEY: API_KEY },
    // Audio redaction off: the caller's scripted transcript holds a card number, and the recording's caller leg is checked
    // for the caller's speech (silencing it is pci-recording.test.ts's subject).
    agent: {
      name: 'assistant', mode: 'conversation', prompt: 'Be brief.', greeting: 'How can I help you today?', recordingEnabled: true,
      providerSettings: { pii_audio_redaction: false },
    },
  });
  t.server.calls.on('call-started', (s) => started.push(s));
  http = `http://127.0.0.1:${t.server.httpPort}`;
  const keys = t.server.recordings.vault.keys;
  const twilioNumber = (await routeNumber(t.db, t.number))!;
  await setNumberCarrier(t.db, keys, t.tenantId, twilioNumber.numberId, 'twilio', TWILIO_TOKEN);
  const telnyx = await addNumber(t.db, t.tenantId, { number: TELNYX_NUMBER, agentId: t.agentId, allowedCidrs: [] });
  const pair = generateKeyPairSync('ed25519');
  telnyxPrivate = pair.privateKey;
  const rawPublic = pair.publicKey.export({ format: 'der', type: 'spki' }).subarray(-32).toString('base64');
  await setNumberCarrier(t.db, keys, t.tenantId, telnyx.id, 'telnyx', rawPublic);
});

test.after(async () => {
  for (const c of clients) c.close();
  if (!run) return;
  await t?.close();
  await sims?.close();
});

/** Posts Twilio's voice webhook for a call, signed with `authToken`. */
async function twilioWebhook(params: Record<string, string>, authToken = TWILIO_TOKEN): Promise<Response> {
  const url = `${http}/v1/carriers/twilio/voice`;
  return fetch(url, {
    method: 'POST', body: new URLSearchParams(params).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signTwilioRequest(authToken, url, params) },
  });
}

async function telnyxWebhook(params: Record<string, string>, key = telnyxPrivate): Promise<Response> {
  const body = new URLSearchParams(params).toString();
  const timestamp = String(Math.floor(Date.now() / 1000));
  const signature = sign(null, Buffer.from(`${timestamp}|${body}`), key).toString('base64');
  return fetch(`${http}/v1/carriers/telnyx/voice`, {
    method: 'POST', body,
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'telnyx-signature-ed25519': signature, 'telnyx-timestamp': timestamp },
  });
}

/** The stream URL and parameters out of a TwiML/TeXML answer. */
function readConnect(xml: string): { url: string; parameters: Record<string, string> } {
  const unescape = (s: string): string => s.replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const url = /<Connect><Stream url="([^"]+)"/.exec(xml)?.[1];
  assert.ok(url, `a <Connect><Stream> in ${xml}`);
  const parameters: Record<string, string> = {};
  for (const m of xml.matchAll(/<Parameter name="([^"]+)" value="([^"]*)"\/>/g)) parameters[m[1]!] = unescape(m[2]!);
  return { url: unescape(url!), parameters };
}

async function connect(url: string, dialect: 'twilio' | 'telnyx', streamId: string): Promise<StreamClient> {
  const client = await StreamClient.connect(url, dialect, streamId);
  clients.push(client);
  return client;
}

/** Heard something since `since`, then nothing for `quietMs`. */
const finishedTalking = (c: StreamClient, since: number, quietMs: number) => (): boolean =>
  c.voicedAfter(since) > 10 && performance.now() - c.lastVoicedAt() > quietMs;

if (run) {
  test('Twilio: signed webhook, stream with the token in its parameters, greeting, reply, barge-in clear, marks, abrupt close', async () => {
    const CALL_SID = 'CA11111111111111111111111111111111';
    const params = { AccountSid: 'AC00000000000000000000000000000000', CallSid: CALL_SID, From: '+14152100999', To: t.number, CallStatus: 'ringing', Direction: 'inbound' };
    // A wrong signature and an unknown number get the same 403.
    const forged = await twilioWebhook(params, 'not-the-token');
    assert.is(forged.status, 403);
    const unknown = await twilioWebhook({ ...params, To: '9999' });
    assert.is(unknown.status, 403);
    assert.is(await unknown.text(), await forged.text());

    const answer = await twilioWebhook(params);
    assert.is(answer.status, 200);
    assert.match(answer.headers.get('content-type') ?? '', /text\/xml/);
    const { url, parameters } = readConnect(await answer.text());
    assert.match(url, new RegExp(`^ws://127\\.0\\.0\\.1:${t.server.httpPort}/v1/streams/twilio\\?token=`));
    assert.ok(parameters.token, 'the token travels as a <Parameter>');
    assert.is(parameters.from, params.From);

    // Twilio ignores the URL's query: the client connects to the bare path and the token comes in `start`.
    const bare = url.replace(/\?.*$/, '');
    const before = started.length;
    const client = await connect(bare, 'twilio', 'MZ11111111111111111111111111111111');
    client.start(CALL_SID, parameters);
    const callStart = performance.now();
    const session = await waitForValue('the stream call', () => started[before], { timeoutMs: 20_000 });
    assert.is(session.kind, 'ws-stream');

    // The greeting is heard, paced; every mark comes back as its audio plays and nothing stays unacknowledged.
    await client.silenceUntil(finishedTalking(client, callStart, 600), 45_000);
    assert.ok(client.voicedAfter(callStart) > 50, `the greeting was heard (${client.voicedAfter(callStart)} voiced frames)`);
    assert.ok(client.marksReceived.length > 5, `marks came with the audio (${client.marksReceived.length})`);
    await waitFor('every mark echoed and the server to know all was played', () =>
      client.marksEchoed.length === client.marksReceived.length && session.transport.queuedMs() === 0, { timeoutMs: 20_000 });
    client.dtmf('5');

    // The caller speaks; the long reply starts; the caller talks over it: the server sends `clear`.
    await client.say(fixture('yes-please-8k.wav'));
    const saidAt = performance.now();
    await client.silenceUntil(() => client.voicedAfter(saidAt) > 25, 45_000);
    assert.ok(client.voicedAfter(saidAt) > 25, 'the reply started');
    await client.say(fixture('what-time-open-8k.wav'), () => client.clears > 0);
    await client.silenceUntil(() => client.clears > 0, 20_000);
    assert.ok(client.clears > 0, 'barge-in sent clear');
    // What was cleared is not heard: the buffer is empty and the marks it held came back.
    await waitFor('the cleared marks echoed', () => client.marksEchoed.length === client.marksReceived.length, { timeoutMs: 20_000 });

    // The network goes away mid-call.
    client.dropConnection();
    assert.is(await session.untilClosed(), 'media-failure');
    const row = await getCall(t.db, t.tenantId, session.callId);
    assert.is(row?.state, 'ended');
    assert.is(row?.endReason, 'media-failure');
    assert.is(row?.sipCallId, CALL_SID);
    assert.is(row?.toUri, `tel:${t.number}`);
    const events = await listCallEvents(t.db, t.tenantId, session.callId);
    assert.equal(events.find((e) => e.type === 'transport')?.data, { kind: 'ws-stream' });
    assert.is((events.find((e) => e.type === 'dtmf')?.data as { keys?: string } | undefined)?.keys, '5');

    // The transcript is stored redacted.
    const turns = await waitForValue('the caller turn', async () => {
      const rows = await listTranscript(t.db, t.tenantId, session.callId);
      return rows.some((r) => r.speaker === 'caller') ? rows : undefined;
    }, { timeoutMs: 20_000 });
    assert.match(turns.find((r) => r.speaker === 'caller')!.redactedText, /\[CARD\]/);
    assert.not.ok(contentText(turns).includes('4111'), 'no raw card digits');

    // The recording decrypts to both legs: the caller's speech left, the agent's voice right.
    const recording = await waitForValue('the completed recording', async () => {
      const [r] = await listRecordings(t.db, t.tenantId, { callId: session.callId });
      return r?.completedAt ? r : undefined;
    }, { timeoutMs: 20_000 });
    const out = mkdtempSync(join(tmpdir(), 'smartalex-streams-e2e-'));
    try {
      const ref = { tenantId: t.tenantId, recordingId: recording.id };
      const file = join(out, 'call.wav');
      await decryptToWavFile(await t.server.recordings.vault.store.openRead(ref), t.server.recordings.vault.keys, file, ref);
      const wav = parseWav(readFileSync(file));
      assert.is(wav.channels, 2);
      assert.is(wav.sampleRate, 8000);
      const { left, right } = splitStereo(wav.data);
      const callerVoiced = frameRms(left).filter((r) => r > 300).length;
      const agentVoiced = frameRms(right).filter((r) => r > 300).length;
      assert.ok(callerVoiced > 20, `the caller leg holds the caller speaking (${callerVoiced} voiced frames)`);
      assert.ok(agentVoiced > 50, `the agent leg holds the greeting and reply (${agentVoiced} voiced frames)`);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  test('stream tokens: garbage, forged and expired are refused at the upgrade; a token opens its own call only', async () => {
    const path = `ws://127.0.0.1:${t.server.httpPort}/v1/streams/twilio`;
    const refused = async (token: string): Promise<number> => {
      try {
        clients.push(await StreamClient.connect(`${path}?token=${encodeURIComponent(token)}`, 'twilio', 'MZ0'));
      } catch (error) {
        if (error instanceof UpgradeRefused) return error.status;
        throw error;
      }
      return 101;
    };
    const numberId = (await routeNumber(t.db, t.number))!.numberId;
    const claims = { tenantId: t.tenantId, numberId, callId: 'CA2', carrier: 'twilio' as const };
    const { streamSecret } = await openRecordingVault({ SMARTALEX_DATA_DIR: t.dir, SMARTALEX_MASTER_KEY: undefined }, t.db);
    assert.is(await refused('garbage'), 401);
    try {
      clients.push(await StreamClient.connect(`ws://127.0.0.1:${t.server.httpPort}/v1/streams/elsewhere`, 'twilio', 'MZ0'));
      assert.unreachable('an upgrade nobody serves was accepted');
    } catch (error) {
      assert.is((error as UpgradeRefused).status, 404, 'an upgrade to a path nobody serves is answered, not left hanging');
    }
    assert.is(await refused(mintStreamToken(Buffer.alloc(32, 7), claims)), 401, 'signed with another secret');
    assert.is(await refused(mintStreamToken(streamSecret, claims, Date.now() - 120_000)), 401, 'expired');
    assert.is(await refused(mintStreamToken(streamSecret, { ...claims, carrier: 'telnyx' })), 401, 'minted for the other carrier');

    const answer = await twilioWebhook({ AccountSid: 'AC0', CallSid: 'CA22222222222222222222222222222222', From: '+14152100998', To: t.number });
    const { parameters } = readConnect(await answer.text());
    const callsBefore = (await listCalls(t.db, t.tenantId)).length;
    // A valid token, but the stream says it is another call: closed with 1008 (policy), no call.
    const other = await connect(path, 'twilio', 'MZ2');
    other.start('CA99999999999999999999999999999999', parameters);
    await waitFor('the stream for another call to be closed', () => other.closed !== undefined, { timeoutMs: 20_000 });
    assert.is(other.closed!.code, 1008);
    assert.is((await listCalls(t.db, t.tenantId)).length, callsBefore);
  });

  test('Telnyx: Ed25519-signed TeXML webhook, stream with the token in its URL, greeting heard, stop ends the call', async () => {
    const CALL_ID = 'v3:telnyx-call-control-id-1';
    const params = { CallSid: CALL_ID, From: '+14152100996', To: TELNYX_NUMBER, AccountSid: 'telnyx-account' };
    const other = generateKeyPairSync('ed25519');
    assert.is((await telnyxWebhook(params, other.privateKey)).status, 403);
    // The Twilio route does not take a Telnyx number.
    assert.is((await twilioWebhook({ ...params })).status, 403);
    const answer = await telnyxWebhook(params);
    assert.is(answer.status, 200);
    const xml = await answer.text();
    assert.match(xml, /bidirectionalMode="rtp"/);
    const { url } = readConnect(xml);
    const before = started.length;
    const client = await connect(url, 'telnyx', 'telnyx-stream-1');
    client.start(CALL_ID, {});
    const callStart = performance.now();
    const session = await waitForValue('the stream call', () => started[before], { timeoutMs: 20_000 });
    await client.silenceUntil(finishedTalking(client, callStart, 600), 45_000);
    assert.ok(client.voicedAfter(callStart) > 50, 'the greeting was heard');
    client.stop();
    assert.is(await session.untilClosed(), 'remote-bye');
    assert.is((await getCall(t.db, t.tenantId, session.callId))?.endReason, 'remote-bye');
    assert.is(t.server.calls.activeCalls(t.tenantId), 0);
  });
}

test.run();
