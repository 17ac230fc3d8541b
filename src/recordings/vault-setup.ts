/**
 * Builds the server's recording vault from configuration: the master key
 * (SMARTALEX_MASTER_KEY, else the 0600 key file in the data directory),
 * tenant keys in Postgres, ciphertext under `<dataDir>/recordings` (or, with
 * SMARTALEX_RECORDINGS_S3_BUCKET, in S3-compatible storage shared by every
 * node of a cluster: storage/vault/s3-object-store.ts), and the
 * recording-link secret derived from the master key (HKDF), so links minted
 * before a restart still verify after it.
 */
import { join } from 'node:path';
import type { Database } from '../../storage/index.ts';
import { PostgresTenantKeyStore } from '../../storage/index.ts';
import { KeyRing, LocalObjectStore, RecordingVault, loadMasterKey, type ObjectStore } from '../../storage/vault/index.ts';
import type { Config } from '../config.ts';

export interface RecordingVaultSetup {
  vault: RecordingVault;
  store: ObjectStore;
  /** HMAC secret for recording links. */
  linkSecret: Buffer;
  /** Root secret of the control plane's session signing keys (src/api/auth/signing-keys.ts derives one per period). */
  sessionSecret: Buffer;
  /** HMAC secret for WebRTC call tokens (src/webrtc/call-token.ts). */
  callTokenSecret: Buffer;
  /** HMAC secret of carrier media-stream tokens (src/streams/stream-token.ts): the same on every node, so any node takes the stream. */
  streamSecret: Buffer;
}

export const LINK_SECRET_PURPOSE = 'recording-links/v1';
export const SESSION_SECRET_PURPOSE = 'api-sessions/v1';
export const CALL_TOKEN_SECRET_PURPOSE = 'webrtc-call-tokens/v1';
export const STREAM_SECRET_PURPOSE = 'media-stream-tokens/v1';

type StoreSettings = Pick<Config, 'SMARTALEX_DATA_DIR' | 'SMARTALEX_RECORDINGS_S3_BUCKET' | 'SMARTALEX_RECORDINGS_S3_PREFIX' | 'SMARTALEX_RECORDINGS_S3_ENDPOINT' | 'SMARTALEX_RECORDINGS_S3_REGION' | 'SMARTALEX_RECORDINGS_S3_PATH_STYLE'>;

/**
 * Where ciphertext lives: the S3 bucket when one is configured, else the data directory. Credentials: the AWS SDK's
 * chain (AWS_ACCESS_KEY_ID, ...). The SDK is loaded only then.
 */
export async function recordingStoreFrom(config: Partial<StoreSettings> & Pick<Config, 'SMARTALEX_DATA_DIR'>): Promise<ObjectStore> {
  if (!config.SMARTALEX_RECORDINGS_S3_BUCKET) return new LocalObjectStore(join(config.SMARTALEX_DATA_DIR, 'recordings'));
  const { S3ObjectStore } = await import('../../storage/vault/s3-object-store.ts');
  return new S3ObjectStore({
    bucket: config.SMARTALEX_RECORDINGS_S3_BUCKET,
    ...(config.SMARTALEX_RECORDINGS_S3_PREFIX ? { prefix: config.SMARTALEX_RECORDINGS_S3_PREFIX } : {}),
    client: {
      region: config.SMARTALEX_RECORDINGS_S3_REGION ?? 'us-east-1',
      ...(config.SMARTALEX_RECORDINGS_S3_ENDPOINT ? { endpoint: config.SMARTALEX_RECORDINGS_S3_ENDPOINT } : {}),
      forcePathStyle: config.SMARTALEX_RECORDINGS_S3_PATH_STYLE ?? false,
    },
  });
}

export async function openRecordingVault(config: Pick<Config, 'SMARTALEX_DATA_DIR' | 'SMARTALEX_MASTER_KEY'> & Partial<StoreSettings>, db: Database): Promise<RecordingVaultSetup> {
  const env: NodeJS.ProcessEnv = config.SMARTALEX_MASTER_KEY ? { SMARTALEX_MASTER_KEY: config.SMARTALEX_MASTER_KEY } : {};
  const master = await loadMasterKey({ dataDir: config.SMARTALEX_DATA_DIR, env });
  const store = await recordingStoreFrom(config);
  const keys = new KeyRing({ master, store: new PostgresTenantKeyStore(db) });
  return {
    vault: new RecordingVault({ store, keys }), store, linkSecret: master.deriveSecret(LINK_SECRET_PURPOSE), sessionSecret: master.deriveSecret(SESSION_SECRET_PURPOSE),
    streamSecret: master.deriveSecret(STREAM_SECRET_PURPOSE), callTokenSecret: master.deriveSecret(CALL_TOKEN_SECRET_PURPOSE),
  };
}
