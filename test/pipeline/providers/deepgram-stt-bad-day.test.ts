/**
 * The Deepgram adapter against the simulator's bad-day behaviours, through
 * the SDK: an empty speech_final and an unanswered Finalize still close the
 * utterance, a socket that goes silent is replaced and its audio replayed,
 * close codes are classified (1008 is not replayed; the reconnect budget is
 * not reset by messages), 429 at the upgrade is retried, and the credential
 * goes in the scheme the real service expects.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeepgramStt } from '../../../pipeline/providers/deepgram-stt.ts';
import { ProviderError, type SttEvent } from '../../../pipeline/providers/types.ts';
import { startDeepgramLiveSimulator } from '../../../tools/simulators/deepgram-live.ts';
import { burstsAndSilence, collectUntil, frames20ms, sleep } from './helpers.ts';
import { waitFor } from '../../support/poll.ts';

const RATE = 16000;
const KEY = 'dg-test-secret-key-0123456789';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzaW0ifQ.c2lnbmF0dXJl';

/** Pushes audio at about real time (the watchdog and the simulator's endpointing both run on it). */
async function pushRealtime(stream: { push(p: Int16Array): void }, pcm: Int16Array): Promise<void> {
  let n = 0;
  const t0 = performance.now();
  for (const f of frames20ms(pcm, RATE)) {
    stream.push(f);
    n += 1;
    const ahead = t0 + n * 20 - performance.now();
    if (ahead > 0) await sleep(ahead);
  }
}

const finals = (events: SttEvent[]): string[] => events.flatMap((e) => (e.type === 'final' && e.text ? [e.text] : []));

test('an empty speech_final after the words\' final is passed on as the closing final', async () => {
  const sim = await startDeepgramLiveSimulator({ apiKey: KEY, transcripts: ['hello there'], splitSpeechFinal: true });
  const stream = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 100, utteranceEndMs: 0 }).stream({ sampleRate: RATE });
  try {
    await pushRealtime(stream, burstsAndSilence(RATE, [['tone', 400], ['silence', 300]]));
    const events = await collectUntil(stream.events(), (ev) => ev.some((e) => e.type === 'final' && e.speechFinal));
    const fin = events.filter((e): e is Extract<SttEvent, { type: 'final' }> => e.type === 'final');
    assert.equal(fin.map((e) => [e.text, e.speechFinal]), [['hello there', false], ['', true]]);
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('a Finalize the server does not answer (nothing buffered) is answered here with an empty fromFinalize final', async () => {
  const sim = await startDeepgramLiveSimulator({ apiKey: KEY, transcripts: ['hello there'], finalizeWhenIdle: 'silent' });
  // Endpointing finalizes the words first; the Finalize after it finds nothing buffered.
  const stream = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 100, utteranceEndMs: 0, finalizeTimeoutMs: 200 }).stream({ sampleRate: RATE });
  try {
    await pushRealtime(stream, burstsAndSilence(RATE, [['tone', 400], ['silence', 300]]));
    let finalized = false;
    const events = await collectUntil(stream.events(), (ev) => {
      if (!finalized && finals(ev).length > 0) {
        finalized = true;
        stream.finalize();
      }
      return ev.some((e) => e.type === 'final' && e.fromFinalize === true);
    });
    assert.equal(finals(events), ['hello there']);
    const f = events.find((e) => e.type === 'final' && e.fromFinalize === true);
    assert.ok(f && f.type === 'final' && f.text === '', JSON.stringify(events));
    assert.is(sim.stats.finalizes, 1);
    assert.is(sim.stats.connections, 1, 'an unanswered Finalize with nothing pending is not a dead socket');
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('a socket that stops answering without closing is replaced; the utterance is replayed and finalized', async () => {
  // Connection 1 sends SpeechStarted and one interim, then nothing, and never closes.
  const sim = await startDeepgramLiveSimulator({
    apiKey: KEY, transcripts: ['what time do you open'], interimIntervalMs: 200, socketFault: { kind: 'stall', afterMessages: 2 },
  });
  const stream = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 200, utteranceEndMs: 0, watchdogMs: 600 }).stream({ sampleRate: RATE });
  try {
    const pushing = pushRealtime(stream, burstsAndSilence(RATE, [['tone', 900], ['silence', 1500]]));
    const events = await collectUntil(stream.events(), (ev) => finals(ev).length >= 1, 10_000);
    await pushing;
    assert.equal(finals(events), ['what time do you open']);
    const kinds = events.map((e) => e.type);
    assert.ok(kinds.indexOf('reconnected') >= 0 && kinds.indexOf('reconnected') < kinds.indexOf('final'), kinds.join(','));
    assert.is(sim.stats.stalls, 1);
    assert.is(sim.stats.connections, 2);
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('1008 (bad data) is not replayed; 1011 NET-0000 is', async () => {
  const audio = burstsAndSilence(RATE, [['tone', 400], ['silence', 400]]);
  const sentBytes = audio.length * 2;
  for (const [code, reason] of [[1008, 'DATA-0000'], [1011, 'NET-0000']] as const) {
    const sim = await startDeepgramLiveSimulator({ apiKey: KEY, transcripts: ['hello there'], socketFault: { kind: 'close', code, reason, afterMessages: 1 } });
    const stream = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 100, utteranceEndMs: 0 }).stream({ sampleRate: RATE });
    try {
      await pushRealtime(stream, audio);
      await waitFor(`${code}: reconnected`, () => sim.stats.connections === 2 && sim.stats.openConnections === 1);
      await sleep(0);
      if (code === 1008) {
        assert.ok(sim.stats.audioBytes <= sentBytes, `1008: nothing sent twice (${sim.stats.audioBytes} of ${sentBytes})`);
      } else {
        const events = await collectUntil(stream.events(), (ev) => finals(ev).length >= 1);
        assert.equal(finals(events), ['hello there'], '1011: the replayed audio is transcribed');
        assert.ok(sim.stats.audioBytes > sentBytes, '1011: the uncovered audio was replayed');
      }
    } finally {
      await stream.close();
      await sim.close();
    }
  }
});

test('a connection closed after every result does not loop: the budget is not reset by messages', async () => {
  const sim = await startDeepgramLiveSimulator({
    apiKey: KEY, transcripts: ['hello there'], socketFault: { kind: 'close', code: 1011, reason: 'NET-0000', afterMessages: 1, connections: 1000 },
  });
  const stream = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 100, utteranceEndMs: 0, maxReconnectAttempts: 3, reconnectBackoffMs: 10 }).stream({ sampleRate: RATE });
  try {
    const pushing = pushRealtime(stream, burstsAndSilence(RATE, [['tone', 400], ['silence', 1600]]));
    const events = await collectUntil(stream.events(), (ev) => ev.some((e) => e.type === 'error'), 10_000);
    await pushing;
    const err = events.find((e) => e.type === 'error');
    assert.ok(err && err.type === 'error', 'the stream gives up with an error');
    assert.instance(err.error, ProviderError);
    assert.match(err.error.message, /3 reconnect attempts failed/);
    assert.is(sim.stats.connections, 4, 'the first connection and 3 reconnects, no more');
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('429 and 503 at the upgrade are retried with back-off; the stream then works', async () => {
  const sim = await startDeepgramLiveSimulator({ apiKey: KEY, transcripts: ['hello there'], connectFault: { status: 429, count: 1 } });
  const sim2 = await startDeepgramLiveSimulator({ apiKey: KEY, transcripts: ['hello there'], connectFault: { status: 503, count: 2 } });
  try {
    for (const s of [sim, sim2]) {
      const stream = new DeepgramStt({ apiKey: KEY, baseUrl: s.url, endpointingMs: 100, utteranceEndMs: 0, reconnectBackoffMs: 10 }).stream({ sampleRate: RATE });
      await waitFor('connected after the refusals', () => s.stats.openConnections === 1, { timeoutMs: 5000 });
      await pushRealtime(stream, burstsAndSilence(RATE, [['tone', 400], ['silence', 300]]));
      const events = await collectUntil(stream.events(), (ev) => finals(ev).length >= 1);
      assert.equal(finals(events), ['hello there']);
      await stream.close();
    }
  } finally {
    await sim.close();
    await sim2.close();
  }
});

test('an access token goes as Bearer and an API key as Token, each accepted by the real scheme', async () => {
  const sim = await startDeepgramLiveSimulator({ apiKey: KEY, accessToken: JWT });
  try {
    const viaToken = new DeepgramStt({ apiKey: 'not-used', accessToken: JWT, baseUrl: sim.url }).stream({ sampleRate: RATE });
    await waitFor('access token accepted', () => sim.stats.openConnections === 1);
    await viaToken.close();
    const viaKey = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url }).stream({ sampleRate: RATE });
    await waitFor('API key accepted', () => sim.stats.connections === 2);
    await viaKey.close();
    assert.is(sim.stats.authFailures, 0);
  } finally {
    await sim.close();
  }
});

test.run();
