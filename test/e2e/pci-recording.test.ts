/**
 * PCI-safe recordings through the real server: the project's UAC calls a
 * recorded conversation agent (providers on the simulators) and says, in
 * real time, "my card number is 4111 1111 1111 1111 thank you" as one tone
 * burst per word (speech-pattern.ts, so every word's time is known); the
 * Deepgram simulator times its words to those bursts. The decrypted
 * recording is silent (both legs) over the card number and keeps the words
 * before and after it (energy per 20 ms); the recording's muted spans (a
 * `recording_redactions` call event) agree with the stored transcript; the
 * agent's reply repeating the number is silenced on the agent leg. A final
 * that arrives after its audio was sealed re-seals the chunk (a seal
 * generation above 0 in the file). With `pii_audio_redaction: false` the
 * audio is kept. A caller who hangs up inside the hangover, right after the
 * number, still has the turn stored with the call and the number silenced.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startAllSimulators, speechPatternWords, synthesizeSpeechPattern, type AllSimulatorOverrides, type AllSimulators } from '../../tools/simulators/index.ts';
import type { CallSession } from '../../src/calls/index.ts';
import { addNumber, createAgent, getCall, listCallEvents, listRecordings, listTranscript, type RecordingRow } from '../../storage/index.ts';
import { HEADER_LENGTH } from '../../storage/vault/index.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { contentText } from '../support/content-text.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { ownCall, type OwnCall } from './support/uac.ts';
import { frameRms, receivedRms, splitStereo } from './support/energy.ts';

const API_KEY = 'e2e-simulator-key';
const SENTENCE = 'my card number is 4111 1111 1111 1111 thank you';
const WORDS = speechPatternWords(SENTENCE);
const CARD = { startMs: WORDS[4]!.startMs, endMs: WORDS[7]!.endMs };
const REPLY = 'I have noted the card 4111 1111 1111 1111.';
const PAD_MS = 120; // DEFAULT_AUDIO_REDACTION.padMs
const LOUD = 1000;
/**
 * The STT must not be finalized inside the sentence: Silero scores some of the tone bursts low, and a
 * Finalize makes the simulator finalize its scripted words with the partial audio's timings. A low
 * threshold and a long hangover keep the tones one stretch of speech, and finalize waits as long.
 */
const STEADY_TURNS = { vad: { threshold: 0.02 }, turn: { hangoverMs: 1500, finalizeAfterMs: 1500 } };

interface Rig { t: TestServer; sims: AllSimulators; started: CallSession[]; close(): Promise<void> }

async function startRig(providerSettings: Record<string, unknown>, sims: AllSimulatorOverrides): Promise<Rig> {
  // The reply starts a second after the turn, so its silenced sentence stays clear of the caller's last words.
  const s = await startAllSimulators('instant', { apiKey: API_KEY, llmTtftMs: 1000, deepgramLive: { transcripts: () => SENTENCE }, openai: { replies: [REPLY] }, ...sims });
  const env = { DEEPGRAM_BASE_URL: s.deepgram.url, DEEPGRAM_API_KEY: API_KEY, OPENAI_BASE_URL: s.openai.baseUrl, OPENAI_API_KEY: API_KEY };
  try {
    const t = await startTestServer({
      env, agent: { name: 'pci', mode: 'conversation', prompt: 'Be brief.', greeting: 'How can I help?', recordingEnabled: true, providerSettings: { ...STEADY_TURNS, ...providerSettings } },
    });
    const started: CallSession[] = [];
    t.server.calls.on('call-started', (x) => started.push(x));
    return { t, sims: s, started, async close() { await t.close(); await s.close(); } };
  } catch (error) {
    await s.close();
    throw error;
  }
}

const voicedAfter = (call: OwnCall, at: number): number => receivedRms(call.received).filter((p) => p.at > at && p.rms > 300).length;
/** Arrival of the last voiced packet: the server's RTP never stops (silence frames between replies). */
const lastVoicedAt = (call: OwnCall): number => receivedRms(call.received).filter((p) => p.rms > 300).pop()?.at ?? 0;
const finishedTalking = (call: OwnCall, since: number, quietMs: number) => (): boolean =>
  voicedAfter(call, since) > 10 && performance.now() - lastVoicedAt(call) > quietMs;

async function silenceUntil(call: OwnCall, done: () => boolean, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  const piece = new Int16Array(1600);
  while (!done() && call.dialog.state !== 'terminated' && performance.now() < deadline) await call.sendPcm(piece);
}

/** Calls `number`, waits out the greeting, says the sentence, waits for the reply, hangs up; the finished recording row. */
async function sayCardAndHangUp(rig: Rig, number = rig.t.number): Promise<{ callId: string; row: RecordingRow }> {
  const before = rig.started.length;
  const call = await ownCall(rig.t.server.sipPort, { number });
  const callStart = performance.now();
  await silenceUntil(call, finishedTalking(call, callStart, 600), 30_000);
  const sent = await call.sendPcm(synthesizeSpeechPattern(SENTENCE, 8000), { stop: () => call.dialog.state === 'terminated' });
  const saidAt = sent.startedAt + sent.frames * 20;
  await silenceUntil(call, finishedTalking(call, saidAt, 800), 30_000);
  await call.close();
  const callId = rig.started[before]!.callId;
  const row = await waitForValue('the completed recording row', async () => {
    const [r] = await listRecordings(rig.t.db, rig.t.tenantId, { callId });
    return r?.completedAt ? r : undefined;
  }, { timeoutMs: 15_000 });
  await waitFor('the call record to end', async () => (await getCall(rig.t.db, rig.t.tenantId, callId))?.state === 'ended', { timeoutMs: 15_000 });
  return { callId, row };
}

interface Heard { left: number[]; right: number[]; sentenceFrame: number }

/** Per-20 ms RMS of both legs, and the frame where the sentence starts (the first loud caller frame). */
async function decrypted(rig: Rig, row: RecordingRow): Promise<Heard> {
  const read = await rig.t.server.recordings.vault.read({ tenantId: rig.t.tenantId, recordingId: row.id });
  assert.is(read.cutShort, false);
  const { left, right } = splitStereo(read.pcm);
  const l = frameRms(left);
  const sentenceFrame = l.findIndex((r) => r > LOUD);
  assert.ok(sentenceFrame > 0, 'the caller leg holds the sentence');
  return { left: l, right: frameRms(right), sentenceFrame };
}

/**
 * The silenced stretch: the longest run of frames silent in both legs inside the sentence. Measured on the
 * recording itself, so a lost packet (a zero frame) or a jitter-buffer gap elsewhere does not move it.
 */
function silencedRun(h: Heard): { from: number; to: number } {
  const lastLoud = h.left.reduce((last, r, i) => (i < h.sentenceFrame + 180 && r > LOUD ? i : last), h.sentenceFrame);
  let best = { from: 0, to: 0 };
  for (let f = h.sentenceFrame; f <= lastLoud; f++) {
    let g = f;
    while (g <= lastLoud && h.left[g]! < 1 && h.right[g]! < 1) g++;
    if (g - f > best.to - best.from) best = { from: f, to: g };
    f = g;
  }
  return best;
}

/**
 * The card number is silent in the recording: one silent stretch inside the sentence about as long as the
 * padded number, and the number's loud frames gone from the sentence. Counted rather than placed: on a
 * loaded machine the caller leg's frames move to later slots (jitter) or are dropped late, so the sentence
 * in the recording is not the pattern's timeline frame for frame; the silence moves with its words.
 */
function assertCardSilenced(h: Heard, run: { from: number; to: number }): void {
  const padded = CARD.endMs - CARD.startMs + 2 * PAD_MS;
  const silentMs = (run.to - run.from) * 20;
  assert.ok(silentMs >= CARD.endMs - CARD.startMs && silentMs <= padded + 300, `silent for ${silentMs} ms, the padded card number lasts ${padded}`);
  const sentenceLoud = loudIn(h, h.sentenceFrame, h.sentenceFrame + Math.ceil(WORDS[9]!.endMs / 20) + 25);
  const cardLoud = patternLoud(CARD.startMs, CARD.endMs);
  assert.ok(sentenceLoud <= patternLoud(0, WORDS[9]!.endMs) - cardLoud * 0.9, `${sentenceLoud} loud frames in the sentence of ${patternLoud(0, WORDS[9]!.endMs)}; the card number alone has ${cardLoud}`);
}

/** Loud caller frames in [from, to). */
const loudIn = (h: Heard, from: number, to: number): number => h.left.slice(from, to).filter((r) => r > LOUD).length;

/** Loud frames the pattern has in [fromMs, toMs) of the sentence (word bursts, whole frames). */
function patternLoud(fromMs: number, toMs: number): number {
  return WORDS.reduce((n, w) => n + Math.max(0, Math.floor((Math.min(w.endMs, toMs) - Math.max(w.startMs, fromMs)) / 20)), 0);
}

async function mutedSpans(rig: Rig, callId: string): Promise<Array<{ type: string; source: string; startMs: number; endMs: number }>> {
  const events = (await listCallEvents(rig.t.db, rig.t.tenantId, callId)).filter((e) => e.type === 'recording_redactions');
  return events.flatMap((e) => (e.data as { spans: Array<{ type: string; source: string; startMs: number; endMs: number }> }).spans);
}

/** Seal generation of every chunk in the stored file (the top byte of each chunk's length field). */
function sealGenerations(bytes: Buffer, chunkSize: number): number[] {
  const out: number[] = [];
  for (let at = HEADER_LENGTH; at + 4 <= bytes.length;) {
    const field = bytes.readUInt32BE(at);
    out.push(field >>> 24);
    at += 4 + (field & 0xffffff) + 16;
    if ((field & 0xffffff) < chunkSize) break;
  }
  return out;
}

test('the card number is silent in the recording, the words around it are not; muted spans agree with the transcript; off keeps the audio', async () => {
  const rig = await startRig({}, {});
  try {
    const { callId, row } = await sayCardAndHangUp(rig);
    const h = await decrypted(rig, row);
    // Silent in both legs over the card number (padded), with the words before and after it kept.
    const run = silencedRun(h);
    const mutedFrom = CARD.startMs - PAD_MS;
    const mutedTo = CARD.endMs + PAD_MS;
    assertCardSilenced(h, run);
    const before = patternLoud(0, mutedFrom);
    const after = patternLoud(mutedTo, WORDS[9]!.endMs);
    const heardBefore = loudIn(h, h.sentenceFrame, run.from);
    const heardAfter = loudIn(h, run.to, run.to + Math.ceil((WORDS[9]!.endMs - mutedTo) / 20) + 10);
    assert.ok(heardBefore >= before * 0.7, `speech before: ${heardBefore} loud frames of ${before}`);
    assert.ok(heardAfter >= after * 0.7, `speech after: ${heardAfter} loud frames of ${after}`);

    const turns = await waitForValue('the transcript turns', async () => {
      const r = await listTranscript(rig.t.db, rig.t.tenantId, callId);
      return r.some((x) => x.speaker === 'caller') && r.filter((x) => x.speaker === 'agent').length >= 2 ? r : undefined;
    }, { timeoutMs: 10_000 });
    const caller = turns.filter((x) => x.speaker === 'caller');
    assert.equal(caller.map((x) => x.redactedText), ['my card number is [CARD] thank you']);
    const spans = await mutedSpans(rig, callId);
    const callerSpans = spans.filter((s) => s.source === 'caller');
    assert.equal(callerSpans.map((s) => s.type), caller.flatMap((x) => (x.entities as Array<{ type: string }>).map((e) => e.type)), 'one muted span per redacted entity, same type');
    // The listed span is where the recording is silent.
    const [span] = callerSpans;
    assert.ok(Math.abs(span!.startMs - run.from * 20) <= 60 && Math.abs(span!.endMs - run.to * 20) <= 60, `listed ${span!.startMs}-${span!.endMs} ms, silent ${run.from * 20}-${run.to * 20} ms`);
    assert.not.ok(/4111|1111/.test(contentText(spans)), `the metadata holds no content: ${contentText(spans)}`);

    // The agent repeating the number: its sentence is silenced on the agent leg.
    const agentSpans = spans.filter((s) => s.source === 'agent');
    assert.equal(agentSpans.map((s) => s.type), ['CARD'], 'the reply repeating the card number was silenced (one span for its sentence)');
    assert.equal(turns.filter((x) => x.speaker === 'agent').map((x) => x.redactedText)[1], 'I have noted the card [CARD].');
    const greetingVoiced = h.right.slice(0, h.sentenceFrame).filter((r) => r > 300).length;
    assert.ok(greetingVoiced > 20, `the greeting is kept on the agent leg (${greetingVoiced} voiced frames)`);
    for (const s of agentSpans) {
      for (let f = Math.ceil(s.startMs / 20); (f + 1) * 20 <= s.endMs; f++) assert.ok((h.right[f] ?? 0) < 1, `agent frame ${f} inside a muted span is silent`);
    }

    // The same call to an agent with pii_audio_redaction off: the card number stays in the audio.
    const keep = await createAgent(rig.t.db, rig.t.tenantId, {
      name: 'pci-off', mode: 'conversation', prompt: 'Be brief.', greeting: 'How can I help?', recordingEnabled: true, providerSettings: { ...STEADY_TURNS, pii_audio_redaction: false },
    });
    await addNumber(rig.t.db, rig.t.tenantId, { number: '2002', agentId: keep.id, allowedCidrs: ['127.0.0.1/32'] });
    const off = await sayCardAndHangUp(rig, '2002');
    const kept = await decrypted(rig, off.row);
    const keptRun = silencedRun(kept);
    assert.ok((keptRun.to - keptRun.from) * 20 <= 200, `with redaction off nothing is silenced (longest silent stretch ${(keptRun.to - keptRun.from) * 20} ms)`);
    const cardLoud = patternLoud(CARD.startMs, CARD.endMs);
    assert.ok(loudIn(kept, kept.sentenceFrame, kept.sentenceFrame + 160) >= patternLoud(0, 3100) * 0.7, 'the whole sentence is in the recording');
    const cardFrom = kept.sentenceFrame + Math.floor(CARD.startMs / 20);
    assert.ok(loudIn(kept, cardFrom, cardFrom + Math.ceil((CARD.endMs - CARD.startMs) / 20)) >= cardLoud * 0.7, 'the card number is in the recording');
    assert.equal(await mutedSpans(rig, off.callId), []);
  } finally {
    await rig.close();
  }
});

test('a final that comes after its audio was sealed re-seals the chunk: the card number is still silent', async () => {
  // Nothing held in memory, the STT's final 1.5 s late (under the adapter's 2 s watchdog): the card number
  // started about 3.7 s before the final arrives, so its start is in a sealed 2 s chunk by then.
  const rig = await startRig({ pii_audio_redaction: { holdMs: 0 }, turn: { hangoverMs: 1500, sttFinalTimeoutMs: 20_000, finalizeAfterMs: 1500 } }, { deepgramLive: { transcripts: () => SENTENCE, sttFinalDelayMs: 1500 } });
  try {
    const { callId, row } = await sayCardAndHangUp(rig);
    const parts: Buffer[] = [];
    for await (const part of await rig.t.server.recordings.vault.store.openRead({ tenantId: rig.t.tenantId, recordingId: row.id })) parts.push(Buffer.from(part));
    const file = Buffer.concat(parts);
    const header = await rig.t.server.recordings.vault.readHeader({ tenantId: rig.t.tenantId, recordingId: row.id });
    const generations = sealGenerations(file, header.chunkSize);
    assert.ok(generations.some((g) => g > 0), `a sealed chunk was re-sealed (generations ${generations.join(',')})`);
    const h = await decrypted(rig, row);
    const run = silencedRun(h);
    assertCardSilenced(h, run);
    assert.ok(loudIn(h, h.sentenceFrame, run.from) >= patternLoud(0, CARD.startMs - PAD_MS) * 0.7, 'speech before the card number is kept');
    assert.ok((await mutedSpans(rig, callId)).some((s) => s.source === 'caller' && s.type === 'CARD'));
  } finally {
    await rig.close();
  }
});

test('a caller who hangs up right after the card number, inside the hangover: the turn is stored with the call, the number silent', async () => {
  const rig = await startRig({}, {});
  try {
    const before = rig.started.length;
    const call = await ownCall(rig.t.server.sipPort, { number: rig.t.number });
    await silenceUntil(call, finishedTalking(call, performance.now(), 600), 30_000);
    await call.sendPcm(synthesizeSpeechPattern(SENTENCE, 8000), { stop: () => call.dialog.state === 'terminated' });
    await call.close(); // the 1.5 s hangover has not run out: the caller's turn is still open
    const callId = rig.started[before]!.callId;
    await waitFor('the call record to end', async () => (await getCall(rig.t.db, rig.t.tenantId, callId))?.state === 'ended', { timeoutMs: 15_000 });
    // Written with the call's end (not by the transcript queue's later flush).
    const caller = (await listTranscript(rig.t.db, rig.t.tenantId, callId)).filter((x) => x.speaker === 'caller');
    assert.equal(caller.map((x) => x.redactedText), ['my card number is [CARD] thank you']);
    const row = await waitForValue('the completed recording row', async () => {
      const [r] = await listRecordings(rig.t.db, rig.t.tenantId, { callId });
      return r?.completedAt ? r : undefined;
    }, { timeoutMs: 15_000 });
    const h = await decrypted(rig, row);
    assertCardSilenced(h, silencedRun(h));
    assert.ok((await mutedSpans(rig, callId)).some((s) => s.source === 'caller' && s.type === 'CARD'), 'the span is listed');
  } finally {
    await rig.close();
  }
});

test.run();
