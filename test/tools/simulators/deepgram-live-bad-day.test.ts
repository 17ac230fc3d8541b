/**
 * The Deepgram live simulator's realistic behaviours, each selectable, on the
 * wire: credentials checked per scheme, SpeechStarted on channel [0, 1], an
 * empty speech_final after the words' final, Finalize unanswered when nothing
 * is buffered, words only in interims, close-code / stall / connect faults.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { startDeepgramLiveSimulator } from '../../../tools/simulators/deepgram-live.ts';
import { pcm16LeBytes } from '../../../tools/simulators/speech-pattern.ts';
import { burstsAndSilence } from '../../pipeline/providers/helpers.ts';
import { waitFor } from '../../support/poll.ts';

const RATE = 16000;
const QUERY = 'encoding=linear16&sample_rate=16000&interim_results=true&endpointing=100&vad_events=true';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzaW0ifQ.c2lnbmF0dXJl';
type Msg = Record<string, unknown> & { type: string; transcript?: string };

interface Conn { ws: WebSocket; msgs: Msg[]; closed: Promise<{ code: number; reason: string }>; status: Promise<number> }

function connect(url: string, headers: Record<string, string> = { Authorization: 'Token k-123456' }, protocols?: string[]): Conn {
  const ws = new WebSocket(`${url}/v1/listen?${QUERY}`, protocols, { headers });
  const msgs: Msg[] = [];
  ws.on('message', (d) => {
    const m = JSON.parse(String(d)) as Msg & { channel?: { alternatives?: Array<{ transcript: string }> } };
    msgs.push({ ...m, ...(m.type === 'Results' ? { transcript: m.channel?.alternatives?.[0]?.transcript ?? '' } : {}) });
  });
  ws.on('error', () => undefined);
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  const status = new Promise<number>((resolve) => {
    ws.once('open', () => resolve(101));
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
  });
  return { ws, msgs, closed, status };
}

function send(ws: WebSocket, steps: Array<['tone' | 'silence', number]>): void {
  const audio = pcm16LeBytes(burstsAndSilence(RATE, steps));
  for (let i = 0; i < audio.length; i += 640) ws.send(audio.subarray(i, i + 640));
}

const results = (msgs: Msg[]): Msg[] => msgs.filter((m) => m.type === 'Results');

test('auth as the real service: Token for API keys, Bearer for access tokens (JWT), nothing crossed', async () => {
  const sim = await startDeepgramLiveSimulator();
  try {
    const cases: Array<[Record<string, string>, string[] | undefined, number]> = [
      [{ Authorization: 'Token k-123456' }, undefined, 101],
      [{ Authorization: `Bearer ${JWT}` }, undefined, 101],
      [{ Authorization: 'Bearer k-123456' }, undefined, 401],
      [{ Authorization: `Token ${JWT}` }, undefined, 401],
      [{ Authorization: 'Basic k-123456' }, undefined, 401],
      [{}, ['token', 'k-123456'], 101],
      [{}, ['bearer', JWT], 101],
      [{}, ['bearer', 'k-123456'], 401],
    ];
    for (const [headers, protocols, expected] of cases) {
      const c = connect(sim.wsUrl, headers, protocols);
      assert.is(await c.status, expected, JSON.stringify({ headers: Object.keys(headers), protocols: protocols?.[0] }));
      c.ws.close();
    }
    assert.is(sim.stats.authFailures, 4);
  } finally {
    await sim.close();
  }
});

test('splitSpeechFinal: the words come as is_final, then an empty speech_final; SpeechStarted is on channel [0, 1]', async () => {
  const sim = await startDeepgramLiveSimulator({ transcripts: ['hello there'], splitSpeechFinal: true });
  const c = connect(sim.wsUrl);
  try {
    assert.is(await c.status, 101);
    send(c.ws, [['tone', 500], ['silence', 300]]);
    await waitFor('a speech_final', () => results(c.msgs).some((m) => m.speech_final === true));
    const finals = results(c.msgs).filter((m) => m.is_final === true);
    assert.equal(finals.map((m) => [m.transcript, m.speech_final]), [['hello there', false], ['', true]]);
    assert.equal(c.msgs.find((m) => m.type === 'SpeechStarted')?.channel, [0, 1]);
  } finally {
    c.ws.close();
    await sim.close();
  }
});

test('finalizeWhenIdle: silent gives a Finalize with nothing buffered no reply; empty answers it', async () => {
  for (const mode of ['silent', 'empty'] as const) {
    const sim = await startDeepgramLiveSimulator({ transcripts: ['hello there'], finalizeWhenIdle: mode });
    const c = connect(sim.wsUrl);
    try {
      assert.is(await c.status, 101);
      send(c.ws, [['tone', 400], ['silence', 300]]);
      await waitFor('a speech_final', () => results(c.msgs).some((m) => m.speech_final === true));
      c.ws.send(JSON.stringify({ type: 'Finalize' }));
      c.ws.send(JSON.stringify({ type: 'CloseStream' }));
      await waitFor('Metadata after CloseStream', () => c.msgs.some((m) => m.type === 'Metadata'));
      const fromFinalize = results(c.msgs).filter((m) => m.from_finalize === true);
      assert.is(fromFinalize.length, mode === 'silent' ? 0 : 1, mode);
    } finally {
      c.ws.close();
      await sim.close();
    }
  }
});

test('interimOnlySegments: the word shows in an interim, the final is empty', async () => {
  const sim = await startDeepgramLiveSimulator({ transcripts: ['yes'], interimIntervalMs: 100, interimOnlySegments: () => true });
  const c = connect(sim.wsUrl);
  try {
    assert.is(await c.status, 101);
    send(c.ws, [['tone', 300], ['silence', 300]]);
    await waitFor('a speech_final', () => results(c.msgs).some((m) => m.speech_final === true));
    assert.ok(results(c.msgs).some((m) => m.is_final === false && m.transcript === 'yes'), 'yes in an interim');
    assert.equal(results(c.msgs).filter((m) => m.is_final === true).map((m) => m.transcript), ['']);
  } finally {
    c.ws.close();
    await sim.close();
  }
});

test('socketFault: close with 1008 DATA-0000 after N messages; stall sends nothing more and closes nothing', async () => {
  const closing = await startDeepgramLiveSimulator({ socketFault: { kind: 'close', code: 1008, reason: 'DATA-0000', afterMessages: 1 } });
  const c1 = connect(closing.wsUrl);
  assert.is(await c1.status, 101);
  send(c1.ws, [['tone', 400], ['silence', 300]]);
  const closed = await c1.closed;
  assert.equal(closed, { code: 1008, reason: 'DATA-0000' });
  assert.is(c1.msgs.length, 1);
  assert.is(closing.stats.faultCloses, 1);
  await closing.close();

  const stalling = await startDeepgramLiveSimulator({ socketFault: { kind: 'stall', afterMessages: 1 }, idleTimeoutMs: 200 });
  const c2 = connect(stalling.wsUrl);
  try {
    assert.is(await c2.status, 101);
    send(c2.ws, [['tone', 400], ['silence', 300]]);
    await waitFor('the stall', () => stalling.stats.stalls === 1);
    send(c2.ws, [['tone', 400], ['silence', 300]]);
    await waitFor('audio is still read', () => stalling.stats.audioBytes >= 2 * 0.7 * RATE * 2);
    // Past the idle timeout too: a dead path closes nothing.
    // An absence, so a fixed window: the socket must still be open once it has passed.
    await new Promise((r) => setTimeout(r, 400));
    assert.is(c2.ws.readyState, WebSocket.OPEN, 'the stalled socket stays open');
    assert.is(c2.msgs.length, 1);
  } finally {
    c2.ws.close();
    await stalling.close();
  }
});

test('connectFault: the first upgrades get 429 or 503 with a Deepgram body, then connections are accepted', async () => {
  for (const status of [429, 503]) {
    const sim = await startDeepgramLiveSimulator({ connectFault: { status, count: 2 } });
    try {
      const got: number[] = [];
      for (let i = 0; i < 3; i++) {
        const c = connect(sim.wsUrl);
        got.push(await c.status);
        c.ws.close();
      }
      assert.equal(got, [status, status, 101]);
      assert.is(sim.stats.connectRejects, 2);
    } finally {
      await sim.close();
    }
  }
});

test.run();
