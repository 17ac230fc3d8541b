/**
 * EspeakWasmTextToSpeech: eSpeak NG from npm in its own process, no program
 * needed. Real audio streamed in chunks, voice and speed, concurrent
 * requests, abort, bad and unknown voices, a new process after the old one ended.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { EspeakWasmTextToSpeech, espeakWasmPid, stopEspeakWasm } from '../../../pipeline/offline/index.ts';
import { ProviderError } from '../../../pipeline/providers/types.ts';

async function synth(tts: EspeakWasmTextToSpeech, text: string, signal = new AbortController().signal, voice?: string): Promise<Int16Array[]> {
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
const TEXT = 'We are open from noon until ten in the evening. Would you like to book a table?';

test('"Yes please." becomes about a second of audible 22050 Hz PCM; a longer text arrives in several chunks', async () => {
  const tts = new EspeakWasmTextToSpeech();
  assert.is(tts.sampleRate, 22050);
  const yes = await synth(tts, 'Yes please.');
  const seconds = total(yes) / tts.sampleRate;
  assert.ok(seconds > 0.5 && seconds < 2.5, `${seconds} s`);
  assert.ok(rms(yes) > 1000, 'speech, not silence');
  const long = await synth(tts, TEXT);
  assert.ok(long.length > 3, `${long.length} chunks`);
  assert.ok(total(long) / tts.sampleRate > 3);
});

test('voice and speed change the audio; concurrent requests each get their own audio', async () => {
  const [slow, fast, gb] = await Promise.all([
    synth(new EspeakWasmTextToSpeech({ wordsPerMinute: 100 }), 'What time do you open tomorrow?'),
    synth(new EspeakWasmTextToSpeech({ wordsPerMinute: 250 }), 'What time do you open tomorrow?'),
    synth(new EspeakWasmTextToSpeech(), 'What time do you open tomorrow?', undefined, 'en-gb'),
  ]);
  assert.ok(total(slow) > total(fast) * 1.5, `${total(slow)} vs ${total(fast)}`);
  const us = await synth(new EspeakWasmTextToSpeech(), 'What time do you open tomorrow?');
  assert.is.not(total(gb), total(us));
});

test('abort after the first chunk ends the stream; an aborted signal yields nothing; the next request still works', async () => {
  const tts = new EspeakWasmTextToSpeech();
  const controller = new AbortController();
  const chunks: Int16Array[] = [];
  for await (const chunk of tts.synthesize(TEXT.repeat(5), { signal: controller.signal })) {
    chunks.push(chunk);
    controller.abort();
  }
  assert.is(chunks.length, 1);
  const already = new AbortController();
  already.abort();
  assert.is((await synth(tts, 'Hello.', already.signal)).length, 0);
  assert.ok(total(await synth(tts, 'Hello.')) > 0);
});

test('a malformed voice is refused here; an unknown one by the engine, as a ProviderError', async () => {
  const tts = new EspeakWasmTextToSpeech();
  try {
    await synth(tts, 'Hello.', undefined, 'en; rm -rf /');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, ProviderError);
  }
  try {
    await synth(tts, 'Hello.', undefined, 'xx-nonexistent');
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, ProviderError);
    assert.match((error as Error).message, /unknown voice/);
  }
});

test('after its process ended, the next request starts a new one', async () => {
  const tts = new EspeakWasmTextToSpeech();
  assert.ok(total(await synth(tts, 'Hello.')) > 0);
  await stopEspeakWasm();
  assert.ok(total(await synth(tts, 'Hello again.')) > 0);
  await stopEspeakWasm();
});

test('the process dying mid-request is a ProviderError for that request; the next one gets a new process', async () => {
  const tts = new EspeakWasmTextToSpeech();
  let chunks = 0;
  try {
    for await (const _pcm of tts.synthesize(TEXT.repeat(40), { signal: new AbortController().signal })) {
      if (chunks++ === 0) process.kill(espeakWasmPid()!, 'SIGKILL');
    }
    assert.unreachable('should have thrown');
  } catch (error) {
    assert.instance(error, ProviderError);
    assert.match((error as Error).message, /process exited \(SIGKILL\)/);
  }
  assert.ok(total(await synth(tts, 'Still here.')) > 0);
  await stopEspeakWasm();
});

test('a process that used it exits by itself: the idle child holds no handle open', async () => {
  const module = new URL('../../../pipeline/offline/index.ts', import.meta.url).href;
  const script = `import { EspeakWasmTextToSpeech } from ${JSON.stringify(module)};
let n = 0;
for await (const pcm of new EspeakWasmTextToSpeech().synthesize('Hello there.', { signal: new AbortController().signal })) n += pcm.length;
console.log(n > 0 ? 'spoke' : 'silent');`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  clearTimeout(timer);
  assert.is(code, 0, `exit code (output: ${out})`);
  assert.is(out.trim(), 'spoke');
});

test.run();
