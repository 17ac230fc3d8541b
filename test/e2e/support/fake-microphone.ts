/**
 * Chromium's fake microphone for the browser call tests: a fixture WAV
 * (speech, then two seconds of silence, looped by Chromium) and the flags
 * that feed it to getUserMedia without a permission prompt. Chromium gathers
 * no loopback ICE candidates unless told to (`--allow-loopback-in-peer-connection`).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWav, parseWav, pcm16Samples } from '../../../media/audio/index.ts';

/** An agent audio level (WebAudio RMS, full scale 1) that is speech, not comfort noise or codec residue. */
export const VOICED = 0.01;

/** Writes the fake microphone's WAV into `dir`: fixture speech, then silence. */
export function microphoneWav(dir: string): string {
  const speech = pcm16Samples(parseWav(readFileSync(new URL('../../../fixtures/audio/hello-book-table-16k.wav', import.meta.url))));
  const pcm = new Int16Array(speech.length + 16_000 * 2);
  pcm.set(speech);
  const file = join(dir, 'microphone.wav');
  writeFileSync(file, encodeWav({ sampleRate: 16_000, channels: 1, encoding: 'pcm16', data: Buffer.from(pcm.buffer) }));
  return file;
}

/** Chromium flags: the fake microphone playing `wav`, no prompt, loopback ICE candidates. */
export function fakeMicrophoneArgs(wav: string): string[] {
  return ['--no-sandbox', '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream', `--use-file-for-fake-audio-capture=${wav}`, '--allow-loopback-in-peer-connection'];
}
