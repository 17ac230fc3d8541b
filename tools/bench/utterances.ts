/**
 * The caller's lines: fixture WAVs (8 kHz espeak speech) with their measured
 * speech edges from fixtures/audio/speech-times.json, padded to whole 20 ms
 * frames, plus the G.711 payloads of their voiced frames (to recognise an
 * echo of our own audio on the wire).
 */
import { readFileSync } from 'node:fs';
import { encodeG711, parseWav, pcm16Samples, type G711Law } from '../../media/audio/index.ts';
import { FRAME_SAMPLES, SAMPLE_RATE } from '../../media/rtp/index.ts';
import { frameDbfs } from './voice.ts';

const FIXTURES = new URL('../../fixtures/audio/', import.meta.url);

export interface Utterance {
  name: string;
  /** PCM16 at 8 kHz, a whole number of 20 ms frames. */
  pcm: Int16Array;
  frames: number;
  /** Sample index of the first and last speech sample (the outer -50 dBFS edges). */
  speechStartSample: number;
  speechEndSample: number;
}

interface SpeechTimes { [file: string]: { durationS: number; at50dB: { startS: number; endS: number } } }

export const TURN_FILES = ['what-time-open-8k.wav', 'yes-please-8k.wav', 'hello-book-table-8k.wav'] as const;
export const BARGE_IN_FILE = 'hello-book-table-8k.wav';

let timesCache: SpeechTimes | undefined;

export function loadUtterance(file: string): Utterance {
  timesCache ??= JSON.parse(readFileSync(new URL('speech-times.json', FIXTURES), 'utf8')) as SpeechTimes;
  const times = timesCache[file];
  if (!times) throw new Error(`no speech times for fixture ${file}`);
  const wav = parseWav(readFileSync(new URL(file, FIXTURES)));
  if (wav.sampleRate !== SAMPLE_RATE || wav.channels !== 1) throw new Error(`fixture ${file} is not 8 kHz mono`);
  const raw = pcm16Samples(wav);
  const frames = Math.ceil(raw.length / FRAME_SAMPLES);
  const pcm = new Int16Array(frames * FRAME_SAMPLES);
  pcm.set(raw);
  return {
    name: file,
    pcm,
    frames,
    speechStartSample: Math.round(times.at50dB.startS * SAMPLE_RATE),
    speechEndSample: Math.min(raw.length - 1, Math.round(times.at50dB.endS * SAMPLE_RATE)),
  };
}

/** 32-bit FNV-1a of the bytes. */
export function payloadHash(bytes: Uint8Array, length = bytes.length): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/**
 * A set of byte strings (our own voiced G.711 payloads) that answers has()
 * without allocating: a 32-bit hash finds the candidates, a byte compare
 * confirms (so a hash collision never counts as an echo). The caller's
 * receive path asks it for every voiced agent packet.
 */
export class PayloadSet {
  /** Hash -> the payloads with that hash (almost always one). */
  private readonly byHash = new Map<number, Uint8Array[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(bytes: Uint8Array): void {
    const h = payloadHash(bytes);
    const found = this.byHash.get(h);
    if (found && holds(found, bytes)) return;
    const copy = Uint8Array.from(bytes);
    if (found) found.push(copy);
    else this.byHash.set(h, [copy]);
    this.count++;
  }

  has(bytes: Uint8Array): boolean {
    const found = this.byHash.get(payloadHash(bytes));
    return found !== undefined && holds(found, bytes);
  }
}

function holds(candidates: readonly Uint8Array[], bytes: Uint8Array): boolean {
  for (const c of candidates) if (Buffer.compare(c, bytes) === 0) return true;
  return false;
}

/** The encoded payloads of every voiced frame of the utterances. */
export function voicedPayloads(utterances: readonly Utterance[], law: G711Law, thresholdDbfs: number): PayloadSet {
  const set = new PayloadSet();
  const out = new Uint8Array(FRAME_SAMPLES);
  for (const u of utterances) {
    for (let f = 0; f < u.frames; f++) {
      const frame = u.pcm.subarray(f * FRAME_SAMPLES, (f + 1) * FRAME_SAMPLES);
      if (frameDbfs(frame) <= thresholdDbfs) continue;
      encodeG711(law, frame, out, 0);
      set.add(out);
    }
  }
  return set;
}
