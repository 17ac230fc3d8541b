/**
 * `smartalex backup` / `smartalex restore`: the database's logical dump (storage/backup.ts: every row, the
 * migrations it was at) sealed exactly like a recording (storage/vault: the AES-256-GCM chunked container,
 * docs/recording-format.md), under a fresh backup key wrapped by the master key and bound to the backup's
 * id. The same master key (SMARTALEX_MASTER_KEY or the key file) is needed to restore; a backup that was
 * altered or cut anywhere is refused, and nothing is written (the load is one transaction). Recordings
 * themselves stay in their store: the tenant keys that unlock them come back with the rows.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { loadDump, dumpDatabase, type Database, type DumpLine } from '../storage/index.ts';
import { RecordingReader, RecordingWriter, type AppendHandle, type MasterKeyProvider } from '../storage/vault/index.ts';

/** The container's tenant field for backups (no tenant owns one). */
const BACKUP_OWNER = 'backup';

function backupAad(backupId: string): Buffer {
  return Buffer.from(`smartalex-backup/v1 ${backupId}`, 'utf8');
}

/** A new file (never an existing one, never through a symlink), private to the operator. */
async function createPrivateFile(path: string): Promise<AppendHandle> {
  const handle = await open(path, 'wx', 0o600);
  return {
    append: async (data) => { await handle.write(data); },
    sync: async () => { await handle.datasync(); },
    close: async () => { await handle.close(); },
  };
}

export interface BackupSummary { backupId: string; rows: number; bytes: number }

export async function writeBackup(db: Database, master: MasterKeyProvider, path: string): Promise<BackupSummary> {
  const backupId = randomUUID();
  const dataKey = randomBytes(32);
  try {
    const wrappedKey = await master.wrap(dataKey, backupAad(backupId));
    const writer = await RecordingWriter.create({
      handle: await createPrivateFile(path), tenantId: BACKUP_OWNER, recordingId: backupId, dataKey, keyId: master.keyId, wrappedKey,
      sampleRate: 8000, channels: 1, syncEachChunk: false,
    });
    let rows = 0;
    for await (const line of dumpDatabase(db)) {
      if ('table' in line) rows++;
      await writer.write(Buffer.from(JSON.stringify(line) + '\n', 'utf8'));
    }
    const summary = await writer.finish();
    return { backupId, rows, bytes: summary.storedBytes };
  } finally {
    dataKey.fill(0);
  }
}

/** The dump lines of a backup file, each verified before it is handed on; throws on any tampering or truncation. */
export async function* readBackup(path: string, master: MasterKeyProvider): AsyncGenerator<DumpLine> {
  const reader = await RecordingReader.open(createReadStream(path), {
    unwrapDataKey: async (header) => {
      if (header.tenantId !== BACKUP_OWNER) throw new Error('not a SmartAlex backup');
      return master.unwrap(header.wrappedKey, backupAad(header.recordingId));
    },
  });
  const utf8 = new StringDecoder('utf8');
  let rest = '';
  for await (const plain of reader) {
    const text = rest + utf8.write(plain);
    const lines = text.split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) if (line) yield JSON.parse(line) as DumpLine;
  }
  rest += utf8.end();
  if (rest) yield JSON.parse(rest) as DumpLine;
}

export function restoreBackup(db: Database, master: MasterKeyProvider, path: string): Promise<{ tables: number; rows: number }> {
  return loadDump(db, readBackup(path, master));
}
