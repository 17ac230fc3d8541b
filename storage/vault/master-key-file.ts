/**
 * The master key file across a rotation (`smartalex keys rotate-master`).
 * The new key is staged as `<dataDir>/master.key.next` before the database
 * commits the re-wrap, so a crash at any point leaves the new key on disk;
 * after the commit the old file is kept as `master.key.old-<key id>` (a hard
 * link: same 0600 file) and the staged one is renamed over `master.key`
 * (atomic), then the directory is synced. Key bytes are never logged or
 * printed; only key ids (fingerprints) appear in messages.
 */
import { link, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { MasterKeyError } from './errors.ts';
import { MASTER_KEY_FILE, type LocalMasterKey } from './keys.ts';

export const STAGED_MASTER_KEY_FILE = `${MASTER_KEY_FILE}.next`;

export function oldMasterKeyFile(keyId: string): string {
  return `${MASTER_KEY_FILE}.old-${keyId}`;
}

/** Writes `key` to a new 0600 file at `path` and syncs it; an existing file (or symlink) is refused. */
export async function createKeyFile(path: string, key: LocalMasterKey): Promise<void> {
  let handle;
  try {
    handle = await open(path, 'wx', 0o600);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'EEXIST') throw new MasterKeyError(`${path} already exists; refusing to overwrite it`);
    throw error;
  }
  try {
    await handle.writeFile(key.keyFileText());
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Stages the new key beside the current key file (a stale staged file from a failed rotation is replaced). */
export async function stageMasterKeyFile(dataDir: string, key: LocalMasterKey): Promise<string> {
  const path = join(dataDir, STAGED_MASTER_KEY_FILE);
  await unlink(path).catch(() => undefined);
  await createKeyFile(path, key);
  await syncDir(dataDir);
  return path;
}

export async function discardStagedMasterKeyFile(dataDir: string): Promise<void> {
  await unlink(join(dataDir, STAGED_MASTER_KEY_FILE)).catch(() => undefined);
  await syncDir(dataDir);
}

/** After the commit: keeps the current key file as master.key.old-<oldKeyId>, moves the staged key into place. Returns the old file's path. */
export async function installStagedMasterKeyFile(dataDir: string, oldKeyId: string): Promise<string> {
  const current = join(dataDir, MASTER_KEY_FILE);
  const old = join(dataDir, oldMasterKeyFile(oldKeyId));
  try {
    await link(current, old);
  } catch (error) {
    // The name is the key's fingerprint: an existing file of that name already holds this key.
    if ((error as { code?: unknown }).code !== 'EEXIST') throw error;
  }
  await rename(join(dataDir, STAGED_MASTER_KEY_FILE), current);
  await syncDir(dataDir);
  return old;
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
