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

/**
 * Like receivedRms, but `at` is when the server sent each packet, on this
 * process's clock: the stream's RTP timestamps (8 kHz, advancing in real time)
 * anchored at its least-delayed packet. Arrival times include this process's
 * own event-loop stalls, which on a busy machine reach hundreds of
 * milliseconds; a test that measures the server's timing must not measure
 * its own. Packets of the stream's first SSRC only.
 */
export function receivedRmsOnSenderClock(packets: readonly ReceivedPacket[]): { at: number; rms: number }[] {
  const audio = packets.filter((p) => p.pt === 0 || p.pt === 8);
  if (audio.length === 0) return [];
  const ssrc = audio[0]!.ssrc;
  const first = audio[0]!.ts;
  const stream = audio.filter((p) => p.ssrc === ssrc).map((p) => ({ packet: p, mediaMs: ((p.ts - first) | 0) / 8 }));
  const anchor = Math.min(...stream.map((s) => s.packet.at - s.mediaMs));
  const levels = receivedRms(stream.map((s) => s.packet));
  return stream.map((s, i) => ({ at: anchor + s.mediaMs, rms: levels[i]!.rms }));
}

/** A 440 Hz tone at amplitude 8000 between `fromS` and `toS` inside `totalS` seconds of digital silence (8 kHz). */
export function toneBurst(totalS: number, fromS: number, toS: number): Int16Array {
  const pcm = new Int16Array(Math.round(totalS * 8000));
  for (let i = Math.round(fromS * 8000); i < Math.round(toS * 8000) && i < pcm.length; i++) {
    pcm[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000));
  }
  return pcm;
}
