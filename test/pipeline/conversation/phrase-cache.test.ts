/** Fixed phrases are synthesized once per server and replayed from memory, least recently used evicted first. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { concatPcm, FallbackVoice, PhraseCache, type PhraseKey } from '../../../pipeline/conversation/index.ts';
import type { TextToSpeech } from '../../../pipeline/providers/types.ts';
import { startHarness } from './helpers.ts';

const key = (text: string, over: Partial<PhraseKey> = {}): PhraseKey => ({ provider: 'tts', voice: undefined, sampleRate: 8000, text, ...over });

test('a stored phrase comes back; provider, voice, rate and text all distinguish entries', () => {
  const cache = new PhraseCache();
  const pcm = new Int16Array([1, 2, 3]);
  cache.set(key('Hello.'), pcm);
  assert.is(cache.get(key('Hello.')), pcm);
  assert.is(cache.get(key('Hello!')), undefined);
  assert.is(cache.get(key('Hello.', { voice: 'aura' })), undefined);
  assert.is(cache.get(key('Hello.', { sampleRate: 16000 })), undefined);
  assert.is(cache.get(key('Hello.', { provider: 'other' })), undefined);
});

test('beyond the byte budget the least recently used phrase goes first', () => {
  const cache = new PhraseCache(12); // room for three 2-sample phrases (4 bytes each)
  cache.set(key('a'), new Int16Array(2));
  cache.set(key('b'), new Int16Array(2));
  cache.set(key('c'), new Int16Array(2));
  assert.ok(cache.get(key('a'))); // a is now the most recent
  cache.set(key('d'), new Int16Array(2));
  assert.ok(cache.get(key('a')));
  assert.is(cache.get(key('b')), undefined, 'b was the least recently used');
  assert.ok(cache.get(key('c')));
  assert.ok(cache.get(key('d')));
  assert.is(cache.sizeBytes, 12);
});

test('empty or oversized audio is not stored; replacing an entry keeps the byte count right', () => {
  const cache = new PhraseCache(8);
  cache.set(key('empty'), new Int16Array(0));
  cache.set(key('huge'), new Int16Array(5));
  assert.is(cache.size, 0);
  cache.set(key('x'), new Int16Array(2));
  cache.set(key('x'), new Int16Array(3));
  assert.is(cache.sizeBytes, 6);
});

test('concatPcm joins chunks in order', () => {
  assert.equal([...concatPcm([new Int16Array([1, 2]), new Int16Array([]), new Int16Array([3])])], [1, 2, 3]);
});

test('load() synthesizes once for concurrent askers and keeps the result; a failure or silence is not kept', async () => {
  const cache = new PhraseCache();
  let runs = 0;
  const synth = async (): Promise<Int16Array> => {
    runs += 1;
    await Promise.resolve();
    return new Int16Array([7, 8]);
  };
  const [a, b] = await Promise.all([cache.load(key('Hi.'), synth), cache.load(key('Hi.'), synth)]);
  assert.is(runs, 1);
  assert.is(a, b);
  assert.is(cache.get(key('Hi.')), a);
  await cache.load(key('Hi.'), synth);
  assert.is(runs, 1, 'served from the cache');

  await cache.load(key('boom'), async () => { throw new Error('tts down'); }).then(() => assert.unreachable(), () => undefined);
  assert.is(await cache.load(key('silent'), async () => new Int16Array(0)), undefined);
  assert.is(await cache.load(key('boom'), async () => new Int16Array([1])).then((p) => p?.length), 1, 'tried again after the failure');
  assert.is(cache.get(key('silent')), undefined);
});

test('the fallback apology voice keeps its clip in the shared phrase cache and retries after a failure', async () => {
  const cache = new PhraseCache();
  let calls = 0;
  let fail = true;
  const local: TextToSpeech = {
    name: 'local',
    sampleRate: 16_000,
    async *synthesize() {
      calls += 1;
      if (fail) throw new Error('espeak missing');
      yield new Int16Array([1, 2]);
      yield new Int16Array([3]);
    },
  };
  const voice = new FallbackVoice(local, cache);
  assert.is(await voice.clip('Sorry.'), undefined, 'never rejects');
  fail = false;
  const clip = await voice.clip('Sorry.');
  assert.equal([...(clip ?? [])], [1, 2, 3]);
  assert.is(await voice.clip('Sorry.'), clip);
  assert.is(calls, 2);
  assert.is(cache.size, 1, 'one cache holds it');
});

test('a second call with the same greeting plays it from the cache without asking the TTS', async () => {
  const cache = new PhraseCache();
  const first = await startHarness({ phraseCache: cache });
  let firstAudio: number;
  try {
    await first.waitQuiet();
    assert.ok(first.tts.calls.length >= 2, 'the first call synthesized the disclosure and the greeting');
    firstAudio = first.transport.played.reduce((n, p) => n + p.samples, 0);
  } finally {
    await first.close();
  }
  assert.ok(cache.size >= 2);
  const second = await startHarness({ phraseCache: cache });
  try {
    await second.waitQuiet();
    assert.is(second.tts.calls.length, 0, 'no TTS request for fixed phrases already heard');
    assert.is(second.transport.played.reduce((n, p) => n + p.samples, 0), firstAudio, 'the same audio, sample for sample in length');
  } finally {
    await second.close();
  }
});

test.run();
