/**
 * PocketsphinxSpeechToText on the espeak-ng fixtures: 16 kHz directly and
 * 8 kHz upsampled, finals in order across finalize(), pocketsphinx's own
 * endpointing, close, abort, and a missing program. Recognition of espeak-ng's
 * synthetic voice is poor (see the report), so the text checks are on the
 * sentence it gets nearly right.
 */
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseWav, pcm16Samples } from '../../../media/audio/wav.ts';
import { POCKETSPHINX_MODEL_DIR, PocketsphinxSpeechToText } from '../../../pipeline/offline/index.ts';
import type { SttEvent, SttStream } from '../../../pipeline/providers/types.ts';
import { hasCommand, needExternal } from '../../support/external.ts';

const canRun = needExternal(
  hasCommand('pocketsphinx_continuous') && existsSync(`${POCKETSPHINX_MODEL_DIR}/en-us.lm.bin`),
  'pocketsphinx (pocketsphinx_continuous + pocketsphinx-en-us)',
  'the pocketsphinx STT tests',
);

function audio(file: string): { pcm: Int16Array; rate: number } {
  const wav = parseWav(readFileSync(new URL(`../../../fixtures/audio/${file}`, import.meta.url)));
  return { pcm: pcm16Samples(wav), rate: wav.sampleRate };
}

function pushFrames(stream: SttStream, pcm: Int16Array, rate: number): void {
  const n = rate / 50;
  for (let i = 0; i < pcm.length; i += n) stream.push(pcm.slice(i, i + n));
}

/** Events until `count` utterance_end events, an error, or the end of the stream. */
async function until(stream: SttStream, count: number): Promise<SttEvent[]> {
  const out: SttEvent[] = [];
  let ends = 0;
  for await (const e of stream.events()) {
    out.push(e);
    if (e.type === 'error' || (e.type === 'utterance_end' && ++ends === count)) break;
  }
  return out;
}

/** Word error rate: word-level edit distance over the reference length. */
export function wordErrorRate(reference: string, hypothesis: string): number {
  const words = (s: string): string[] => s.toLowerCase().replace(/-/g, ' ').replace(/[^a-z' ]+/g, ' ').split(/\s+/).filter(Boolean);
  const r = words(reference);
  const h = words(hypothesis);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const row = [i];
    for (let j = 1; j <= h.length; j++) {
      row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[h.length]! / Math.max(1, r.length);
}

const finals = (events: SttEvent[]): string =>
  events.map((e) => (e.type === 'final' ? e.text : '')).filter(Boolean).join(' ');

test('word error rate helper', () => {
  assert.is(wordErrorRate('What time do you open tomorrow?', 'what do you open tomorrow'), 1 / 6);
  assert.is(wordErrorRate('Yes please.', 'yes please'), 0);
  assert.is(wordErrorRate('a b', 'c d e'), 1.5);
});

if (canRun) {
  test('16 kHz: "What time do you open tomorrow?" is recognized nearly word for word', async () => {
    const stt = new PocketsphinxSpeechToText();
    const stream = stt.stream({ sampleRate: 16_000 });
    const { pcm, rate } = audio('what-time-open-16k.wav');
    pushFrames(stream, pcm, rate);
    stream.finalize();
    const events = await until(stream, 1);
    await stream.close();
    assert.equal(events[events.length - 1], { type: 'utterance_end' });
    const text = finals(events);
    assert.match(text, /open tomorrow/);
    assert.ok(wordErrorRate('What time do you open tomorrow?', text) <= 0.34, text);
    assert.ok(events.every((e) => e.type !== 'final' || e.speechFinal));
  });

  test('finals carry word timings on the stream timeline: one per word of the text, inside the speech, in order, also after a finalize()', async () => {
    const times = JSON.parse(readFileSync(new URL('../../../fixtures/audio/speech-times.json', import.meta.url), 'utf8')) as Record<string, { durationS: number; at40dB: { startS: number; endS: number } }>;
    const stt = new PocketsphinxSpeechToText();
    const stream = stt.stream({ sampleRate: 8000 });
    const a = audio('what-time-open-8k.wav');
    const b = audio('hello-book-table-8k.wav');
    pushFrames(stream, a.pcm, a.rate);
    stream.finalize();
    pushFrames(stream, b.pcm, b.rate);
    stream.finalize();
    const events = await until(stream, 2);
    await stream.close();
    const firstEnd = events.findIndex((e) => e.type === 'utterance_end');
    const check = (part: SttEvent[], offsetMs: number, speech: { startS: number; endS: number }): void => {
      const words = part.flatMap((e) => (e.type === 'final' ? e.words ?? [] : []));
      const tokens = finals(part).split(/\s+/).filter(Boolean);
      assert.is(words.length, tokens.length, 'one timed word per word of the text');
      assert.equal(words.map((w) => w.word), tokens);
      let last = offsetMs;
      for (const w of words) {
        assert.ok(w.startMs >= last - 1 && w.endMs > w.startMs, 'in order');
        assert.ok(w.startMs >= offsetMs + speech.startS * 1000 - 150 && w.endMs <= offsetMs + speech.endS * 1000 + 150, `${w.startMs}-${w.endMs} inside the speech`);
        last = w.endMs;
      }
    };
    const aMs = (a.pcm.length / a.rate) * 1000;
    check(events.slice(0, firstEnd), 0, times['what-time-open-8k.wav']!.at40dB);
    check(events.slice(firstEnd), aMs, times['hello-book-table-8k.wav']!.at40dB);
  });

  test('8 kHz caller audio is upsampled and recognized (telephone band: worse)', async () => {
    const stt = new PocketsphinxSpeechToText();
    const stream = stt.stream({ sampleRate: 8000 });
    const { pcm, rate } = audio('what-time-open-8k.wav');
    pushFrames(stream, pcm, rate);
    stream.finalize();
    const events = await until(stream, 1);
    await stream.close();
    const text = finals(events);
    assert.ok(text.length > 0, 'some words');
    assert.match(text, /^what\b/);
    assert.ok(wordErrorRate('What time do you open tomorrow?', text) < 1, text);
  });

  test('finals stay in order across finalize(): one process per utterance', async () => {
    const stt = new PocketsphinxSpeechToText();
    const stream = stt.stream({ sampleRate: 16_000 });
    const a = audio('what-time-open-16k.wav');
    const b = audio('hello-book-table-16k.wav');
    pushFrames(stream, a.pcm, a.rate);
    stream.finalize();
    pushFrames(stream, b.pcm, b.rate);
    stream.finalize();
    stream.finalize(); // nothing new: no extra utterance_end
    const events = await until(stream, 2);
    await stream.close();
    const firstEnd = events.findIndex((e) => e.type === 'utterance_end');
    assert.match(finals(events.slice(0, firstEnd)), /tomorrow/);
    assert.not.match(finals(events.slice(firstEnd)), /tomorrow/);
    assert.ok(finals(events.slice(firstEnd)).length > 0);
  });

  test('without finalize(), pocketsphinx ends utterances on silence and close() flushes', async () => {
    // close() kills what has not printed after its deadline; on a busy machine decoding the last
    // utterance can take longer than the default 5 s, and this test is about the flush, not the deadline.
    const stt = new PocketsphinxSpeechToText({ closeTimeoutMs: 120_000 });
    const stream = stt.stream({ sampleRate: 16_000 });
    const a = audio('what-time-open-16k.wav');
    const b = audio('hello-book-table-16k.wav');
    pushFrames(stream, a.pcm, a.rate);
    pushFrames(stream, new Int16Array(16_000), 16_000);
    pushFrames(stream, b.pcm, b.rate);
    const closed = stream.close();
    const events = await until(stream, 99);
    await closed;
    const texts = events.filter((e) => e.type === 'final');
    assert.ok(texts.length >= 2, `${texts.length} finals`);
    assert.is(events.some((e) => e.type === 'utterance_end'), false);
    assert.is(events.some((e) => e.type === 'error'), false);
  });

  test('abort ends the events and kills the processes', async () => {
    const stt = new PocketsphinxSpeechToText();
    const controller = new AbortController();
    const stream = stt.stream({ sampleRate: 8000, signal: controller.signal });
    const { pcm, rate } = audio('hello-book-table-8k.wav');
    pushFrames(stream, pcm, rate);
    setTimeout(() => controller.abort(), 20);
    const events = await until(stream, 99);
    assert.is(events.some((e) => e.type === 'error'), false);
    stream.push(pcm); // ignored after abort
    await stream.close();
  });

  test('only English is installed', () => {
    assert.throws(() => new PocketsphinxSpeechToText().stream({ sampleRate: 16_000, language: 'de' }), /en-us/);
  });
}

test('a missing program surfaces as an error event', async () => {
  const stt = new PocketsphinxSpeechToText({ command: 'pocketsphinx-not-installed-here' });
  const stream = stt.stream({ sampleRate: 16_000 });
  stream.push(new Int16Array(320));
  stream.finalize();
  const events = await until(stream, 1);
  const error = events.find((e) => e.type === 'error');
  assert.ok(error && error.type === 'error');
  assert.match(error.error.message, /not found/);
  await stream.close();
});

test.run();
