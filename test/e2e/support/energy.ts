/** Per-20 ms energy of what the UAC sent and heard, and of a decrypted 2-channel recording, for e2e checks. */
import { decodeG711 } from '../../../media/audio/index.ts';
import type { ReceivedPacket } from './uac.ts';

/** RMS of each 160-sample frame of mono PCM. */
export function frameRms(pcm: Int16Array): number[] {
  const out: number[] = [];
  for (let at = 0; at + 160 <= pcm.length; at += 160) {
    let sum = 0;
    for (let i = at; i < at + 160; i++) sum += pcm[i]! * pcm[i]!;
    out.push(Math.sqrt(sum / 160));
  }
  return out;
}

/** Left and right channels of interleaved stereo PCM16 little-endian bytes. */
export function splitStereo(data: Buffer): { left: Int16Array; right: Int16Array } {
  const n = Math.floor(data.length / 4);
  const left = new Int16Array(n);
  const right = new Int16Array(n);
  for (let i = 0; i < n; i++) {
    left[i] = data.readInt16LE(i * 4);
    right[i] = data.readInt16LE(i * 4 + 2);
  }
  return { left, right };
}

/** RMS of each received audio packet (PCMU/PCMA) with its arrival time. */
export function receivedRms(packets: readonly ReceivedPacket[]): { at: number; rms: number }[] {
  return packets.filter((p) => p.pt === 0 || p.pt === 8).map((p) => {
    const pcm = new Int16Array(p.payload.length);
    decodeG711(p.pt === 8 ? 'alaw' : 'mulaw', p.payload, pcm);
    let sum = 0;
    for (const s of pcm) sum += s * s;
    return { at: p.at, rms: Math.sqrt(sum / Math.max(1, pcm.length)) };
  });
}

/** A 440 Hz tone at amplitude 8000 between `fromS` and `toS` inside `totalS` seconds of digital silence (8 kHz). */
export function toneBurst(totalS: number, fromS: number, toS: number): Int16Array {
  const pcm = new Int16Array(Math.round(totalS * 8000));
  for (let i = Math.round(fromS * 8000); i < Math.round(toS * 8000) && i < pcm.length; i++) {
    pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  }
  return pcm;
}
