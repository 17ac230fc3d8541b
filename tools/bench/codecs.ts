/**
 * `smartalex bench-codecs`: what each voice codec costs per call-second, the
 * way a call uses it: one encoder (agent audio out) and one decoder (caller
 * audio in), 20 ms frames, over fixture speech at the codec's rate (8 kHz for
 * G.711, 16 kHz for G.722, 48 kHz for Opus: the 16 kHz fixture resampled, as
 * WebRTC calls do). CPU time is the process's (process.cpuUsage),
 * per round, divided by the call-seconds coded; the report gives the median
 * and p99 over rounds. `--json` writes the same.
 */
import { readFileSync } from 'node:fs';
import { parseWav, pcm16Samples } from '../../media/audio/wav.ts';
import { OpusDecoder, OpusEncoder, OPUS_FRAME_SAMPLES, OPUS_RATE } from '../../media/audio/opus.ts';
import { Resampler } from '../../media/audio/resample.ts';
import { voiceCodec, type VoiceCodecName } from '../../media/audio/voice-codec.ts';
import { summarize, type Summary } from './stats.ts';
import { machineInfo } from './report.ts';

type BenchCodecName = VoiceCodecName | 'Opus';
const CODECS: readonly BenchCodecName[] = ['PCMU', 'PCMA', 'G722', 'Opus'];

const rateOf = (name: BenchCodecName): number => (name === 'Opus' ? OPUS_RATE : voiceCodec(name).sampleRate);

export interface CodecCost {
  codec: BenchCodecName;
  sampleRate: number;
  /** µs of CPU per call-second. */
  encodeCpuUs: Summary;
  decodeCpuUs: Summary;
}

export interface CodecBenchReport {
  rounds: number;
  secondsPerRound: number;
  machine: ReturnType<typeof machineInfo>;
  codecs: CodecCost[];
}

function speechAt(rate: number): Int16Array {
  const file = new URL(`../../fixtures/audio/what-time-open-${rate === 8000 ? '8k' : '16k'}.wav`, import.meta.url);
  const speech = pcm16Samples(parseWav(readFileSync(file)));
  return rate === 48_000 ? new Resampler(16_000, 48_000).process(speech) : speech;
}

function cpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

/** One round: `seconds` of speech through a fresh encoder, then its bytes through a fresh decoder, frame by frame. */
function round(name: BenchCodecName, speech: Int16Array, seconds: number): { encodeUs: number; decodeUs: number } {
  if (name === 'Opus') return opusRound(speech, seconds);
  const codec = voiceCodec(name);
  const frame = codec.sampleRate / 50;
  const frames = seconds * 50;
  const usable = Math.floor(speech.length / frame);
  const bytesPerFrame = codec.bytesFor(frame);
  const payloads = new Uint8Array(frames * bytesPerFrame);
  const out = new Int16Array(frame);
  const encoder = codec.createEncoder();
  let t = cpuUs();
  for (let f = 0; f < frames; f++) {
    const k = f % usable;
    encoder.encode(speech.subarray(k * frame, k * frame + frame), payloads, f * bytesPerFrame);
  }
  const encodeUs = cpuUs() - t;
  const decoder = codec.createDecoder();
  t = cpuUs();
  for (let f = 0; f < frames; f++) decoder.decode(payloads.subarray(f * bytesPerFrame, (f + 1) * bytesPerFrame), out);
  const decodeUs = cpuUs() - t;
  return { encodeUs, decodeUs };
}

/** Opus packets vary in size: kept as a list, as the RTP packets of a WebRTC call carry them. */
function opusRound(speech: Int16Array, seconds: number): { encodeUs: number; decodeUs: number } {
  const frames = seconds * 50;
  const usable = Math.floor(speech.length / OPUS_FRAME_SAMPLES);
  const packets: Buffer[] = [];
  const encoder = new OpusEncoder();
  const decoder = new OpusDecoder();
  try {
    let t = cpuUs();
    for (let f = 0; f < frames; f++) {
      const k = f % usable;
      packets.push(encoder.encode(speech.subarray(k * OPUS_FRAME_SAMPLES, (k + 1) * OPUS_FRAME_SAMPLES)));
    }
    const encodeUs = cpuUs() - t;
    t = cpuUs();
    for (const packet of packets) decoder.decode(packet);
    return { encodeUs, decodeUs: cpuUs() - t };
  } finally {
    encoder.close();
    decoder.close();
  }
}

export function benchCodecs(opts: { rounds: number; seconds: number }): CodecBenchReport {
  const speech = { 8000: speechAt(8000), 16000: speechAt(16000), 48000: speechAt(48_000) } as Record<number, Int16Array>;
  const codecs = CODECS.map((name): CodecCost => {
    const rate = rateOf(name);
    round(name, speech[rate]!, Math.min(opts.seconds, 10)); // warm-up (JIT)
    const encode: number[] = [];
    const decode: number[] = [];
    for (let r = 0; r < opts.rounds; r++) {
      const { encodeUs, decodeUs } = round(name, speech[rate]!, opts.seconds);
      encode.push(encodeUs / opts.seconds);
      decode.push(decodeUs / opts.seconds);
    }
    return { codec: name, sampleRate: rate, encodeCpuUs: summarize(encode)!, decodeCpuUs: summarize(decode)! };
  });
  return { rounds: opts.rounds, secondsPerRound: opts.seconds, machine: machineInfo(), codecs };
}

export function formatCodecReport(r: CodecBenchReport): string {
  const m = r.machine;
  const cell = (s: Summary): string => `${s.p50.toFixed(1).padStart(9)} ${s.p99.toFixed(1).padStart(9)}`;
  return [
    `codec cost per call-second (${r.rounds} rounds of ${r.secondsPerRound} s; one encoder and one decoder, 20 ms frames)`,
    `${'µs CPU per call-second'.padEnd(24)} ${'encode p50'.padStart(9)} ${'p99'.padStart(9)} ${'decode p50'.padStart(9)} ${'p99'.padStart(9)}`,
    ...r.codecs.map((c) => `${`${c.codec} (${c.sampleRate / 1000} kHz)`.padEnd(24)} ${cell(c.encodeCpuUs)} ${cell(c.decodeCpuUs)}`),
    `machine: ${m.cpus} x ${m.cpuModel}, ${m.totalMemMB} MB, Node ${m.nodeVersion}, load ${m.loadAverage.join(' ')}`,
  ].join('\n');
}
