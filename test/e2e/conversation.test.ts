/**
 * The conversation end to end: the real server in-process with its providers
 * pointed at the local simulators (Deepgram live STT and Aura TTS on one base
 * URL, as tools/bench/in-process.ts does, and OpenAI chat), an agent in
 * 'conversation' mode, and the project's UAC as the caller. The UAC hears
 * the AI-disclosure greeting, says a fixture utterance in real time, hears
 * the spoken reply and hangs up. The call record holds the redacted
 * transcript (a card number only as [CARD]), the turn's latency trace and the
 * call's latency summary. A failing LLM ends in a spoken apology, a hang-up
 * and a call record naming the LLM. Offline (no provider keys): espeak-ng,
 * the scripted agent and pocketsphinx still answer.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { parseWav, pcm16Samples } from '../../media/audio/index.ts';
import { AI_DISCLOSURE } from '../../pipeline/conversation/index.ts';
import { startAllSimulators, type AllSimulatorOverrides, type AllSimulators } from '../../tools/simulators/index.ts';
import type { CallSession } from '../../src/calls/index.ts';
import { sql } from 'drizzle-orm';
import { getCall, listCallEvents, listTranscript, type CallRow, type Database } from '../../storage/index.ts';
import { rows } from '../../storage/migrate.ts';
import { contentText } from '../support/content-text.ts';
import { hasCommand, needExternal } from '../support/external.ts';
import { startTestServer, type TestServer } from './support/harness.ts';
import { waitFor, waitForValue } from '../support/poll.ts';
import { ownCall, type OwnCall } from './support/uac.ts';
import { receivedRms } from './support/energy.ts';

const API_KEY = 'e2e-simulator-key';
const CARD_DIGITS = '4111 1111 1111 1111';
const CALLER_SAYS = `my card number is ${CARD_DIGITS}`;
const AGENT_SAYS = `Thank you. I have noted the card ${CARD_DIGITS}. Is there anything else?`;
const TRACE_FIELDS = ['turn', 'endpointingMs', 'sttFinalMs', 'llmTtftMs', 'llmFirstSentenceMs', 'ttsTtfbMs', 'e2eMs', 'overheadMs', 'preparedMs', 'heldMs', 'vadMissed', 'playoutEstimated'];

function fixture(name: string): Int16Array {
  const wav = parseWav(readFileSync(new URL(`../../fixtures/audio/${name}`, import.meta.url)));
  assert.is(wav.sampleRate, 8000);
  return pcm16Samples(wav);
}

interface Rig { t: TestServer; sims?: AllSimulators; started: CallSession[]; close(): Promise<void> }

/** The server with its providers on the simulators (or offline, without `sims`). */
async function startRig(agent: { greeting: string; recordingEnabled?: boolean }, sims?: AllSimulatorOverrides | 'offline'): Promise<Rig> {
  let s: AllSimulators | undefined;
  let env: Record<string, string> = {};
  if (sims !== 'offline') {
    s = await startAllSimulators('instant', { apiKey: API_KEY, ...sims });
    env = { DEEPGRAM_BASE_URL: s.deepgram.url, DEEPGRAM_API_KEY: API_KEY, OPENAI_BASE_URL: s.openai.baseUrl, OPENAI_API_KEY: API_KEY };
  }
  try {
    const t = await startTestServer({ env, agent: { name: 'assistant', mode: 'conversation', prompt: 'Be brief.', recordingEnabled: false, ...agent } });
    const started: CallSession[] = [];
    t.server.calls.on('call-started', (x) => started.push(x));
    return {
      t, started, ...(s ? { sims: s } : {}),
      async close() { await t.close(); await s?.close(); },
    };
  } catch (error) {
    await s?.close();
    throw error;
  }
}

const VOICED = 300;
const voicedAfter = (call: OwnCall, at: number): number => receivedRms(call.received).filter((p) => p.at > at && p.rms > VOICED).length;
/** Arrival of the last voiced packet: the server's RTP never stops (silence frames between replies). */
const lastVoicedAt = (call: OwnCall): number => receivedRms(call.received).filter((p) => p.rms > VOICED).pop()?.at ?? 0;

/**
 * Silence in real time until `done()` (or the call ends, or `maxMs`), in 200 ms pieces so RTP keeps flowing.
 */
async function silenceUntil(call: OwnCall, done: () => boolean, maxMs: number): Promise<void> {
  const deadline = performance.now() + maxMs;
  const piece = new Int16Array(1600);
  while (!done() && call.dialog.state !== 'terminated' && performance.now() < deadline) await call.sendPcm(piece);
}

/** Heard something, then nothing for `quietMs`. */
const finishedTalking = (call: OwnCall, since: number, quietMs: number) => (): boolean =>
  voicedAfter(call, since) > 10 && performance.now() - lastVoicedAt(call) > quietMs;

interface Conversation { call: OwnCall; session: CallSession; greetingVoiced: number; utteranceEnd: number; replyVoiced: number }

/** Calls, waits out the greeting, says `utterance`, waits for the reply; the caller does not hang up. */
async function converse(rig: Rig, utterance: string, opts: { replyWithinMs?: number } = {}): Promise<Conversation> {
  const before = rig.started.length;
  const call = await ownCall(rig.t.server.sipPort);
  const callStart = performance.now();
  await silenceUntil(call, finishedTalking(call, callStart, 600), 30_000);
  const greetingVoiced = voicedAfter(call, callStart);
  const session = rig.started[before]!;
  const sent = await call.sendPcm(fixture(utterance), { stop: () => call.dialog.state === 'terminated' });
  const utteranceEnd = sent.startedAt + sent.frames * 20;
  await silenceUntil(call, finishedTalking(call, utteranceEnd, 800), opts.replyWithinMs ?? 30_000);
  return { call, session, greetingVoiced, utteranceEnd, replyVoiced: voicedAfter(call, utteranceEnd) };
}

async function endedCall(rig: Rig, callId: string, ready: (c: CallRow) => boolean = () => true): Promise<CallRow> {
  return waitForValue('the call to be ended', async () => {
    const c = await getCall(rig.t.db, rig.t.tenantId, callId);
    return c && c.state === 'ended' && ready(c) ? c : undefined;
  }, { timeoutMs: 15_000 });
}

test('a caller hears the disclosure, then the spoken reply; the call record holds the redacted transcript and latency', async () => {
  const rig = await startRig({ greeting: 'How can I help you today?' }, {
    deepgramLive: { transcripts: () => CALLER_SAYS },
    openai: { replies: [AGENT_SAYS] },
  });
  try {
    const c = await converse(rig, 'yes-please-8k.wav');
    assert.ok(c.greetingVoiced > 50, `the greeting was heard before the caller spoke (${c.greetingVoiced} voiced packets)`);
    assert.ok(c.replyVoiced > 20, `the agent's reply was heard after the utterance ended (${c.replyVoiced} voiced packets)`);
    assert.is(c.call.dialog.state, 'confirmed', 'the agent did not hang up');
    await c.call.close();

    const call = await endedCall(rig, c.session.callId, (x) => x.latency !== null);
    assert.is(call.endReason, 'remote-bye');
    assert.is(call.failure, null);

    const turns = await waitForValue('the transcript turns', async () => {
      const rows = await listTranscript(rig.t.db, rig.t.tenantId, c.session.callId);
      return rows.filter((r) => r.speaker === 'agent').length >= 2 ? rows : undefined;
    }, { timeoutMs: 10_000 });
    assert.is(turns[0]!.speaker, 'agent');
    assert.ok(turns[0]!.redactedText.startsWith(AI_DISCLOSURE), 'the greeting begins with the AI disclosure');
    const caller = turns.filter((r) => r.speaker === 'caller');
    const replies = turns.filter((r, i) => r.speaker === 'agent' && i > 0);
    assert.ok(caller.length >= 1, 'the caller turn is stored');
    for (const turn of caller) {
      assert.match(turn.redactedText, /^my card number is \[CARD\]/);
      assert.ok((turn.entities as Array<{ type: string }>).some((e) => e.type === 'CARD'));
    }
    assert.match(replies[0]!.redactedText, /I have noted the card \[CARD\]\./);
    const everything = JSON.stringify(turns);
    assert.not.ok(/4111|1111/.test(everything), 'the raw card digits appear nowhere in transcript_turns');

    const trace = replies[0]!.latency as Record<string, number>;
    assert.ok(trace, 'the reply carries its latency trace');
    assert.equal(Object.keys(trace).sort(), [...TRACE_FIELDS].sort());
    for (const field of TRACE_FIELDS) assert.type(trace[field], 'number', field);
    assert.is(trace.turn, 1);
    assert.ok(trace.e2eMs! > 0 && trace.e2eMs! < 10_000, `e2e ${trace.e2eMs}`);
    assert.ok(trace.endpointingMs! >= 0 && trace.ttsTtfbMs! >= 0 && trace.llmTtftMs! >= 0);

    const summary = call.latency as { turns: number; e2eMs: { p50: number; p95: number; max: number }; overheadMs: { p50: number; p95: number; max: number } };
    const traced = replies.filter((r) => r.latency !== null).map((r) => r.latency as Record<string, number>);
    assert.is(summary.turns, traced.length);
    assert.is(summary.e2eMs.max, Math.max(...traced.map((x) => x.e2eMs!)));
    assert.is(summary.overheadMs.max, Math.max(...traced.map((x) => x.overheadMs!)));
    assert.ok(summary.e2eMs.p50 <= summary.e2eMs.p95 && summary.e2eMs.p95 <= summary.e2eMs.max);
    assert.ok(rig.sims!.openai.stats.chatRequests >= 1);
  } finally {
    await rig.close();
  }
});

/** Tables (every base table in the schema, read as the owner) with a row whose text holds `needle`. */
/**
 * The tables whose rows hold `needle` in their content: every column, jsonb
 * nested, read as contentText does (the digits a timestamp, a UUID or a
 * Call-ID holds by chance are not a piece of a card).
 */
async function tablesHolding(db: Database, needle: string): Promise<string[]> {
  const tables = rows<{ name: string }>(await db.owner.execute(sql`select table_name as name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`));
  assert.ok(tables.length > 10, 'the schema was found');
  const holding: string[] = [];
  for (const { name } of tables) {
    const found = rows<{ row: unknown }>(await db.owner.execute(sql`select to_jsonb(t) as row from ${sql.identifier(name)} t`));
    const text = found.map(({ row }) => contentText(typeof row === 'string' ? JSON.parse(row) : row));
    if (text.some((t) => t.includes(needle))) holding.push(name);
  }
  return holding;
}

test('16 digits typed on the keypad reach the LLM as one caller turn; no table keeps them', async () => {
  const KEYS = '4111111111111111#';
  const rig = await startRig({ greeting: 'How can I help you today?' }, {
    deepgramLive: { transcripts: () => '' },
    openai: { replies: ['Thank you, I have your card.'] },
  });
  try {
    const before = rig.started.length;
    const call = await ownCall(rig.t.server.sipPort);
    const callStart = performance.now();
    await silenceUntil(call, finishedTalking(call, callStart, 600), 30_000);
    const session = rig.started[before]!;
    const openai = rig.sims!.openai.stats;
    await call.sendDigits(KEYS);
    await silenceUntil(call, () => openai.lastChatRequest !== null, 15_000);
    assert.is(openai.lastChatRequest?.messages.at(-1)?.content, `[keypad] ${KEYS}`, 'the LLM received the keys as a caller turn');
    await call.close();
    await endedCall(rig, session.callId);

    const turns = await waitForValue('the transcript turns', async () => {
      const r = await listTranscript(rig.t.db, rig.t.tenantId, session.callId);
      return r.some((x) => x.speaker === 'caller') ? r : undefined;
    }, { timeoutMs: 10_000 });
    assert.equal(turns.filter((x) => x.speaker === 'caller').map((x) => x.redactedText), ['[keypad] [CARD]#']);
    const keyEvents = (await listCallEvents(rig.t.db, rig.t.tenantId, session.callId)).filter((e) => e.type === 'dtmf');
    assert.equal(keyEvents.map((e) => e.data), [{ keys: '[CARD]#', count: 17, endedBy: 'terminator' }]);
    assert.equal(await tablesHolding(rig.t.db, '[CARD]#'), ['call_events', 'transcript_turns'], 'the scan reads the rows it looks for');
    assert.equal(await tablesHolding(rig.t.db, '4111111111111111'), [], 'no table holds the digit string');
    assert.equal(await tablesHolding(rig.t.db, '4111'), [], 'nor a piece of it');
  } finally {
    await rig.close();
  }
});

test('a failing LLM: the caller hears an apology, the agent hangs up, the call record says the LLM failed', async () => {
  const rig = await startRig({ greeting: 'How can I help you today?' }, {
    deepgramLive: { transcripts: () => 'what time do you open tomorrow' },
    openai: { fault: { type: 'status', status: 500 } },
  });
  try {
    const c = await converse(rig, 'what-time-open-8k.wav');
    assert.ok(c.greetingVoiced > 50, 'the greeting was heard');
    assert.ok(c.replyVoiced > 20, `an apology was heard after the utterance (${c.replyVoiced} voiced packets)`);
    await waitFor('the agent to hang up', () => c.call.dialog.state === 'terminated', { timeoutMs: 15_000 });
    await c.call.close();
    const call = await endedCall(rig, c.session.callId, (x) => x.latency !== null);
    assert.is(call.failure, 'llm:openai');
    assert.is(call.endReason, 'llm-failure');
    assert.is((call.latency as { turns: number }).turns, 0);
    assert.ok(rig.sims!.openai.stats.chatRequests >= 1);
    const turns = await listTranscript(rig.t.db, rig.t.tenantId, c.session.callId);
    assert.ok(turns.some((r) => r.speaker === 'agent' && /sorry/i.test(r.redactedText)), 'the apology is in the transcript');
  } finally {
    await rig.close();
  }
});

if (needExternal(hasCommand('espeak-ng'), 'espeak-ng', 'the offline conversation end-to-end test')) {
  test('offline (no provider keys): espeak-ng greets; with pocketsphinx the scripted agent answers aloud', async () => {
    const rig = await startRig({ greeting: 'How can I help you today?' }, 'offline');
    try {
      const hears = needExternal(hasCommand('pocketsphinx_continuous'), 'pocketsphinx', 'the offline spoken-reply check');
      const c = await converse(rig, 'hello-book-table-8k.wav', { replyWithinMs: hears ? 30_000 : 3_000 });
      assert.ok(c.greetingVoiced > 50, 'the espeak-ng greeting was heard');
      if (hears) {
        assert.ok(c.replyVoiced > 20, `the scripted agent's reply was heard (${c.replyVoiced} voiced packets)`);
      }
      await c.call.close();
      await endedCall(rig, c.session.callId);
      const turns = await listTranscript(rig.t.db, rig.t.tenantId, c.session.callId);
      assert.ok(turns[0]!.redactedText.startsWith(AI_DISCLOSURE));
      if (hears) assert.ok(turns.some((r) => r.speaker === 'caller'), 'pocketsphinx heard the caller');
    } finally {
      await rig.close();
    }
  });
}

test.run();
