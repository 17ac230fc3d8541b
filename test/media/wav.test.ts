import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { encodeWav, parseWav, pcm16Samples, WavFormatError } from '../../media/audio/wav.ts';

test('round trip of a PCM16 WAV', () => {
  const samples = Int16Array.from([0, 1000, -1000, 32767, -32768]);
  const file = encodeWav({ sampleRate: 8000, channels: 1, encoding: 'pcm16', data: Buffer.from(samples.buffer) });
  const parsed = parseWav(file);
  assert.is(parsed.sampleRate, 8000);
  assert.equal(Array.from(pcm16Samples(parsed)), Array.from(samples));
});

test('a truncated WAV keeps its whole samples and names what is wrong when nothing is usable', () => {
  const file = encodeWav({ sampleRate: 8000, channels: 1, encoding: 'pcm16', data: Buffer.alloc(100) });
  assert.is(parseWav(file.subarray(0, 44 + 51)).data.length, 50);
  assert.throws(() => parseWav(file.subarray(0, 30)), (e: unknown) => e instanceof WavFormatError && /truncated/.test(String(e)));
  assert.throws(() => parseWav(Buffer.from('hello world, not audio')), /RIFF/);
});

test.run();
