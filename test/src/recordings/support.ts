/** Shared setup for the recording tests: a migrated database, a vault on a temp dir, synthetic call audio. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AudioFrame } from '../../../media/audio/frames.ts';
import type { Database } from '../../../storage/index.ts';
import { openRecordingVault, RecordingService, type RecordingVaultSetup } from '../../../src/recordings/index.ts';
import { LocalObjectStore } from '../../../storage/vault/index.ts';

export interface RecordingFixture extends RecordingVaultSetup {
  /** The data directory's store (no S3 configured): tests reach its files. */
  store: LocalObjectStore;
  db: Database;
  dataDir: string;
  service: RecordingService;
  cleanup(): Promise<void>;
}

export async function recordingFixture(db: Database): Promise<RecordingFixture> {
  const dataDir = await mkdtemp(join(tmpdir(), 'recordings-'));
  const setup = await openRecordingVault({ SMARTALEX_DATA_DIR: dataDir, SMARTALEX_MASTER_KEY: undefined }, db);
  const service = new RecordingService({ db, vault: setup.vault });
  if (!(setup.store instanceof LocalObjectStore)) throw new Error('expected the local recording store');
  return { ...setup, store: setup.store, db, dataDir, service, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
}

/** A 20 ms mono frame whose samples encode leg, frame index and position, so any misplacement shows. */
export function syntheticFrame(leg: 'caller' | 'agent', index: number, sampleRate = 8000): AudioFrame {
  const n = (sampleRate * 20) / 1000;
  const pcm = new Int16Array(n);
  for (let i = 0; i < n; i++) pcm[i] = (leg === 'caller' ? 1 : -1) * ((index * 7 + i) % 3000 + 1);
  return { kind: 'audio', pcm, sampleRate, timeMs: 1000 + index * 20 };
}

/** The stereo PCM16 (caller left, agent right) that `frames` frames of both legs must decrypt to. */
export function expectedStereo(frames: number): Buffer {
  const out = Buffer.alloc(frames * 160 * 4);
  let o = 0;
  for (let f = 0; f < frames; f++) {
    const c = syntheticFrame('caller', f).pcm;
    const a = syntheticFrame('agent', f).pcm;
    for (let i = 0; i < 160; i++, o += 4) {
      out.writeInt16LE(c[i]!, o);
      out.writeInt16LE(a[i]!, o + 2);
    }
  }
  return out;
}
