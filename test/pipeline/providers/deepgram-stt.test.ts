import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { DeepgramStt } from '../../../pipeline/providers/deepgram-stt.ts';
import { ProviderError, type SttEvent } from '../../../pipeline/providers/types.ts';
import { startDeepgramLiveSimulator } from '../../../tools/simulators/deepgram-live.ts';
import { burstsAndSilence, collectUntil, frames20ms, sleep } from './helpers.ts';
import { waitFor } from '../../support/poll.ts';

const RATE = 16000;
const KEY = 'dg-test-secret-key-0123456789';

async function pushPaced(stream: { push(p: Int16Array): void }, pcm: Int16Array): Promise<void> {
  let n = 0;
  for (const f of frames20ms(pcm, RATE)) {
    stream.push(f);
    if (++n % 10 === 0) await sleep(1);
  }
}

const finals = (events: SttEvent[]): string[] => events.flatMap((e) => (e.type === 'final' && e.text ? [e.text] : []));

test('interim, final and utterance_end for each speech segment, through the SDK', async () => {
  const sim = await startDeepgramLiveSimulator({ apiKey: KEY, transcripts: ['hello there', 'book a table for two'], interimIntervalMs: 240 });
  const stt = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 200, utteranceEndMs: 500 });
  const stream = stt.stream({ sampleRate: RATE });
  try {
    await pushPaced(stream, burstsAndSilence(RATE, [['silence', 200], ['tone', 600], ['silence', 800], ['tone', 800], ['silence', 800]]));
    const events = await collectUntil(stream.events(), (ev) => ev.filter((e) => e.type === 'utterance_end').length >= 2);
    const kinds = events.map((e) => e.type);
    assert.equal(finals(events), ['hello there', 'book a table for two']);
    const firstFinal = kinds.indexOf('final');
    assert.ok(kinds.indexOf('interim') >= 0 && kinds.indexOf('interim') < firstFinal, 'an interim precedes the first final');
    assert.ok(kinds.indexOf('utterance_end') > firstFinal, 'utterance_end follows the final');
    const f = events.find((e) => e.type === 'final');
    assert.ok(f && f.type === 'final' && f.speechFinal, 'endpointing marks speech_final');
    const interim = events.find((e) => e.type === 'interim');
    assert.ok(interim && interim.type === 'interim' && 'hello there'.startsWith(interim.text));
    assert.equal(sim.stats.lastQuery.encoding, 'linear16');
    assert.equal(sim.stats.lastQuery.sample_rate, String(RATE));
    assert.equal(sim.stats.lastQuery.interim_results, 'true');
    assert.equal(sim.stats.lastQuery.endpointing, '200');
    assert.equal(sim.stats.lastQuery.vad_events, 'true');
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('a dropped socket is reconnected and the turn in progress is replayed, not lost or duplicated', async () => {
  // Messages on connection 1: SpeechStarted, 2 interims, final (turn 1), SpeechStarted, interim -> drop.
  const sim = await startDeepgramLiveSimulator({ transcripts: ['hello there', 'second turn words'], interimIntervalMs: 240, dropAfterMessages: 6 });
  const stt = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: 200, utteranceEndMs: 0 });
  const stream = stt.stream({ sampleRate: RATE });
  try {
    await pushPaced(stream, burstsAndSilence(RATE, [['tone', 600], ['silence', 600], ['tone', 600], ['silence', 600]]));
    const events = await collectUntil(stream.events(), (ev) => finals(ev).length >= 2);
    assert.equal(finals(events), ['hello there', 'second turn words']);
    const kinds = events.map((e) => e.type);
    assert.ok(kinds.includes('reconnected'), 'reconnected is emitted');
    assert.ok(kinds.indexOf('reconnected') < kinds.lastIndexOf('final'), 'the replayed turn is finalized after the reconnect');
    assert.is(sim.stats.drops, 1);
    assert.is(sim.stats.connections, 2);
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('finalize() asks Deepgram to finalize; the final is marked fromFinalize', async () => {
  const sim = await startDeepgramLiveSimulator({ transcripts: ['finalize me please'] });
  const stt = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: false, utteranceEndMs: 0 });
  const stream = stt.stream({ sampleRate: RATE });
  try {
    await pushPaced(stream, burstsAndSilence(RATE, [['tone', 500], ['silence', 100]]));
    stream.finalize();
    const events = await collectUntil(stream.events(), (ev) => ev.some((e) => e.type === 'final'));
    const f = events.find((e) => e.type === 'final');
    assert.ok(f && f.type === 'final');
    assert.is(f.text, 'finalize me please');
    assert.is(f.fromFinalize, true);
    assert.is(f.speechFinal, false);
    assert.is(sim.stats.finalizes, 1);
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('audio goes out in 100 ms chunks, and finalize() sends the rest before Finalize', async () => {
  const sim = await startDeepgramLiveSimulator({ transcripts: ['chunked audio'] });
  const stt = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, endpointingMs: false, utteranceEndMs: 0 });
  const stream = stt.stream({ sampleRate: RATE });
  try {
    await waitFor('the STT connection to open', () => sim.stats.openConnections === 1);
    const frames = [...frames20ms(burstsAndSilence(RATE, [['tone', 540]]), RATE)];
    assert.is(frames.length, 27);
    for (const f of frames) stream.push(f);
    // 27 frames of 20 ms: five full 100 ms chunks sent, 40 ms still buffered.
    await waitFor('five 100 ms chunks to arrive', () => sim.stats.audioBytes === 5 * 1600 * 2);
    assert.is(sim.stats.audioMessages, 5);
    stream.finalize();
    const events = await collectUntil(stream.events(), (ev) => ev.some((e) => e.type === 'final'));
    assert.ok(events.some((e) => e.type === 'final' && e.fromFinalize));
    assert.is(sim.stats.audioMessages, 6);
    assert.is(sim.stats.audioBytes, 27 * 320 * 2);
  } finally {
    await stream.close();
    await sim.close();
  }
});

test('KeepAlive keeps an idle connection open; close() sends CloseStream and ends events', async () => {
  const sim = await startDeepgramLiveSimulator({ idleTimeoutMs: 400 });
  const stt = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url, keepAliveIntervalMs: 100 });
  const stream = stt.stream({ sampleRate: RATE });
  await waitFor('the connection to open', () => sim.stats.openConnections === 1);
  await waitFor('keepalives are sent while idle', () => sim.stats.keepAlives >= 3);
  assert.is(sim.stats.idleCloses, 0);
  await stream.close();
  assert.is(sim.stats.closeStreams, 1);
  const rest = await collectUntil(stream.events(), () => false, 1000);
  assert.equal(rest.filter((e) => e.type === 'error'), []);
  await waitFor('the connection to close', () => sim.stats.openConnections === 0);
  await sim.close();
});

test('a rejected key surfaces as a ProviderError that does not contain the key', async () => {
  const sim = await startDeepgramLiveSimulator({ apiKey: 'the-right-key-abcdef' });
  const stt = new DeepgramStt({ apiKey: KEY, baseUrl: sim.url });
  const stream = stt.stream({ sampleRate: RATE });
  const events = await collectUntil(stream.events(), (ev) => ev.some((e) => e.type === 'error'));
  const err = events.find((e) => e.type === 'error');
  assert.ok(err && err.type === 'error');
  assert.instance(err.error, ProviderError);
  assert.match(err.error.message, /authentication failed/);
  assert.not.ok(err.error.message.includes(KEY));
  assert.is(sim.stats.authFailures, 1, 'no retry storm after a 401');
  await stream.close();
  await sim.close();
});

test.run();
