/** EspeakTextToSpeech: real espeak-ng output, streamed in chunks, abort, bad voice, missing program. */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EspeakTextToSpeech } from '../../../pipeline/offline/index.ts';
import { ProviderError } from '../../../pipeline/providers/types.ts';
import { hasCommand, needExternal } from '../../support/external.ts';

const canRun = needExternal(hasCommand('espeak-ng'), 'espeak-ng', 'the espeak-ng TTS tests');

async function synth(tts: EspeakTextToSpeech, text: string, signal = new AbortController().signal, voice?: string): Promise<Int16Array[]> {
  const chunks: Int16Array[] = [];
  for await (const chunk of tts.synthesize(text, { signal, ...(voice ? { voice } : {}) })) chunks.push(chunk);
  return chunks;
}
const total = (chunks: Int16Array[]): number => chunks.reduce((n, c) => n + c.length, 0);
function rms(chunks: Int16Array[]): number {
  let sum = 0;
  for (const c of chunks) for (const x of c) sum += x * x;
  return Math.sqrt(sum / Math.max(1, total(chunks)));
}

if (canRun) {
  test('"Yes please." becomes about a second of audible 22050 Hz PCM', async () => {
    const tts = new EspeakTextToSpeech();
    assert.is(tts.sampleRate, 22050);
    const chunks = await synth(tts, 'Yes please.');
    const seconds = total(chunks) / tts.sampleRate;
    assert.ok(seconds > 0.5 && seconds < 2.5, `${seconds} s`);
    assert.ok(rms(chunks) > 1000, 'speech, not silence');
  });

  test('a long text arrives as several chunks (streamed, not one buffer)', async () => {
    const tts = new EspeakTextToSpeech();
    const text = 'We are open from noon until ten in the evening. Would you like to book a table? I can also tell you about our menu.';
    const chunks = await synth(tts, text);
    assert.ok(chunks.length > 3, `${chunks.length} chunks`);
    assert.ok(total(chunks) / tts.sampleRate > 4);
  });

  test('voice and speed change the audio', async () => {
    const slow = await synth(new EspeakTextToSpeech({ wordsPerMinute: 100 }), 'What time do you open tomorrow?');
    const fast = await synth(new EspeakTextToSpeech({ wordsPerMinute: 250 }), 'What time do you open tomorrow?');
    assert.ok(total(slow) > total(fast) * 1.5);
    const gb = await synth(new EspeakTextToSpeech(), 'What time do you open tomorrow?', undefined, 'en-gb');
    assert.is.not(total(gb), total(await synth(new EspeakTextToSpeech(), 'What time do you open tomorrow?')));
  });

  test('abort after the first chunk ends the stream early', async () => {
    const tts = new EspeakTextToSpeech();
    const text = 'This sentence is long enough to take several chunks. '.repeat(20);
    const controller = new AbortController();
    const chunks: Int16Array[] = [];
    for await (const chunk of tts.synthesize(text, { signal: controller.signal })) {
      chunks.push(chunk);
      controller.abort();
    }
    assert.is(chunks.length, 1);
    const already = new AbortController();
    already.abort();
    assert.is((await synth(tts, 'Hello.', already.signal)).length, 0);
  });

  test('empty text yields nothing; a voice name with shell characters is refused', async () => {
    const tts = new EspeakTextToSpeech();
    assert.is((await synth(tts, '   ')).length, 0);
    try {
      await synth(tts, 'Hello.', undefined, 'en; rm -rf /');
      assert.unreachable('accepted a bad voice');
    } catch (err) {
      assert.instance(err, ProviderError);
    }
  });

  test('an unknown voice is a ProviderError', async () => {
    try {
      await synth(new EspeakTextToSpeech({ voice: 'xx-nonexistent' }), 'Hello.');
      assert.unreachable('synthesized with an unknown voice');
    } catch (err) {
      assert.instance(err, ProviderError);
    }
  });
}

test('a missing program is a ProviderError, not a crash', async () => {
  try {
    await synth(new EspeakTextToSpeech({ command: 'espeak-ng-not-installed-here' }), 'Hello.');
    assert.unreachable('ran a missing program');
  } catch (err) {
    assert.instance(err, ProviderError);
    assert.match((err as Error).message, /espeak-ng-not-installed-here/);
  }
});

test.run();
