/**
 * Builds the server's recording vault from configuration: the master key
 * (SMARTALEX_MASTER_KEY, else the 0600 key file in the data directory),
 * tenant keys in Postgres, ciphertext under `<dataDir>/recordings`, and the
 * recording-link secret derived from the master key (HKDF), so links minted
 * before a restart still verify after it.
 */
import { join } from 'node:path';
import type { Database } from '../../storage/index.ts';
import { PostgresTenantKeyStore } from '../../storage/index.ts';
import { KeyRing, LocalObjectStore, RecordingVault, loadMasterKey } from '../../storage/vault/index.ts';
import type { Config } from '../config.ts';

export interface RecordingVaultSetup {
  vault: RecordingVault;
  store: LocalObjectStore;
  /** HMAC secret for recording links. */
  linkSecret: Buffer;
  /** Root secret of the control plane's session signing keys (src/api/auth/signing-keys.ts derives one per period). */
  sessionSecret: Buffer;
}

export const LINK_SECRET_PURPOSE = 'recording-links/v1';
export const SESSION_SECRET_PURPOSE = 'api-sessions/v1';

export async function openRecordingVault(config: Pick<Config, 'SMARTALEX_DATA_DIR' | 'SMARTALEX_MASTER_KEY'>, db: Database): Promise<RecordingVaultSetup> {
  const env: NodeJS.ProcessEnv = config.SMARTALEX_MASTER_KEY ? { SMARTALEX_MASTER_KEY: config.SMARTALEX_MASTER_KEY } : {};
  const master = await loadMasterKey({ dataDir: config.SMARTALEX_DATA_DIR, env });
  const store = new LocalObjectStore(join(config.SMARTALEX_DATA_DIR, 'recordings'));
  const keys = new KeyRing({ master, store: new PostgresTenantKeyStore(db) });
  return { vault: new RecordingVault({ store, keys }), store, linkSecret: master.deriveSecret(LINK_SECRET_PURPOSE), sessionSecret: master.deriveSecret(SESSION_SECRET_PURPOSE) };
}
