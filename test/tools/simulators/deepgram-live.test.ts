import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { startDeepgramLiveSimulator } from '../../../tools/simulators/deepgram-live.ts';
import { pcm16LeBytes } from '../../../tools/simulators/speech-pattern.ts';
import { burstsAndSilence } from '../../pipeline/providers/helpers.ts';

const RATE = 16000;
type Msg = Record<string, unknown> & { type: string };

function connect(url: string, query: string, headers: Record<string, string> = { Authorization: 'Token k-123456' }): WebSocket {
  return new WebSocket(`${url}/v1/listen?${query}`, { headers });
}

function recorder(ws: WebSocket): { msgs: Msg[]; times: number[]; closed: Promise<{ code: number; reason: string }> } {
  const msgs: Msg[] = [];
  const times: number[] = [];
  ws.on('message', (d) => {
    msgs.push(JSON.parse(String(d)) as Msg);
    times.push(performance.now());
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  return { msgs, times, closed };
}

const opened = (ws: WebSocket): Promise<void> => new Promise((resolve, reject) => {
  ws.once('open', () => resolve());
  ws.once('error', reject);
});

test('a missing key is refused at the upgrade with HTTP 401 and Deepgram\'s error body', async () => {
  const sim = await startDeepgramLiveSimulator();
  try {
    const ws = connect(sim.wsUrl, 'encoding=linear16&sample_rate=16000', {});
    const res = await new Promise<{ status: number; body: string }>((resolve) => {
      ws.on('unexpected-response', (_req, r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += String(c)));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }));
      });
      ws.on('error', () => undefined);
    });
    assert.is(res.status, 401);
    assert.is((JSON.parse(res.body) as { err_code: string }).err_code, 'INVALID_AUTH');
    assert.is(sim.stats.authFailures, 1);
    assert.is(sim.stats.connections, 0);
  } finally {
    await sim.close();
  }
});

test('speaks Deepgram\'s message shapes: SpeechStarted, Results, UtteranceEnd, and Metadata on CloseStream', async () => {
  const sim = await startDeepgramLiveSimulator({ transcripts: ['Good morning, Alex.'] });
  const ws = connect(sim.wsUrl, 'model=nova-3&encoding=linear16&sample_rate=16000&channels=1&interim_results=true&endpointing=100&utterance_end_ms=300&vad_events=true&smart_format=true');
  const rec = recorder(ws);
  await opened(ws);
  const audio = pcm16LeBytes(burstsAndSilence(RATE, [['silence', 100], ['tone', 700], ['silence', 500]]));
  // Odd-sized pieces: the simulator must reassemble samples across frames.
  for (let i = 0; i < audio.length; i += 641) ws.send(audio.subarray(i, i + 641));
  ws.send(JSON.stringify({ type: 'KeepAlive' }));
  ws.send(JSON.stringify({ type: 'CloseStream' }));
  const closed = await rec.closed;
  await sim.close();
  assert.is(closed.code, 1000);
  const types = rec.msgs.map((m) => m.type);
  assert.is(types[0], 'SpeechStarted');
  assert.ok(Math.abs((rec.msgs[0]!.timestamp as number) - 0.1) < 0.011, 'speech start time found by energy');
  const results = rec.msgs.filter((m) => m.type === 'Results');
  const interims = results.filter((m) => m.is_final === false);
  const finals = results.filter((m) => m.is_final === true);
  assert.ok(interims.length >= 1);
  assert.is(finals.length, 1);
  const final = finals[0] as unknown as {
    speech_final: boolean; from_finalize: boolean; start: number; duration: number; channel_index: number[];
    channel: { alternatives: Array<{ transcript: string; confidence: number; words: Array<{ word: string; punctuated_word: string; start: number; end: number }> }> };
  };
  assert.is(final.speech_final, true);
  assert.is(final.from_finalize, false);
  assert.equal(final.channel_index, [0, 1]);
  const alt = final.channel.alternatives[0]!;
  assert.is(alt.transcript, 'Good morning, Alex.');
  assert.equal(alt.words.map((w) => w.word), ['good', 'morning', 'alex']);
  assert.equal(alt.words.map((w) => w.punctuated_word), ['Good', 'morning,', 'Alex.']);
  assert.ok(alt.words[0]!.start >= 0.09 && alt.words[2]!.end <= 0.81);
  assert.ok(Math.abs(final.start + final.duration - 0.9) < 0.011, 'final ends at the endpoint (speech end + endpointing)');
  assert.ok(types.indexOf('UtteranceEnd') > types.indexOf('Results'));
  assert.is(types.at(-1), 'Metadata');
  const meta = rec.msgs.at(-1)!;
  assert.is(meta.channels, 1);
  assert.ok(Math.abs((meta.duration as number) - 1.3) < 0.011);
  assert.match(String(meta.sha256), /^[0-9a-f]{64}$/);
  assert.is(sim.stats.keepAlives, 1);
  assert.is(sim.stats.audioBytes, audio.length);
});

test('Finalize flushes the segment in progress with from_finalize', async () => {
  const sim = await startDeepgramLiveSimulator({ transcripts: ['partial words here'] });
  const ws = connect(sim.wsUrl, 'encoding=linear16&sample_rate=16000&endpointing=false');
  const rec = recorder(ws);
  await opened(ws);
  ws.send(pcm16LeBytes(burstsAndSilence(RATE, [['tone', 400]])));
  ws.send(JSON.stringify({ type: 'Finalize' }));
  ws.send(JSON.stringify({ type: 'CloseStream' }));
  await rec.closed;
  await sim.close();
  const finals = rec.msgs.filter((m) => m.type === 'Results' && m.is_final === true) as unknown as Array<{ from_finalize: boolean; speech_final: boolean; channel: { alternatives: Array<{ transcript: string }> } }>;
  assert.is(finals.length, 1);
  assert.is(finals[0]!.from_finalize, true);
  assert.is(finals[0]!.channel.alternatives[0]!.transcript, 'partial words here');
  assert.not.ok(rec.msgs.some((m) => m.type === 'SpeechStarted'), 'no SpeechStarted without vad_events');
});

test('Finalize in a pause keeps the utterance: speech that goes on before the endpoint is not a new transcript', async () => {
  const sim = await startDeepgramLiveSimulator({ transcripts: ['i would like to book', 'a table for two'], finalizeWhenIdle: 'silent' });
  const ws = connect(sim.wsUrl, 'encoding=linear16&sample_rate=16000&endpointing=300');
  const rec = recorder(ws);
  await opened(ws);
  ws.send(pcm16LeBytes(burstsAndSilence(RATE, [['tone', 400], ['silence', 100]])));
  ws.send(JSON.stringify({ type: 'Finalize' })); // the caller paused
  ws.send(pcm16LeBytes(burstsAndSilence(RATE, [['tone', 300], ['silence', 100]]))); // and went on, within the endpoint
  ws.send(JSON.stringify({ type: 'Finalize' }));
  ws.send(JSON.stringify({ type: 'Finalize' })); // nothing new buffered: no reply (finalizeWhenIdle 'silent')
  ws.send(pcm16LeBytes(burstsAndSilence(RATE, [['silence', 400], ['tone', 300], ['silence', 400]]))); // the next utterance
  ws.send(JSON.stringify({ type: 'CloseStream' }));
  await rec.closed;
  await sim.close();
  const finals = (rec.msgs.filter((m) => m.type === 'Results' && m.is_final === true) as unknown as Array<{ from_finalize: boolean; speech_final: boolean; channel: { alternatives: Array<{ transcript: string }> } }>)
    .map((f) => [f.channel.alternatives[0]!.transcript, f.from_finalize, f.speech_final]);
  assert.equal(finals, [
    ['i would like to book', true, false],
    ['', true, false],
    ['a table for two', false, true],
  ]);
});

test('sttFinalDelayMs holds finals back at least that long; earlier messages are not delayed', async () => {
  const sim = await startDeepgramLiveSimulator({ sttFinalDelayMs: 200 });
  const ws = connect(sim.wsUrl, 'encoding=linear16&sample_rate=16000&interim_results=true&endpointing=50&vad_events=true');
  const rec = recorder(ws);
  await opened(ws);
  const t0 = performance.now();
  ws.send(pcm16LeBytes(burstsAndSilence(RATE, [['tone', 500], ['silence', 200]])));
  await new Promise<void>((resolve) => {
    const check = setInterval(() => {
      if (rec.msgs.some((m) => m.is_final === true)) {
        clearInterval(check);
        resolve();
      }
    }, 5);
  });
  const finalAt = rec.times[rec.msgs.findIndex((m) => m.is_final === true)]!;
  assert.ok(finalAt - t0 >= 195, `final after ${(finalAt - t0).toFixed(1)} ms`);
  assert.ok(rec.times[0]! < finalAt, 'SpeechStarted went out before the delayed final');
  ws.close();
  await rec.closed;
  await sim.close();
});

test('fault knob drops the socket abruptly after N messages; idle sockets are closed with 1011', async () => {
  const sim = await startDeepgramLiveSimulator({ dropAfterMessages: 2, idleTimeoutMs: 150 });
  const ws = connect(sim.wsUrl, 'encoding=linear16&sample_rate=16000&interim_results=true&vad_events=true');
  const rec = recorder(ws);
  await opened(ws);
  ws.send(pcm16LeBytes(burstsAndSilence(RATE, [['tone', 1000]])));
  const closed = await rec.closed;
  assert.is(closed.code, 1006);
  assert.is(rec.msgs.length, 2);
  assert.is(sim.stats.drops, 1);
  // The second connection is not faulted; left idle it is closed by the server.
  const ws2 = connect(sim.wsUrl, 'encoding=linear16&sample_rate=16000');
  const rec2 = recorder(ws2);
  await opened(ws2);
  const closed2 = await rec2.closed;
  assert.is(closed2.code, 1011);
  assert.match(closed2.reason, /NET-0001/);
  assert.is(sim.stats.idleCloses, 1);
  await sim.close();
});

test.run();
