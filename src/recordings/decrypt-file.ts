/**
 * Decrypting a recording to a WAV file, for operators. Reads with
 * allowTruncated, so a recording cut short by a crash yields its verified
 * prefix and says so; the WAV header is rewritten at the end with the real
 * data length.
 *
 * The output is always a new file: opened with O_CREAT|O_EXCL ('wx') and mode
 * 0600, so an existing file is never overwritten or left with its old mode,
 * and a symlink (even a dangling one) is refused rather than followed. If
 * decryption fails (a tampered chunk, a destroyed key) the file is removed,
 * but only while the path still names the file this call created, so no
 * partial audio is left and nobody else's file is ever deleted.
 */
import { constants } from 'node:fs';
import { lstat, open, rm, type FileHandle } from 'node:fs/promises';
import { wavHeader } from '../../media/audio/wav.ts';
import { RecordingReader } from '../../storage/vault/index.ts';
import type { DataKeySource, RecordingHeader } from '../../storage/vault/index.ts';

export interface DecryptedFile {
  header: RecordingHeader;
  cutShort: boolean;
  chunks: number;
  pcmBytes: number;
}

/** The output path exists (a file, a directory or a symlink): refused, one line. */
export class OutputExistsError extends Error {
  override name = 'OutputExistsError';
  constructor(readonly path: string) {
    super(`${path} already exists (or is a symlink); decrypt writes a new file only: choose another --out`);
  }
}

/** Creates `path` exclusively with mode 0600; never follows a symlink at `path`. */
async function createExclusive(path: string): Promise<FileHandle> {
  try {
    // O_NOFOLLOW on top of O_EXCL: belt and braces, the kernel already refuses an existing link with O_EXCL.
    return await open(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ELOOP') throw new OutputExistsError(path);
    throw error;
  }
}

/** Removes `path` only if it is still the file `file` (same device and inode). */
async function removeIfOurs(path: string, file: FileHandle): Promise<void> {
  const [mine, there] = await Promise.all([file.stat(), lstat(path).catch(() => undefined)]);
  if (there && there.isFile() && there.dev === mine.dev && there.ino === mine.ino) await rm(path);
}

export async function decryptToWavFile(
  source: AsyncIterable<Uint8Array>,
  keys: DataKeySource,
  outPath: string,
  expect?: { tenantId: string; recordingId: string },
): Promise<DecryptedFile> {
  const reader = await RecordingReader.open(source, keys, { allowTruncated: true, ...(expect ? { expect } : {}) });
  const { sampleRate, channels } = reader.header;
  let file: FileHandle;
  try {
    file = await createExclusive(outPath);
  } catch (err) {
    await reader.close();
    throw err;
  }
  let pcmBytes = 0;
  try {
    await file.chmod(0o600); // exactly 0600 whatever the umask
    await file.write(wavHeader({ sampleRate, channels, encoding: 'pcm16', dataBytes: 0 }));
    for await (const part of reader) {
      await file.write(part);
      pcmBytes += part.length;
      part.fill(0);
    }
    await file.write(wavHeader({ sampleRate, channels, encoding: 'pcm16', dataBytes: pcmBytes }), 0, undefined, 0);
  } catch (err) {
    await removeIfOurs(outPath, file).catch(() => undefined);
    await file.close().catch(() => undefined);
    throw err;
  }
  await file.close();
  return { header: reader.header, cutShort: reader.cutShort, chunks: reader.verifiedChunks, pcmBytes };
}
