/**
 * Decrypting a recording to a WAV file, for operators. Reads with
 * allowTruncated, so a recording cut short by a crash yields its verified
 * prefix and says so; the WAV header is rewritten at the end with the real
 * data length. The file is created 0600 and removed again if decryption
 * fails (a tampered chunk, a destroyed key), so no partial audio is left.
 */
import { open, rm } from 'node:fs/promises';
import { wavHeader } from '../../media/codecs/wav.ts';
import { RecordingReader } from '../../storage/vault/index.ts';
import type { DataKeySource, RecordingHeader } from '../../storage/vault/index.ts';

export interface DecryptedFile {
  header: RecordingHeader;
  cutShort: boolean;
  chunks: number;
  pcmBytes: number;
}

export async function decryptToWavFile(
  source: AsyncIterable<Uint8Array>,
  keys: DataKeySource,
  outPath: string,
  expect?: { tenantId: string; recordingId: string },
): Promise<DecryptedFile> {
  const reader = await RecordingReader.open(source, keys, { allowTruncated: true, ...(expect ? { expect } : {}) });
  const { sampleRate, channels } = reader.header;
  let file;
  try {
    file = await open(outPath, 'w', 0o600);
  } catch (err) {
    await reader.close();
    throw err;
  }
  let pcmBytes = 0;
  try {
    await file.write(wavHeader({ sampleRate, channels, encoding: 'pcm16', dataBytes: 0 }));
    for await (const part of reader) {
      await file.write(part);
      pcmBytes += part.length;
      part.fill(0);
    }
    await file.write(wavHeader({ sampleRate, channels, encoding: 'pcm16', dataBytes: pcmBytes }), 0, undefined, 0);
    await file.close();
  } catch (err) {
    await file.close().catch(() => undefined);
    await rm(outPath, { force: true });
    throw err;
  }
  return { header: reader.header, cutShort: reader.cutShort, chunks: reader.verifiedChunks, pcmBytes };
}
