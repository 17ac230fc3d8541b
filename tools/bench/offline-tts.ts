/**
 * Offline TTS benchmark: real-time factor (synthesis time / audio time), time
 * to the first chunk, CPU seconds per second of speech, and the server-side
 * event-loop delay while synthesizing, for eSpeak NG in WebAssembly (its own
 * child process) and, when installed, the Debian espeak-ng program.
 *
 *   npx tsx tools/bench/offline-tts.ts [rounds]      (default 5 rounds of 6 sentences)
 *
 * CPU comes from /proc (Linux): the WebAssembly child's utime+stime, and this
 * process's reaped-children time for the espeak-ng program.
 */
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { EspeakTextToSpeech, EspeakWasmTextToSpeech, detectEspeak, espeakWasmPid, prewarmEspeakWasm, stopEspeakWasm } from '../../pipeline/offline/index.ts';
import type { TextToSpeech } from '../../pipeline/providers/types.ts';

const SENTENCES = [
  "Hi, you're speaking with an AI assistant.",
  'Thanks for calling the SmartAlex demo. How can I help you today?',
  "I can't understand speech on this line yet, but you can use your phone's keypad.",
  'Press 1 for our opening hours, 2 to hear about this assistant, or 3 to end the call.',
  'We are open from noon until ten in the evening, every day.',
  'Thank you for calling. Goodbye!',
];
const TICKS = 100; // USER_HZ on Linux

/** utime+stime (fields 14, 15) or cutime+cstime (16, 17) of /proc/<pid>/stat, in seconds. */
function cpuSeconds(pid: number | 'self', children: boolean): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from #3 on
  const at = children ? 13 : 11; // #16/#17 or #14/#15, minus 3
  return (Number(fields[at]) + Number(fields[at + 1])) / TICKS;
}

async function measure(name: string, tts: TextToSpeech, rounds: number, cpu: () => number): Promise<void> {
  const loop = monitorEventLoopDelay({ resolution: 1 });
  let audioSamples = 0;
  let busyMs = 0;
  const firstChunkMs: number[] = [];
  const cpuBefore = cpu();
  loop.enable();
  for (let r = 0; r < rounds; r++) {
    for (const text of SENTENCES) {
      const t0 = performance.now();
      let first = true;
      for await (const pcm of tts.synthesize(text, { signal: new AbortController().signal })) {
        if (first) firstChunkMs.push(performance.now() - t0);
        first = false;
        audioSamples += pcm.length;
      }
      busyMs += performance.now() - t0;
    }
  }
  loop.disable();
  const cpuUsed = cpu() - cpuBefore;
  const audioS = audioSamples / tts.sampleRate;
  firstChunkMs.sort((a, b) => a - b);
  const pct = (p: number): number => firstChunkMs[Math.min(firstChunkMs.length - 1, Math.floor(p * firstChunkMs.length))]!;
  console.log(
    `${name}: ${audioS.toFixed(1)} s of speech in ${(busyMs / 1000).toFixed(2)} s -> real-time factor ${(busyMs / 1000 / audioS).toFixed(3)}; ` +
      `CPU ${(cpuUsed * 1000 / audioS).toFixed(1)} ms per second of speech; first chunk p50 ${pct(0.5).toFixed(1)} ms, p95 ${pct(0.95).toFixed(1)} ms; ` +
      `this process's event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(2)} ms`,
  );
}

const rounds = Number(process.argv[2] ?? 5);
const t0 = performance.now();
await prewarmEspeakWasm();
console.log(`eSpeak NG (WebAssembly) process started and warmed up in ${(performance.now() - t0).toFixed(0)} ms`);
const wasm = new EspeakWasmTextToSpeech();
await measure('eSpeak NG, WebAssembly (child process)', wasm, rounds, () => cpuSeconds(espeakWasmPid()!, false));
const rss = readFileSync(`/proc/${espeakWasmPid()!}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1];
console.log(`eSpeak NG (WebAssembly) process resident memory: ${Math.round(Number(rss) / 1024)} MB`);
await stopEspeakWasm();
if ((await detectEspeak()).available) await measure('espeak-ng program (Debian)', new EspeakTextToSpeech(), rounds, () => cpuSeconds('self', true));
else console.log('espeak-ng program not installed: skipped');
