/**
 * Master-key rotation for a server's vault (`smartalex keys rotate-master`):
 * every tenant key version re-wrapped under the new master in one database
 * transaction (KeyRing.rotateMasterKey; audited), recordings and sealed
 * secrets untouched (they hang from the tenant keys, which do not change).
 *
 * Where the key lives decides the rest:
 *  - the key file in the data directory (SMARTALEX_MASTER_KEY unset): the new
 *    key is staged beside it before the commit and moved into place after it,
 *    the old one kept as master.key.old-<id> (storage/vault/master-key-file.ts);
 *  - SMARTALEX_MASTER_KEY: no file changes; the operator sets the variable to
 *    the new key before the next start.
 * Run inside a live server (the admin socket), the server's own key ring
 * switches when the transaction commits and keeps the old key for unwrapping,
 * so calls and reads carry on. What the master key derives (link, session,
 * call-token and stream-token secrets) is derived once at start: it changes
 * at the next start with the new key.
 */
import {
  discardStagedMasterKeyFile, installStagedMasterKeyFile, stageMasterKeyFile,
} from '../../storage/vault/master-key-file.ts';
import { MasterKeyError, type KeyRing, type LocalMasterKey, type MasterKeyRotation } from '../../storage/vault/index.ts';

export interface MasterKeyRotationOutcome extends MasterKeyRotation {
  /** With the key file: where the old key was kept; null when the key comes from SMARTALEX_MASTER_KEY. */
  oldKeyFile: string | null;
}

export interface MasterKeyRotationOptions {
  /** The data directory whose master.key is replaced, or null when the key comes from SMARTALEX_MASTER_KEY. */
  keyFileDir: string | null;
  actor: string;
}

export async function rotateVaultMasterKey(keys: KeyRing, newMaster: LocalMasterKey, opts: MasterKeyRotationOptions): Promise<MasterKeyRotationOutcome> {
  if (newMaster.keyId === keys.masterKeyId) throw new MasterKeyError(`the new master key is the current one (${keys.masterKeyId}); nothing changed`);
  const dir = opts.keyFileDir;
  if (dir) await stageMasterKeyFile(dir, newMaster);
  let rotation: MasterKeyRotation;
  try {
    rotation = await keys.rotateMasterKey(newMaster, { actor: opts.actor });
  } catch (error) {
    if (dir) await discardStagedMasterKeyFile(dir);
    throw error;
  }
  const oldKeyFile = dir ? await installStagedMasterKeyFile(dir, rotation.fromMasterKeyId) : null;
  return { ...rotation, oldKeyFile };
}
